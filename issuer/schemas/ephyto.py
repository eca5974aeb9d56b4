"""ePhyto: the IPPC phytosanitary certificate with the UN/CEFACT SPS e-Cert essentials.

Consignor and consignee, exporting and importing country, the declared means of conveyance and point
of entry, the consignment's goods lines (description, botanical/scientific name, common name, quantity,
packages, place of origin, optional HS code), disinfestation and/or disinfection treatments, additional
declarations, and the issuing National Plant Protection Organization (NPPO) with its authorised officer.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .common import (
    CertnetModel,
    CountryCode,
    Description,
    Envelope,
    HsCode,
    IsoDate,
    LongText,
    Measure,
    Name,
    Packages,
    Party,
    PositiveNumber,
    ReferenceNumber,
    SignedNumber,
    Text,
    error,
)

TREATMENT_TYPES = (
    "FUMIGATION",
    "HEAT",
    "VAPOUR_HEAT",
    "HOT_WATER",
    "COLD",
    "IRRADIATION",
    "CHEMICAL_DIP",
    "SPRAY",
    "CONTROLLED_ATMOSPHERE",
    "OTHER",
)


class Conveyance(CertnetModel):
    """Declared means of conveyance."""

    mode: Literal["SEA", "AIR", "ROAD", "RAIL", "INLAND_WATERWAY", "POST", "MULTIMODAL"]
    identifier: Name | None = Field(default=None, description="vessel name and voyage, flight number, vehicle")


class PlaceOfOrigin(CertnetModel):
    country: CountryCode
    region: Name | None = Field(default=None, description="province, state or production area")


class EphytoGoodsItem(CertnetModel):
    description: Description
    scientific_name: Text(200) = Field(description="botanical name, e.g. 'Mangifera indica'")  # type: ignore[valid-type]  # Text() builds an Annotated[str, ...] at run time
    common_name: Name
    quantity: Measure
    packages: Packages | None = None
    place_of_origin: PlaceOfOrigin
    hs_code: HsCode | None = None
    marks: Text(500, multiline=True) | None = Field(default=None, description="distinguishing marks")  # type: ignore[valid-type]  # Text() builds an Annotated[str, ...] at run time


class PhysicalQuantity(CertnetModel):
    """A measured value with a free unit as written on certificates ('g/m3', '%', 'Gy', 'h', 'CEL')."""

    value: PositiveNumber
    unit: Text(16)  # type: ignore[valid-type]  # Text() builds an Annotated[str, ...] at run time


class Temperature(CertnetModel):
    value: SignedNumber
    unit: Literal["CEL", "FAH"] = Field(description="UN/ECE Rec. 20: CEL degrees Celsius, FAH Fahrenheit")


class Duration(CertnetModel):
    value: PositiveNumber
    unit: Literal["SEC", "MIN", "HUR", "DAY"] = Field(description="UN/ECE Rec. 20 time unit")


class Treatment(CertnetModel):
    type: Literal[TREATMENT_TYPES]  # type: ignore[valid-type]
    chemical: Name | None = Field(default=None, description="active ingredient, e.g. 'Methyl bromide'")
    concentration: PhysicalQuantity | None = Field(default=None, description="concentration or dosage")
    duration: Duration | None = None
    temperature: Temperature | None = None
    date: IsoDate
    additional_information: Description | None = None

    @model_validator(mode="after")
    def _chemical_for_fumigation(self) -> Treatment:
        if self.type in ("FUMIGATION", "CHEMICAL_DIP", "SPRAY") and self.chemical is None:
            raise error(
                "chemical_required",
                f"is required for a {self.type.lower().replace('_', ' ')} treatment",
                field="chemical",
            )
        return self


class Nppo(CertnetModel):
    """The issuing National Plant Protection Organization and its authorised officer."""

    name: Name
    officer: Name
    officer_title: Name | None = None
    place: Name
    date: IsoDate


class Ephyto(Envelope):
    """Phytosanitary certificate for export (or re-export)."""

    model_config = {"title": "certnet ePhyto phytosanitary certificate"}

    document_type: Literal["EPHYTO"]
    certificate_type: Literal["EXPORT", "REEXPORT"] = "EXPORT"
    consignor: Party
    consignee: Party
    exporting_country: CountryCode
    means_of_conveyance: Conveyance
    point_of_entry: Name = Field(description="declared point of entry in the importing country")
    goods: Annotated[list[EphytoGoodsItem], Field(min_length=1, max_length=200)]
    treatments: Annotated[list[Treatment], Field(max_length=20)] | None = None
    additional_declarations: Annotated[list[LongText], Field(max_length=20)] | None = None
    nppo: Nppo
    original_certificate: ReferenceNumber | None = Field(
        default=None, description="re-export: number of the original phytosanitary certificate"
    )
    remarks: Description | None = None

    @model_validator(mode="after")
    def _consistency(self) -> Ephyto:
        if self.exporting_country != self.issuing_country:
            raise error("exporting_country", "must be the issuing country (the NPPO's own)", field="exportingCountry")
        if self.importing_country == self.issuing_country:
            raise error("same_country", "must differ from issuingCountry", field="importingCountry")
        if self.certificate_type == "REEXPORT" and self.original_certificate is None:
            raise error("original_required", "is required for a re-export certificate", field="originalCertificate")
        return self
