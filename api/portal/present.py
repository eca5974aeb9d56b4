"""What the portal shows: a verdict in plain language, and a certificate box by box (the Form D as on
paper; ePhyto and e-certificates as a table), built from the raw data recovered by unsalting."""

from __future__ import annotations

import re
from typing import Any, cast

from certnet.issuer.samples import COUNTRY_NAMES
from certnet.issuer.schemas.formd import AGREEMENTS
from certnet.verifier.salting import unsalt_data
from certnet.verifier.verdict import (
    DOCUMENT_INTEGRITY,
    DOCUMENT_STATUS,
    ERROR,
    INVALID,
    ISSUER_IDENTITY,
    ISSUER_SIGNATURE,
    REASON_SENTENCES,
    SKIPPED,
    VALID,
    Verdict,
    utc,
)

# ------------------------------------------------------------------ verdicts

#: overall status -> (tone, what to do)
STATUS_ADVICE: dict[str, tuple[str, str]] = {
    "VALID": ("ok", "You can rely on this document."),
    "TAMPERED": ("bad", "Do not accept this document: its content was changed after it was issued."),
    "NOT_ISSUED": ("bad", "Do not accept this document: no issuing authority anchored it on this network."),
    "REVOKED": ("bad", "Do not accept this document: the issuing authority withdrew it."),
    "SUPERSEDED": ("warn", "This certificate was replaced. Ask the exporter for the replacement certificate."),
    "UNAUTHORIZED_ISSUER": ("bad", "Do not accept this document: whoever issued it was not authorised to."),
    "WRONG_NETWORK": ("warn", "This document belongs to another network; verify it where it was issued."),
    "MALFORMED": (
        "bad",
        "Check that you chose the right file: a certificate in certnet / OpenAttestation JSON format.",
    ),
    "ERROR": (
        "warn",
        "The network could not be read. Try again later; do not accept the document until it can be checked.",
    ),
    "INTEGRITY_ONLY": ("warn", "Only the content was checked, not the status."),
}

CHECK_QUESTIONS: dict[str, str] = {
    DOCUMENT_INTEGRITY: "Has the document been altered?",
    DOCUMENT_STATUS: "Was it issued, and is it still in force?",
    ISSUER_IDENTITY: "Who issued it, and were they authorised then?",
    ISSUER_SIGNATURE: "Is it signed by the issuer?",
}
CHECK_OUTCOMES: dict[str, tuple[str, str]] = {
    VALID: ("ok", "Passed"),
    INVALID: ("bad", "Failed"),
    SKIPPED: ("skip", "Not checked"),
    ERROR: ("warn", "Could not check"),
}

DOCUMENT_TYPE_TITLES = {
    "FORM_D": "Certificate of origin",
    "EPHYTO": "Phytosanitary certificate (ePhyto)",
    "ECERT": "e-Certificate",
}


def status_label(status: str) -> str:
    return status.replace("_", " ")


def short(h: str | None, n: int = 10) -> str:
    if not h:
        return ""
    return h if len(h) <= 2 * n + 1 else f"{h[:n]}…{h[-6:]}"


def raw_data(wrapped: Any) -> dict[str, Any] | None:
    """The raw document inside a wrapped one, or None when it cannot be read."""
    try:
        data = unsalt_data(wrapped["data"])
    except Exception:
        return None
    return data if isinstance(data, dict) else None


