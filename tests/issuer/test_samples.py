"""The sample generator: valid, deterministic, streaming, realistic."""

from __future__ import annotations

import collections
import itertools
import random
import re
import types

import pytest

from certnet.issuer import samples
from certnet.issuer.schemas import AGREEMENTS, validate_document

DOC_TYPES = ("FORM_D", "EPHYTO", "ECERT")
BUILDERS = {"FORM_D": samples.form_d, "EPHYTO": samples.ephyto, "ECERT": samples.ecert}


@pytest.mark.parametrize("doc_type", DOC_TYPES)
def test_generated_streams_validate(doc_type):
    count = 0
    for doc in samples.generate(3000, doc_type, seed=42):
        assert doc["documentType"] == doc_type
        assert validate_document(doc) == doc
        count += 1
    assert count == 3000


@pytest.mark.parametrize("doc_type", DOC_TYPES)
def test_single_documents_validate_for_many_seeds(doc_type):
    for seed in range(1000):
        doc = BUILDERS[doc_type](random.Random(seed))
        assert validate_document(doc) == doc


@pytest.mark.parametrize("country", sorted(samples.EXPORTERS))
def test_every_exporting_country(country):
    for doc in samples.generate(150, "FORM_D", seed=3, issuing_country=country):
        assert validate_document(doc) == doc
        assert doc["issuingCountry"] == doc["exporter"]["country"] == country
    if country in samples.NPPOS:
        for doc in samples.generate(100, "EPHYTO", seed=3, issuing_country=country):
            assert validate_document(doc) == doc
    for doc in samples.generate(100, "ECERT", seed=3, issuing_country=country):
        assert validate_document(doc) == doc


@pytest.mark.parametrize("agreement", sorted(AGREEMENTS))
def test_every_agreement(agreement):
    for seed in range(100):
        doc = samples.form_d(random.Random(seed), agreement=agreement)
        assert doc["agreement"] == agreement
        assert validate_document(doc) == doc


@pytest.mark.parametrize("importing", ["TH", "SG", "LA", "CN", "KR", "JP", "AU", "NZ", "IN", "HK"])
def test_importing_country_picks_a_fitting_agreement(importing):
    for seed in range(30):
        doc = samples.form_d(random.Random(seed), issuingCountry="VN", importingCountry=importing)
        assert importing in AGREEMENTS[doc["agreement"]][1]
        assert validate_document(doc) == doc


def test_deterministic():
    for doc_type in DOC_TYPES:
        first = list(samples.generate(300, doc_type, seed=7))
        assert first == list(samples.generate(300, doc_type, seed=7))
        assert first != list(samples.generate(300, doc_type, seed=8))
    assert samples.form_d(random.Random(5)) == samples.form_d(random.Random(5)) == samples.form_d(5)
    assert samples.ephyto(9) == samples.ephyto(random.Random(9))
    assert samples.ecert(9) == samples.ecert(random.Random(9))
    assert samples.form_d(5) != samples.form_d(6)


def test_fixed_seed_gives_fixed_content():
    """Pins the stream: a change here changes every stored demo data set and benchmark."""
    doc = next(samples.generate(1, seed=0))
    assert re.fullmatch(r"VN-[A-Z]{2} 2[45]/[0-9]{2}/00001", doc["referenceNumber"])
    again = next(samples.generate(1, seed=0))
    assert doc == again


def test_generate_streams_lazily():
    stream = samples.generate(10**12, seed=1)  # far more than memory could hold
    assert isinstance(stream, types.GeneratorType)
    head = list(itertools.islice(stream, 5))
    assert len(head) == 5
    assert list(samples.generate(0)) == []
    with pytest.raises(ValueError):
        list(samples.generate(1, doc_type="FORM_E"))
    with pytest.raises(ValueError):
        list(samples.generate(-1))


def test_documents_share_no_objects():
    first, second = samples.generate(2, seed=1)
    first["issuers"][0]["name"] = "changed"
    first["issuers"][0]["identityProof"]["location"] = "changed"
    first["network"]["chainId"] = "1"
    assert second["issuers"][0]["name"] != "changed"
    assert second["issuers"][0]["identityProof"]["location"] != "changed"
    assert second["network"]["chainId"] != "1"


def test_issuer_block_and_network_parameters():
    block = {
        "name": "Phòng Quản lý Xuất nhập khẩu khu vực TP. Hồ Chí Minh",
        "documentStore": "0x52908400098527886E0F7030069857D2E4169EE7",
        "identityProof": {"type": "CERTNET-REGISTRY", "location": "0x8617E340B3D01FA5F11F306F4090FD50E238070D"},
    }
    network = {"chain": "ETH", "chainId": "1337", "name": "asean-consortium"}
    for doc_type in DOC_TYPES:
        for doc in samples.generate(50, doc_type, seed=2, issuer_block=block, network=network):
            assert doc["issuers"] == [block]
            assert doc["issuers"][0] is not block
            assert doc["network"] == network
            validate_document(doc)
    default = next(samples.generate(1))
    assert default["issuers"][0]["documentStore"] == samples.PLACEHOLDER_DOCUMENT_STORE
    assert default["issuers"][0]["identityProof"]["location"] == samples.PLACEHOLDER_ISSUER_REGISTRY
    assert default["network"] == samples.DEFAULT_NETWORK
    assert samples.default_issuer_block("TH")["name"].startswith("Department of Foreign Trade")


