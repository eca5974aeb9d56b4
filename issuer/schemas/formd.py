"""ATIGA Form D certificate of origin (and the ASEAN+1 / RCEP forms that share its layout).

Box by box, with the JSON names (camelCase):

==== ======================================================= =====================================
box  what                                                    JSON
==== ======================================================= =====================================
1    exporter's name, address, country                       ``exporter``
2    consignee's name, address, country                      ``consignee``
3    means of transport and route                            ``transport``
4    for official use of the importing customs               ``officialUse`` (optional)
5    item number                                             ``goods[].itemNumber``
6    marks and numbers on packages                           ``goods[].marksAndNumbers``
7    number and kind of packages, description, HS code       ``goods[].packages``, ``.description``,
                                                             ``.hsCode``
8    origin criterion                                        ``goods[].originCriterion``
9    gross weight or other quantity, FOB value               ``goods[].grossWeight``, ``.quantity``,
                                                             ``.fobValue``
10   invoice number and date                                 ``goods[].invoice``
11   exporter's declaration                                  ``declaration``
12   certification                                           ``certification``
13   flags                                                   ``flags`` (+ ``thirdCountryInvoice``,
                                                             ``backToBack``, ``exhibition`` details)
==== ======================================================= =====================================

``agreement`` names the trade agreement, hence the form: ATIGA -> Form D, ACFTA -> Form E,
AKFTA -> Form AK, AJCEP -> Form AJ, AANZFTA -> Form AANZ, AIFTA -> Form AI, AHKFTA -> Form AHK,
RCEP -> RCEP Form. All of them are ``documentType: "FORM_D"`` on certnet.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .common import (
    ASEAN,
    Address,
    CertnetModel,
    CountryCode,
    Description,
    Envelope,
    HsCode,
    IsoDate,
    Measure,
    Money,
    Name,
    Packages,
    Party,
    ReferenceNumber,
    Short,
    Text,
    UnLocode,
    error,
    schema_extra,
)

Agreement = Literal["ATIGA", "ACFTA", "AKFTA", "AJCEP", "AANZFTA", "AIFTA", "AHKFTA", "RCEP"]

#: agreement -> (form name, parties)
AGREEMENTS: dict[str, tuple[str, frozenset[str]]] = {
    "ATIGA": ("Form D", ASEAN),
    "ACFTA": ("Form E", ASEAN | {"CN"}),
    "AKFTA": ("Form AK", ASEAN | {"KR"}),
    "AJCEP": ("Form AJ", ASEAN | {"JP"}),
    "AANZFTA": ("Form AANZ", ASEAN | {"AU", "NZ"}),
    "AIFTA": ("Form AI", ASEAN | {"IN"}),
    "AHKFTA": ("Form AHK", ASEAN | {"HK"}),
    "RCEP": ("RCEP Form", ASEAN | {"AU", "CN", "JP", "KR", "NZ"}),
}

#: Single-word origin criteria. WO wholly obtained, PE produced exclusively from originating materials,
#: CC/CTH/CTSH change of chapter/heading/subheading, CTC change in tariff classification (RCEP),
#: PSR/SP product-specific rule / specific process, CR chemical reaction, DMI de minimis,
#: ACU accumulation (RCEP). With a percentage: RVC n% regional value content, PC n% partial cumulation.
ORIGIN_CRITERIA_WORDS = ("WO", "PE", "CC", "CTH", "CTSH", "CTC", "PSR", "SP", "CR", "DMI", "ACU")
_PCT = r"(?:100|[1-9][0-9]?)(?:\.[0-9])?%"
_TOKEN = rf"(?:{'|'.join(ORIGIN_CRITERIA_WORDS)}|RVC {_PCT}|PC {_PCT})"
ORIGIN_CRITERION_PATTERN = rf"^{_TOKEN}(?: \+ {_TOKEN}){{0,2}}$"
_ORIGIN = re.compile(ORIGIN_CRITERION_PATTERN)


def _origin_criterion(value: str) -> str:
    if not _ORIGIN.fullmatch(value):
        raise error(
            "origin_criterion",
            "must be an origin criterion: WO, PE, CC, CTH, CTSH, CTC, PSR, SP, CR, DMI, ACU, "
            "'RVC 40%' or 'PC 25%' (up to three joined by ' + ')",
        )
    return value


OriginCriterion = Annotated[
    str,
    Field(max_length=40),
    AfterValidator(_origin_criterion),
    schema_extra(pattern=ORIGIN_CRITERION_PATTERN),
]


class Port(CertnetModel):
    name: Name
    unlocode: UnLocode | None = None


class Transport(CertnetModel):
    """Box 3: means of transport and route (as far as known)."""

    departure_date: IsoDate
    mode: Literal["SEA", "AIR", "ROAD", "RAIL", "INLAND_WATERWAY", "MULTIMODAL"]
    vessel_or_flight: Name = Field(description="vessel name and voyage, flight number, or vehicle")
    port_of_loading: Port
    port_of_discharge: Port
    transit_ports: Annotated[list[Port], Field(max_length=5)] | None = None


class OfficialUse(CertnetModel):
    """Box 4: filled in by the customs of the importing country."""

    preference: Literal["GIVEN", "NOT_GIVEN"]
    reason: Description | None = Field(default=None, description="why preferential treatment is not given")
    customs_office: Name | None = None
    officer: Name | None = None
    date: IsoDate | None = None

    @model_validator(mode="after")
    def _reason_when_refused(self) -> OfficialUse:
        if self.preference == "NOT_GIVEN" and self.reason is None:
            raise error("reason_required", "is required when preference is not given", field="reason")
        return self


class Invoice(CertnetModel):
    """Box 10."""

    number: Short
    date: IsoDate


class FormDGoodsItem(CertnetModel):
    """One line of boxes 5 to 10."""

    item_number: Annotated[int, Field(ge=1, le=999)]
    marks_and_numbers: Text(500, multiline=True) = Field(description="box 6; 'N/M' when there are none")  # type: ignore[valid-type]  # Text() builds an Annotated[str, ...] at run time
    packages: Packages
    description: Description
    hs_code: HsCode
    origin_criterion: OriginCriterion
    gross_weight: Measure | None = None
    quantity: Measure | None = Field(default=None, description="box 9 'other quantity' (pieces, litres...)")
    fob_value: Money | None = Field(default=None, description="box 9 FOB value; required when RVC is applied")
    invoice: Invoice

    @model_validator(mode="after")
    def _box9(self) -> FormDGoodsItem:
        if self.gross_weight is None and self.quantity is None:
            raise error("quantity_required", "box 9 needs the gross weight or another quantity", field="grossWeight")
        if self.fob_value is None and "RVC" in self.origin_criterion:
            raise error("fob_required", "is required when the origin criterion is RVC", field="fobValue")
        return self


class Declaration(CertnetModel):
    """Box 11: the exporter's declaration."""

    country_of_origin: CountryCode = Field(description="the country in which the goods were produced")
    place: Name
    date: IsoDate
    signatory: Name
    signatory_title: Name | None = None