def verdict_view(
    v: Verdict,
    *,
    network_name: str,
    events: list[dict[str, Any]] | None = None,
    history_error: str | None = None,
    data: dict[str, Any] | None = None,
    known: bool = False,
    successor_known: bool = False,
) -> dict[str, Any]:
    """Everything the verdict template needs, in plain words."""
    tone, advice = STATUS_ADVICE.get(v.status, ("warn", ""))
    checks = []
    for c in v.checks:
        ctone, outcome = CHECK_OUTCOMES.get(c.status, ("warn", c.status))
        checks.append(
            {
                "type": c.type,
                "question": CHECK_QUESTIONS.get(c.type, c.type),
                "tone": ctone,
                "outcome": outcome,
                "code": c.code,
                "message": c.message,
                "status": c.status,
            }
        )
    doc = v.document or {}
    events = events or []
    anchor = next((e for e in events if e["kind"] == "ANCHORED"), None)
    revoked_ev = next((e for e in events if e["kind"] == "REVOKED"), None)
    superseded_ev = next((e for e in events if e["kind"] == "SUPERSEDED"), None)
    status_check = v.check(DOCUMENT_STATUS)
    sd = status_check.details if status_check else {}
    technical: list[tuple[str, str, bool]] = []  # (label, value, monospace)

    def add(label: str, value: Any, mono: bool = False) -> None:
        if value not in (None, ""):
            technical.append((label, str(value), mono))

    if anchor:
        add("Anchoring transaction", anchor["transactionHash"], True)
    add("Anchored in block", sd.get("anchoredBlock") or (anchor or {}).get("blockNumber"))
    add("Anchored at", sd.get("anchoredAtUtc") or utc((anchor or {}).get("time")))
    if v.issuer:
        add("Issuer account (signing key)", v.issuer.get("address"), True)
        name = v.issuer.get("name")
        add("Issuer", f"{name} ({v.issuer.get('country')})" if name else v.issuer.get("country"))
    add("Network", f"{network_name} (chain id {v.chain_id})" if v.chain_id is not None else None)
    add("Issuing authority's document store", sd.get("documentStore") or doc.get("documentStore"), True)
    add("Documents in the batch", sd.get("batchSize"))
    if revoked_ev:
        add("Revocation transaction", revoked_ev["transactionHash"], True)
        add("Revoked in block", revoked_ev["blockNumber"])
        add("Revoked by account", revoked_ev.get("actor"), True)
    if superseded_ev:
        add("Replacement transaction", superseded_ev["transactionHash"], True)
    add("Checked at block", f"{v.block_number} ({v.block_hash})" if v.block_number is not None else None, True)
    add("Read from", {"chain": "the chain (directly)", "index": "this service's index"}.get(v.source, v.source))
    add("Document fingerprint (targetHash)", doc.get("targetHash"), True)
    add("Batch root (merkleRoot)", doc.get("merkleRoot"), True)

    revocation = None
    if v.revocation:
        r = v.revocation
        revocation = {
            "reason": r.get("reasonText") or REASON_SENTENCES.get(r.get("reason", ""), r.get("reason")),
            "code": r.get("reason"),
            "when": r.get("revokedAtUtc"),
            "block": r.get("block"),
            "scope": "the whole batch it was issued in" if r.get("wholeBatch") else "this document only",
            "transaction": (revoked_ev or {}).get("transactionHash"),
        }
    successor = None
    if v.successor:
        s = v.successor
        successor = {
            "document": s.get("document"),
            "root": s.get("root"),
            "when": s.get("supersededAtUtc"),
            "known": successor_known,
        }
    ic = v.check(DOCUMENT_INTEGRITY)
    integrity_ok = ic is not None and ic.status == VALID
    return {
        "status": v.status,
        "label": status_label(v.status),
        "tone": tone,
        "message": v.message,
        "advice": advice,
        "checks": checks,
        "technical": technical,
        "revocation": revocation,
        "successor": successor,
        "document": doc,
        "summary": summary(data) if (data and integrity_ok) else None,
        "target_hash": doc.get("targetHash"),
        "known": known and integrity_ok,
        "history_error": history_error,
        "checked_at": v.block_number,
    }