def test_reference_numbers_are_unique_and_vietnamese_style():
    seen = set()
    pattern = re.compile(r"VN-([A-Z]{2}) ([0-9]{2})/([0-9]{2})/([0-9]{5,})")
    for doc in samples.generate(20_000, seed=11):
        ref = doc["referenceNumber"]
        assert ref not in seen
        seen.add(ref)
        match = pattern.fullmatch(ref)
        assert match, ref
        assert match.group(1) == doc["importingCountry"]
        assert match.group(2) == doc["issueDate"][2:4]
    for doc_type in ("EPHYTO", "ECERT"):
        refs = [d["referenceNumber"] for d in samples.generate(5000, doc_type, seed=11)]
        assert len(set(refs)) == len(refs)


def test_overrides_steer_content():
    doc = samples.form_d(random.Random(1), issuingCountry="TH", importingCountry="VN", lines=3)
    assert doc["exporter"]["country"] == doc["issuingCountry"] == "TH"
    assert doc["consignee"]["country"] == doc["importingCountry"] == "VN"
    assert [g["itemNumber"] for g in doc["goods"]] == [1, 2, 3]
    assert doc["referenceNumber"].startswith("TH-VN ")
    form_e = samples.form_d(random.Random(1), issuingCountry="VN", agreement="ACFTA")
    assert form_e["importingCountry"] == "CN"
    fixed = samples.form_d(random.Random(1), referenceNumber="VN-TH 24/02/00006", remarks="CERTIFIED TRUE COPY")
    assert fixed["referenceNumber"] == "VN-TH 24/02/00006"
    assert fixed["remarks"] == "CERTIFIED TRUE COPY"
    for each in (doc, form_e, fixed):
        validate_document(each)
    phyto = samples.ephyto(3, issuingCountry="TH", importingCountry="JP")
    assert phyto["consignor"]["country"] == "TH" and phyto["consignee"]["country"] == "JP"
    validate_document(phyto)


def test_realistic_content():
    docs = list(samples.generate(5000, seed=5))
    # HS codes with their own descriptions
    described = {(hs, d) for hs, descs, *_ in samples.GOODS.values() for d in descs}
    for doc in docs:
        for line in doc["goods"]:
            assert (line["hsCode"], line["description"]) in described
    hs_codes = {line["hsCode"] for doc in docs for line in doc["goods"]}
    assert {"100630", "090111", "400122", "030617", "847130", "610910", "940360"} <= hs_codes
    # Vietnamese with diacritics, and the brief's example trader
    names = {doc["exporter"]["name"] for doc in docs}
    assert "Công ty TNHH Xuất Nhập Khẩu Thủy Sản Minh Phú" in names
    ports = {doc["transport"]["portOfLoading"]["name"] for doc in docs}
    assert "Cảng Cát Lái, TP. Hồ Chí Minh" in ports and "Cảng Hải Phòng" in ports
    discharge = {doc["transport"]["portOfDischarge"].get("unlocode") for doc in docs}
    assert {"THLCH", "MYPKG", "IDTPP", "PHMNL", "SGSIN"} <= discharge
    for doc in docs:
        for port in (doc["transport"]["portOfLoading"], doc["transport"]["portOfDischarge"]):
            if "unlocode" in port and doc["transport"]["mode"] == "SEA":
                assert port["unlocode"][:2] in (doc["issuingCountry"], doc["importingCountry"])
    criteria = collections.Counter(line["originCriterion"] for doc in docs for line in doc["goods"])
    assert {"WO", "RVC 40%", "CTH", "CTSH"} <= set(criteria)
    assert any(c.startswith("PC ") for c in criteria)
    modes = collections.Counter(doc["transport"]["mode"] for doc in docs)
    assert modes["SEA"] > modes["AIR"] > 0 and modes["ROAD"] > 0
    # every box 13 flag shows up, with its details
    for flag in (
        "thirdCountryInvoicing",
        "issuedRetroactively",
        "backToBack",
        "exhibition",
        "accumulation",
        "partialCumulation",
        "deMinimis",
    ):
        assert any(doc["flags"][flag] for doc in docs), flag
    assert sum(doc["flags"]["issuedRetroactively"] for doc in docs) < len(docs) * 0.1
    # other scripts
    thai = [d for d in samples.generate(300, seed=1, issuing_country="TH")]
    assert any(re.search("[\u0e00-\u0e7f]", d["exporter"]["name"]) for d in thai)
    phyto = samples.ephyto(4, issuingCountry="VN")
    assert phyto["goods"][0]["scientificName"][0].isupper()


def test_dates_are_coherent():
    for doc in samples.generate(5000, seed=9):
        issue = doc["issueDate"]
        assert doc["certification"]["date"] == issue
        assert doc["declaration"]["date"] <= issue
        for line in doc["goods"]:
            assert line["invoice"]["date"] <= doc["transport"]["departureDate"]
        if not doc["flags"]["issuedRetroactively"]:
            assert doc["transport"]["departureDate"] <= issue
        assert "2024-01-01" <= issue <= "2025-12-31"