class Certification(CertnetModel):
    """Box 12: certification by the issuing authority."""

    authority: Name
    place: Name
    date: IsoDate
    signatory: Name
    signatory_title: Name | None = None


class Flags(CertnetModel):
    """Box 13. Absent flags are false."""

    third_country_invoicing: bool = False
    issued_retroactively: bool = False
    back_to_back: bool = False
    exhibition: bool = False
    accumulation: bool = False
    partial_cumulation: bool = False
    de_minimis: bool = False


class ThirdCountryInvoice(CertnetModel):
    """Who invoices when third-country invoicing is ticked."""

    operator_name: Name
    address: Address | None = None
    country: CountryCode


class OriginalCertificate(CertnetModel):
    """The first certificate a back-to-back certificate is based on."""

    reference_number: ReferenceNumber
    issuing_country: CountryCode
    issue_date: IsoDate


class Exhibition(CertnetModel):
    name: Name
    address: Address


class FormD(Envelope):
    """ATIGA Form D certificate of origin (or Form E / AK / AJ / AANZ / AI / AHK / RCEP)."""

    model_config = {"title": "certnet Form D certificate of origin"}

    document_type: Literal["FORM_D"]
    agreement: Agreement
    exporter: Party
    consignee: Party
    transport: Transport
    official_use: OfficialUse | None = None
    goods: Annotated[list[FormDGoodsItem], Field(min_length=1, max_length=999)]
    declaration: Declaration
    certification: Certification
    flags: Flags
    third_country_invoice: ThirdCountryInvoice | None = None
    back_to_back: OriginalCertificate | None = None
    exhibition: Exhibition | None = None
    remarks: Description | None = None

    @model_validator(mode="after")
    def _consistency(self) -> FormD:
        form, parties = AGREEMENTS[self.agreement]
        for field, country in (("issuingCountry", self.issuing_country), ("importingCountry", self.importing_country)):
            if country not in parties:
                raise error("not_party", f"{country} is not a party to {self.agreement} ({form})", field=field)
        if self.issuing_country == self.importing_country:
            raise error("same_country", "must differ from issuingCountry", field="importingCountry")
        if self.declaration.country_of_origin not in parties:
            raise error(
                "not_party",
                f"{self.declaration.country_of_origin} is not a party to {self.agreement}",
                field="declaration.countryOfOrigin",
            )
        if self.certification.date < self.declaration.date:
            raise error("date_order", "must not be before the exporter's declaration date", field="certification.date")
        seen: set[int] = set()
        for index, item in enumerate(self.goods):
            if item.item_number in seen:
                raise error("duplicate_item", "repeats an earlier item number", field=f"goods.{index}.itemNumber")
            seen.add(item.item_number)
        for flag, details, name in (
            (self.flags.third_country_invoicing, self.third_country_invoice, "thirdCountryInvoice"),
            (self.flags.back_to_back, self.back_to_back, "backToBack"),
            (self.flags.exhibition, self.exhibition, "exhibition"),
        ):
            if flag and details is None:
                raise error("details_required", f"is required when flags.{name} is set", field=name)
            if details is not None and not flag:
                raise error("flag_required", f"must be set when {name} details are given", field=f"flags.{name}")
        return self