#: what a status-only page says (no reference number, no names from the document: those are content)
STATUS_SENTENCES = {
    "VALID": "This certificate was issued and is in force: not revoked, not replaced.",
    "REVOKED": "This certificate was revoked by its issuing authority.",
    "SUPERSEDED": "This certificate was replaced by another one.",
    "NOT_ISSUED": "No issuing authority anchored this certificate on this network.",
    "UNAUTHORIZED_ISSUER": "Whoever anchored this certificate was not authorised to issue it.",
    "ERROR": "The network could not be read: the status is unknown for now.",
}


def status_view(v: Verdict, *, successor_known: bool = False) -> dict[str, Any]:
    """A verdict reduced to the status of a hash, for those not entitled to the document's content: the
    outcome, the revocation's reason and time, the successor, the issuing authority as the registry names it
    — nothing read from the document's data."""
    tone, advice = STATUS_ADVICE.get(v.status, ("warn", ""))
    revocation = None
    if v.revocation:
        r = v.revocation
        revocation = {
            "reason": r.get("reasonText") or REASON_SENTENCES.get(r.get("reason", ""), r.get("reason")),
            "code": r.get("reason"),
            "when": r.get("revokedAtUtc"),
            "block": r.get("block"),
            "scope": "the whole batch it was issued in" if r.get("wholeBatch") else "this document only",
        }
    successor = None
    if v.successor:
        successor = {
            "document": v.successor.get("document"),
            "when": v.successor.get("supersededAtUtc"),
            "known": successor_known,
        }
    issuer = None
    if v.issuer and v.issuer.get("country"):
        name = v.issuer.get("name")
        issuer = f"{name} ({v.issuer.get('country')})" if name else v.issuer.get("country")
    return {
        "status": v.status,
        "label": status_label(v.status),
        "tone": tone,
        "message": STATUS_SENTENCES.get(v.status, "The status of this certificate could not be established."),
        "advice": advice,
        "revocation": revocation,
        "successor": successor,
        "issuer": issuer,
        "checked_at": v.block_number,
    }


def country_name(code: Any) -> str:
    if not isinstance(code, str) or not code:
        return ""
    name = COUNTRY_NAMES.get(code)
    return f"{name.title() if name.isupper() else name} ({code})" if name else code


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """The few facts a customs officer checks first."""
    dtype = txt(data.get("documentType"))
    party_from = data.get("exporter") or data.get("consignor") or data.get("subject")
    return {
        "reference": txt(data.get("referenceNumber")),
        "type": title_of(data),
        "issued_in": country_name(data.get("issuingCountry")),
        "importing": country_name(data.get("importingCountry")),
        "issue_date": txt(data.get("issueDate")),
        "from_label": "Exporter" if dtype == "FORM_D" else "Consignor" if dtype == "EPHYTO" else "Holder",
        "from": txt(get(party_from, "name")),
        "to": txt(get(data.get("consignee"), "name")),
        "issuer": txt(get(first(data.get("issuers")), "name")),
    }


# ------------------------------------------------------------------ certificates


def first(v: Any) -> Any:
    return v[0] if isinstance(v, list) and v else None


def get(obj: Any, *path: Any) -> Any:
    for p in path:
        if isinstance(obj, dict):
            obj = obj.get(p)
        elif isinstance(obj, list) and isinstance(p, int) and -len(obj) <= p < len(obj):
            obj = obj[p]
        else:
            return None
    return obj


def txt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dict, list)):
        return ""
    return str(v)


def measure(v: Any) -> str:
    if isinstance(v, dict):
        value, unit = txt(v.get("value")), txt(v.get("unit"))
        return f"{value} {unit}".strip()
    return txt(v)


def money(v: Any) -> str:
    if isinstance(v, dict):
        return f"{txt(v.get('currency'))} {txt(v.get('amount'))}".strip()
    return txt(v)


def title_of(data: dict[str, Any]) -> str:
    dtype = txt(data.get("documentType"))
    if dtype == "FORM_D":
        form = AGREEMENTS.get(txt(data.get("agreement")), ("Form D", None))[0]
        return f"Certificate of origin, {form}"
    if dtype == "ECERT":
        return txt(data.get("title")) or "e-Certificate"
    return DOCUMENT_TYPE_TITLES.get(dtype, "Document")


def party(v: Any) -> dict[str, str]:
    return {
        "name": txt(get(v, "name")),
        "address": txt(get(v, "address")),
        "country": country_name(get(v, "country")),
        "identifier": txt(get(v, "identifier")),
    }


def port(v: Any) -> str:
    name, code = txt(get(v, "name")), txt(get(v, "unlocode"))
    return f"{name} ({code})" if name and code else name or code


FORM_D_FLAGS = (  # box 13, in the order of the paper form
    ("thirdCountryInvoicing", "Third Country Invoicing"),
    ("exhibition", "Exhibition"),
    ("backToBack", "Back-to-Back CO"),
    ("issuedRetroactively", "Issued Retroactively"),
    ("deMinimis", "De Minimis"),
    ("accumulation", "Accumulation"),
    ("partialCumulation", "Partial Cumulation"),
)

TRANSPORT_MODES = {
    "SEA": "by sea",
    "AIR": "by air",
    "ROAD": "by road",
    "RAIL": "by rail",
    "INLAND_WATERWAY": "by inland waterway",
    "MULTIMODAL": "multimodal",
}


def formd_view(data: dict[str, Any]) -> dict[str, Any]:
    """The Form D (or Form E, AK, AJ, AANZ, AI, AHK, RCEP) box by box."""
    agreement = txt(data.get("agreement")) or "ATIGA"
    form = AGREEMENTS.get(agreement, ("Form D", None))[0]
    transport: Any = data.get("transport") if isinstance(data.get("transport"), dict) else {}
    official = data.get("officialUse") if isinstance(data.get("officialUse"), dict) else None
    goods = []
    for item in cast("list[Any]", data.get("goods") if isinstance(data.get("goods"), list) else []):
        if not isinstance(item, dict):
            continue
        pk = item.get("packages")
        packages = f"{txt(get(pk, 'count'))} {txt(get(pk, 'kind'))}".strip() if isinstance(pk, dict) else txt(pk)
        goods.append(
            {
                "item": txt(item.get("itemNumber")),
                "marks": txt(item.get("marksAndNumbers")),
                "packages": packages,
                "description": txt(item.get("description")),
                "hs": txt(item.get("hsCode")),
                "origin": txt(item.get("originCriterion")),
                "gross": measure(item.get("grossWeight")),
                "quantity": measure(item.get("quantity")),
                "fob": money(item.get("fobValue")),
                "invoice_number": txt(get(item, "invoice", "number")),
                "invoice_date": txt(get(item, "invoice", "date")),
            }
        )
    flags: Any = data.get("flags") if isinstance(data.get("flags"), dict) else {}
    flag_details = []
    tci = data.get("thirdCountryInvoice")
    if isinstance(tci, dict):
        flag_details.append(
            (
                "Third-country invoicing by",
                ", ".join(
                    x
                    for x in (txt(tci.get("operatorName")), txt(tci.get("address")), country_name(tci.get("country")))
                    if x
                ),
            )
        )
    btb = data.get("backToBack")
    if isinstance(btb, dict):
        flag_details.append(
            (
                "Original certificate",
                ", ".join(
                    x
                    for x in (
                        txt(btb.get("referenceNumber")),
                        country_name(btb.get("issuingCountry")),
                        txt(btb.get("issueDate")),
                    )
                    if x
                ),
            )
        )
    exh = data.get("exhibition")
    if isinstance(exh, dict):
        flag_details.append(("Exhibition", ", ".join(x for x in (txt(exh.get("name")), txt(exh.get("address"))) if x)))
    decl: Any = data.get("declaration") if isinstance(data.get("declaration"), dict) else {}
    cert: Any = data.get("certification") if isinstance(data.get("certification"), dict) else {}
    return {
        "agreement": agreement,
        "form": form,
        "is_atiga": agreement == "ATIGA",
        "reference": txt(data.get("referenceNumber")),
        "issue_date": txt(data.get("issueDate")),
        "issued_in": country_name(data.get("issuingCountry")),
        "importing": country_name(data.get("importingCountry")),
        "exporter": party(data.get("exporter")),
        "consignee": party(data.get("consignee")),
        "transport": {
            "departure_date": txt(transport.get("departureDate")),
            "mode": TRANSPORT_MODES.get(txt(transport.get("mode")), txt(transport.get("mode"))),
            "vessel": txt(transport.get("vesselOrFlight")),
            "loading": port(transport.get("portOfLoading")),
            "discharge": port(transport.get("portOfDischarge")),
            "transit": ", ".join(port(p) for p in transport.get("transitPorts") or [] if isinstance(p, dict)),
        },
        "official_use": None
        if official is None
        else {
            "given": official.get("preference") == "GIVEN",
            "not_given": official.get("preference") == "NOT_GIVEN",
            "reason": txt(official.get("reason")),
            "office": txt(official.get("customsOffice")),
            "officer": txt(official.get("officer")),
            "date": txt(official.get("date")),
        },
        "goods": goods,
        "declaration": {
            "origin": country_name(decl.get("countryOfOrigin")),
            "place": txt(decl.get("place")),
            "date": txt(decl.get("date")),
            "signatory": txt(decl.get("signatory")),
            "title": txt(decl.get("signatoryTitle")),
        },
        "certification": {
            "authority": txt(cert.get("authority")),
            "place": txt(cert.get("place")),
            "date": txt(cert.get("date")),
            "signatory": txt(cert.get("signatory")),
            "title": txt(cert.get("signatoryTitle")),
        },
        "flags": [(label, bool(flags.get(key))) for key, label in FORM_D_FLAGS],
        "flag_details": flag_details,
        "remarks": txt(data.get("remarks")),
    }


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ENVELOPE = ("documentType", "referenceNumber", "issuingCountry", "importingCountry", "issueDate")
_ACRONYMS = {"hs": "HS", "nppo": "NPPO", "id": "ID", "fob": "FOB", "unlocode": "UN/LOCODE"}


def humanise(key: str) -> str:
    words = _CAMEL.sub(" ", key).lower().split()
    words = [_ACRONYMS.get(w, w) for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def table_rows(data: Any, prefix: str = "", skip: tuple[str, ...] = ("issuers", "network")) -> list[tuple[str, str]]:
    """A document as (label, value) rows: nested keys joined with ›, list items numbered from 1."""
    rows: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if not prefix and k in skip:
                continue
            label = f"{prefix} › {humanise(str(k))}" if prefix else humanise(str(k))
            if isinstance(v, (dict, list)) and v:
                rows += table_rows(v, label, skip)
            else:
                rows.append((label, country_name(v) if str(k).endswith("ountry") else txt(v)))
    elif isinstance(data, list):
        for i, v in enumerate(data, 1):
            label = f"{prefix} {i}" if prefix else str(i)
            if isinstance(v, (dict, list)) and v:
                rows += table_rows(v, label, skip)
            else:
                rows.append((label, txt(v)))
    return rows


def certificate_view(data: dict[str, Any]) -> dict[str, Any]:
    dtype = txt(data.get("documentType"))
    issuer = first(data.get("issuers"))
    network = data.get("network") if isinstance(data.get("network"), dict) else {}
    view: dict[str, Any] = {
        "type": dtype,
        "title": title_of(data),
        "reference": txt(data.get("referenceNumber")),
        "issued_in": country_name(data.get("issuingCountry")),
        "importing": country_name(data.get("importingCountry")),
        "issue_date": txt(data.get("issueDate")),
        "issuer_name": txt(get(issuer, "name")),
        "document_store": txt(get(issuer, "documentStore")),
        "network": f"{txt(network.get('name'))} (chain id {txt(network.get('chainId'))})" if network else "",
    }
    if dtype == "FORM_D":
        view["formd"] = formd_view(data)
    else:
        view["rows"] = table_rows({k: v for k, v in data.items() if k not in _ENVELOPE})
    return view


EVENT_TITLES = {
    "ANCHORED": "Issued: anchored on the network",
    "REVOKED": "Revoked",
    "SUPERSEDED": "Replaced by another certificate",
    "SUPERSEDES": "Replaces an earlier certificate",
    "DECIDED": "Customs decision",
    "CHECK_OPENED": "Retroactive check requested",
    "CHECK_ANSWERED": "Retroactive check answered",
    "CHECK_CLOSED": "Retroactive check closed",
}


def _words(code: Any) -> str:
    return str(code or "").replace("_", " ").lower()


def customs_sentence(e: dict[str, Any]) -> str:
    """What a CustomsRecord event says, in a sentence (codes only: the texts stay with the two services)."""
    kind, importing = e["kind"], country_name(e.get("country"))
    if kind == "DECIDED":
        given = e.get("preference") == "GIVEN"
        reason = "" if given or not e.get("reason") or e.get("reason") == "NONE" else f": {_words(e['reason'])}"
        return (
            f"The customs of {importing} {'gave' if given else 'did not give'} preference{reason}"
            f"{' (amended, version ' + str(e['version']) + ')' if (e.get('version') or 1) > 1 else ''}."
        )
    if kind == "CHECK_OPENED":
        return (
            f"The customs of {importing} asked {country_name(e.get('issuingCountry'))} to verify this certificate "
            f"({_words(e.get('reason'))}), check {e.get('checkId')}; the answer is due by {utc(e.get('dueAt'))}."
        )
    if kind == "CHECK_ANSWERED":
        result = "confirmed" if e.get("result") == "CONFIRMED" else "not confirmed"
        return (
            f"Check {e.get('checkId')} answered: {result}"
            f"{', the certificate revoked or replaced first' if e.get('revoked') else ''}"
            f"{', after its deadline' if e.get('late') else ''}."
        )
    return f"Check {e.get('checkId')} closed by the customs of {importing}."


def timeline(events: list[dict[str, Any]], known: set[str] | None = None) -> list[dict[str, Any]]:
    """The history events, each with a title and a sentence."""
    known = known or set()
    out = []
    for e in events:
        kind = e["kind"]
        item = {
            "kind": kind,
            "title": EVENT_TITLES.get(kind, kind.title()),
            "when": utc(e.get("time")),
            "block": e.get("blockNumber"),
            "tx": e.get("transactionHash"),
            "by": e.get("actor"),
            "root": e.get("root"),
            "text": "",
            "link": None,
        }
        if kind == "ANCHORED":
            n = e.get("documentCount")
            item["text"] = (
                f"Anchored by account {e.get('actor')}"
                + (f" of {country_name(e.get('country'))}" if e.get("country") else "")
                + (f", in a batch of {n} document{'s' if n != 1 else ''}" if n else "")
                + "."
            )
        elif kind == "REVOKED":
            reason = e.get("reasonName") or ""
            scope = "with its whole batch" if e.get("scope") == "ROOT" else "this document only"
            item["text"] = f"Revoked ({scope}) because {REASON_SENTENCES.get(reason, reason or 'no reason was given')}."
            item["reason"] = reason
        elif kind == "SUPERSEDED":
            new = e.get("newDocument")
            item["text"] = f"Replaced by document {short(new)}."
            item["link"] = new if new in known else None
        elif kind == "SUPERSEDES":
            old = e.get("oldDocument")
            item["text"] = f"This certificate replaces document {short(old)}."
            item["link"] = old if old in known else None
        elif kind in ("DECIDED", "CHECK_OPENED", "CHECK_ANSWERED", "CHECK_CLOSED"):
            item["text"] = customs_sentence(e)
        out.append(item)
    return out
