"""Customs decisions and retroactive checks, above the CustomsRecord contract.

On chain: who decided or asked, when, what kind, and keccak256 hashes of the texts. Here, in each member's service
database: the texts (decision notes, check requests, answer findings) stored by that hash, and a mirror of the
contract's decisions and checks that the follower keeps from its events (every member's service mirrors every
check: the records are public, only the texts are not).

Texts. A text is a JSON object; its hash is keccak256 of its canonical form (UTF-8, keys sorted, no spaces), which is
what goes on chain. Each text names the certificate (store and targetHash) so that a hash recorded for one
certificate cannot be passed off for another.

How the texts reach the other side (the two services share nothing but the chain): the service that wrote a text
serves it at ``GET /v1/customs-texts/{hash}`` to a *chain key* entitled to it — a key of the certificate's issuing
authority or an admin of its country, or a customs key of the importing country — proven by an EIP-191 signature of
``certnet customs text <hash> <unix time>`` (fresh within five minutes). When the follower of the other service sees a
new check, answer or decision whose text it lacks, it fetches the text from the service of the country that wrote it
(the member directory ``peers``: country -> service URL, ``<data dir>/peers.json``), signing with a key of its own
that the contract entitles, and keeps it only if its hash is the one on chain. A peer that is down is asked again on
the next pass. No text is ever on chain or in a public place.

Notices: every step (decision recorded, check opened, answered, closed; deadlines: reminders before the due date,
overdue once it passed) is a notice to the two sides' subscribers of this service — the importing customs' webhooks
and the issuing side's (issuer and admin keys' webhooks) — through the notifier (webhook deliveries with retries,
server-sent events).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from web3 import Web3

from certnet.api.models import ApiBase, ApiKey, Delivery, ServiceState, Subscription
from certnet.issuer.outbox import utcnow
from certnet.node.contracts import CHECK_REASONS, DECISION_REASONS, CheckResult, Preference

if TYPE_CHECKING:
    from certnet.api.service import Service

log = logging.getLogger("certnet.customs")

CHECK_REASON_NAMES = {v: k for k, v in CHECK_REASONS.items()}
DECISION_REASON_NAMES = {v: k for k, v in DECISION_REASONS.items()}

#: limits on the texts (characters)
MAX_NOTE = 2000
MAX_QUESTION = 2000
MAX_QUESTIONS = 20
MAX_FINDINGS = 8000
MAX_ATTACHMENTS = 20

#: a signed text request is accepted this long around the server's clock (seconds)
SIGNATURE_WINDOW = 300
#: reminders to the issuing side, this long before a check's answer is due (seconds)
REMINDERS = (14 * 86400, 2 * 86400)
CURSOR_KEY = "customs.block"
ROLLBACK_KEY = "customs.rollback"  # the last index rollback the mirror has taken into account

DECISION_NOTE = "certnet.customs.decision-note/1"
CHECK_REQUEST = "certnet.customs.check-request/1"
CHECK_FINDINGS = "certnet.customs.check-findings/1"


# ------------------------------------------------------------------ texts


def canonical(text: dict[str, Any]) -> bytes:
    """The canonical form of a text: UTF-8 JSON, keys sorted, no spaces (what its on-chain hash is of)."""
    return json.dumps(text, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def text_hash(text: dict[str, Any]) -> str:
    """keccak256 of the canonical form, hex without 0x."""
    return Web3.keccak(canonical(text)).hex().removeprefix("0x")


def text_message(hash_: str, when: int) -> str:
    """What a key signs (EIP-191) to fetch a text from the service that holds it."""
    return f"certnet customs text {hash_} {when}"


def sign_text_request(account: Any, hash_: str, when: int | None = None) -> dict[str, str]:
    """Headers proving the holder of `account` (a LocalAccount) asks for text `hash_` now."""
    when = int(time.time()) if when is None else when
    sig = Account.sign_message(encode_defunct(text=text_message(hash_, when)), account.key).signature.hex()
    return {
        "x-certnet-account": account.address,
        "x-certnet-time": str(when),
        "x-certnet-signature": sig if sig.startswith("0x") else "0x" + sig,
    }


def signer_of(hash_: str, headers: dict[str, str], now: float | None = None) -> str:
    """The account that signed a text request (ValueError saying what is wrong)."""
    account, when, sig = (headers.get(h) for h in ("x-certnet-account", "x-certnet-time", "x-certnet-signature"))
    if not account or not when or not sig:
        raise ValueError("sign the request: X-Certnet-Account, X-Certnet-Time and X-Certnet-Signature")
    if not when.isdigit() or abs(int(when) - (time.time() if now is None else now)) > SIGNATURE_WINDOW:
        raise ValueError(f"X-Certnet-Time must be the current unix time (within {SIGNATURE_WINDOW} s)")
    try:
        recovered = Account.recover_message(encode_defunct(text=text_message(hash_, int(when))), signature=sig)
    except Exception:
        raise ValueError("X-Certnet-Signature is not a valid signature") from None
    if recovered.lower() != account.lower():
        raise ValueError("X-Certnet-Signature was not made by X-Certnet-Account")
    return recovered


def load_customs_keys(w3: Web3, keystores: Iterable[Path], secret: str) -> dict[str, Any]:
    """The customs keys this service signs with, by country (from keystore files named `<cc>-customs.json`)."""
    from certnet.node.keys import load_key
    from certnet.node.tx import Transactor

    out: dict[str, Any] = {}
    for ks in keystores:
        country = Path(ks).name.split("-", 1)[0].upper()
        if len(country) != 2 or not Path(ks).name.endswith("-customs.json"):
            log.warning("keystore %s is not named <country>-customs.json; ignored", ks)
            continue
        out[country] = Transactor(w3, load_key(Path(ks), secret))
    return out


# ------------------------------------------------------------------ tables


class CustomsText(ApiBase):
    """A text whose keccak256 hash is on chain: kept by the service that wrote it, fetched by the other side's."""

    __tablename__ = "customs_texts"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict] = mapped_column(JSON)
    store: Mapped[str] = mapped_column(String(42), index=True)
    target_hash: Mapped[str] = mapped_column(String(64), index=True)
    importing_country: Mapped[str] = mapped_column(String(2))
    written_here: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CustomsDecision(ApiBase):
    """A version of a customs decision, mirrored from DecisionRecorded."""

    __tablename__ = "customs_decisions"
    __table_args__ = (UniqueConstraint("store", "target_hash", "version", name="uq_customs_decision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(42))
    target_hash: Mapped[str] = mapped_column(String(64), index=True)
    country: Mapped[str] = mapped_column(String(2))
    issuing_country: Mapped[str] = mapped_column(String(2))
    version: Mapped[int] = mapped_column(Integer)
    preference: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(48))
    note_hash: Mapped[str | None] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(42))
    at: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(String(66))
    reference_number: Mapped[str | None] = mapped_column(String(128))


class CustomsCheck(ApiBase):
    """A retroactive check, mirrored from CheckOpened / CheckAnswered / CheckClosed."""

    __tablename__ = "customs_checks"
    __table_args__ = (Index("ix_customs_check_cert", "store", "target_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # the contract's check id
    store: Mapped[str] = mapped_column(String(42))
    target_hash: Mapped[str] = mapped_column(String(64))
    requesting_country: Mapped[str] = mapped_column(String(2), index=True)
    issuing_country: Mapped[str] = mapped_column(String(2), index=True)
    reason: Mapped[str] = mapped_column(String(48))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), index=True)  # OPEN, ANSWERED, CLOSED
    opened_at: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[int] = mapped_column(Integer)
    opened_by: Mapped[str] = mapped_column(String(42))
    opened_tx: Mapped[str] = mapped_column(String(66))
    opened_block: Mapped[int] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(String(16))
    findings_hash: Mapped[str | None] = mapped_column(String(64))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[int | None] = mapped_column(Integer)
    answered_by: Mapped[str | None] = mapped_column(String(42))
    answered_tx: Mapped[str | None] = mapped_column(String(66))
    answered_block: Mapped[int | None] = mapped_column(Integer)
    closed_by: Mapped[str | None] = mapped_column(String(42))
    closed_tx: Mapped[str | None] = mapped_column(String(66))
    closed_block: Mapped[int | None] = mapped_column(Integer)
    reference_number: Mapped[str | None] = mapped_column(String(128))
    revocation_action: Mapped[int | None] = mapped_column(Integer)  # the outbox action the answer followed


class CustomsNotice(ApiBase):
    """Every notice sent about decisions and checks (once per key: a repeated pass records nothing new)."""

    __tablename__ = "customs_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


def certificate_of(wrapped: dict[str, Any]) -> dict[str, Any]:
    """The identifying, non-confidential part of a wrapped document: store, targetHash, root, proof, countries and
    reference number (read from its salted data)."""
    from certnet.verifier.salting import unsalt_data

    data = unsalt_data(wrapped["data"])
    sig = wrapped["signature"]
    issuers = data.get("issuers") or [{}]
    return {
        "store": Web3.to_checksum_address(issuers[0].get("documentStore")),
        "targetHash": sig["targetHash"],
        "merkleRoot": sig["merkleRoot"],
        "proof": list(sig["proof"]),
        "issuingCountry": data.get("issuingCountry"),
        "importingCountry": data.get("importingCountry"),
        "referenceNumber": data.get("referenceNumber"),
    }


@dataclass
class Audience:
    """Who hears a notice on this service: customs keys of `customs`, issuer and admin keys of `issuing`."""

    customs: str
    issuing: str


# ------------------------------------------------------------------ the desk: following the chain, notices, texts


class CustomsDesk:
    """The service's part in customs decisions and checks: mirrors the CustomsRecord's events into its tables,
    fetches the texts it lacks from peers, sends notices, flags overdue checks and reminds before deadlines."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.sessions = service.sessions
        self.peers: dict[str, str] = dict(getattr(service.settings, "peers", None) or {})
        peers_file = Path(service.settings.data_dir) / "peers.json"
        if peers_file.is_file():
            self.peers.update({k.upper(): v.rstrip("/") for k, v in json.loads(peers_file.read_text()).items()})
        self.client = httpx.Client(timeout=10.0, follow_redirects=False)
        self._stores: dict[str, str | None] = {}
        self._lock = threading.Lock()

    # -- helpers
    def now(self) -> int:
        """The chain's time (its latest block's): deadlines are the contract's, measured on its clock. Read at
        most once a second."""
        cached = self.__dict__.get("_now")
        if cached is not None and time.monotonic() - cached[1] < 1.0:
            return cached[0]
        value = int(self.service.w3.eth.get_block("latest")["timestamp"])
        self._now = (value, time.monotonic())
        return value

    def record(self, signer: Any = None) -> Any:
        d = self.service.deployment
        return d.customs_record_client(self.service.w3, signer)

    def registry(self) -> Any:
        return self.service.deployment.issuer_registry_client(self.service.w3)

    def country_of_store(self, store: str) -> str | None:
        store = Web3.to_checksum_address(store)
        if store not in self._stores:
            self._stores[store] = self.registry().country_of_store(store)
        return self._stores[store]

    def can_act_for(self, account: str, store: str) -> bool:
        return bool(
            self.registry()._call("canActFor", Web3.to_checksum_address(account), Web3.to_checksum_address(store))
        )

    def keep_text(
        self, body: dict[str, Any], kind: str, store: str, target_hash: str, importing_country: str, written_here: bool
    ) -> str:
        h = text_hash(body)
        try:
            with self.sessions.begin() as s:
                if s.get(CustomsText, h) is None:
                    s.add(
                        CustomsText(
                            hash=h,
                            kind=kind,
                            body=body,
                            store=Web3.to_checksum_address(store),
                            target_hash=target_hash,
                            importing_country=importing_country,
                            written_here=written_here,
                        )
                    )
        except IntegrityError:
            pass  # kept meanwhile by another thread
        return h

    def text(self, h: str | None) -> dict[str, Any] | None:
        if not h:
            return None
        with self.sessions() as s:
            row = s.get(CustomsText, h)
            return row.body if row is not None else None

    def entitled_to_text(self, account: str, row: CustomsText) -> bool:
        """A key of the certificate's issuing authority or an admin of its country, or a customs key of the
        importing country the text belongs to."""
        reg = self.registry()
        return self.can_act_for(account, row.store) or reg.is_customs_key_of(account, row.importing_country)

    # -- following the chain (through the index: one reader of chain events, reorg-safe)
    def _state(self, key: str, default: int) -> int:
        with self.sessions() as s:
            row = s.get(ServiceState, key)
        return default if row is None else int(row.value)

    def _set_state(self, **values: int) -> None:
        with self.sessions.begin() as s:
            for key, value in values.items():
                row = s.get(ServiceState, key)
                if row is None:
                    s.add(ServiceState(key=key, value=str(value)))
                else:
                    row.value = str(value)

    def _index(self) -> Any:
        index = getattr(getattr(self.service, "index_source", None), "index", None)
        if index is None:
            raise RuntimeError(
                "customs decisions and checks are read from the chain-event index, and this service keeps none"
            )
        return index

    def poll_chain(self) -> int:
        """Mirror the CustomsRecord events the index follower wrote since the last pass (a reorg the follower
        rolled back first undoes what this mirror took from the orphaned blocks) and notify; returns how many."""
        index = self._index()
        with self._lock:
            indexed = index.indexed_block().number
            start = self._state(CURSOR_KEY, self.service.deployment.block - 1) + 1
            seen_rollback = self._state(ROLLBACK_KEY, 0)
            rollbacks = index.rollbacks_since(seen_rollback)
            if rollbacks:
                ancestor = min(a for _, a in rollbacks)
                self._forget_above(ancestor)
                start = min(start, ancestor + 1)
                seen_rollback = rollbacks[-1][0]
            events = index.customs_events(start, indexed) if start <= indexed else []
            for e in events:
                self.apply(event_of(e))
            self._set_state(**{CURSOR_KEY: max(indexed, start - 1), ROLLBACK_KEY: seen_rollback})
            return len(events)

    def _forget_above(self, block: int) -> None:
        """Undo what the mirror took from blocks above `block` (orphaned by a reorg)."""
        from sqlalchemy import delete

        with self.sessions.begin() as s:
            s.execute(delete(CustomsDecision).where(CustomsDecision.block_number > block))
            s.execute(delete(CustomsCheck).where(CustomsCheck.opened_block > block))
            for c in s.scalars(select(CustomsCheck).where(CustomsCheck.answered_block > block)):
                c.state, c.result, c.findings_hash, c.late, c.revoked = "OPEN", None, None, False, False
                c.answered_at = c.answered_by = c.answered_tx = c.answered_block = None
            for c in s.scalars(select(CustomsCheck).where(CustomsCheck.closed_block > block)):
                c.state = "ANSWERED"
                c.closed_by = c.closed_tx = c.closed_block = None

    def mirror_receipt(self, receipt: Any) -> None:
        """Mirror the CustomsRecord events of a transaction this service just sent (on a chain final at once), so
        that its callers read their own writes before the follower's next pass (applying is idempotent)."""
        from web3.logs import DISCARD

        rec = self.record()
        at = int(self.service.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
        for name in ("DecisionRecorded", "CheckOpened", "CheckAnswered", "CheckClosed"):
            for lg in getattr(rec.contract.events, name)().process_receipt(receipt, errors=DISCARD):
                self.apply(self._event_of_log(name, lg, at))

    def _event_of_log(self, name: str, lg: Any, at: int) -> dict[str, Any]:
        a = lg["args"]
        e: dict[str, Any] = {
            "block": lg["blockNumber"],
            "tx": lg["transactionHash"].to_0x_hex(),
            "time": at,
            "by": a["by"],
            "checkId": a.get("id"),
        }
        if name in ("DecisionRecorded", "CheckOpened"):
            e.update(
                store=a["store"],
                document=a["document"].hex(),
                country=a["country"].decode(),
                issuingCountry=self.country_of_store(a["store"]) or "",
            )
        if name == "DecisionRecorded":
            note = a["noteHash"].hex()
            e.update(
                kind="DECIDED",
                preference=Preference(a["preference"]).name,
                reason=DECISION_REASON_NAMES.get(a["reason"], str(a["reason"])),
                version=a["version"],
                textHash=None if int(note, 16) == 0 else note,
            )
        elif name == "CheckOpened":
            e.update(
                kind="CHECK_OPENED",
                reason=CHECK_REASON_NAMES.get(a["reason"], str(a["reason"])),
                dueAt=a["dueAt"],
                textHash=a["requestHash"].hex(),
            )
        elif name == "CheckAnswered":
            e.update(
                kind="CHECK_ANSWERED",
                result=CheckResult(a["result"]).name,
                late=a["late"],
                revoked=a["revoked"],
                textHash=a["findingsHash"].hex(),
            )
        else:
            e.update(kind="CHECK_CLOSED")
        return e

    def _reference(self, store: str, target_hash: str) -> str | None:
        """The certificate's reference number if this service knows it (its inbox, its outbox, a text)."""
        from certnet.api.models import ReceivedDocument
        from certnet.issuer.outbox import Document

        with self.sessions() as s:
            ref = s.scalar(
                select(ReceivedDocument.reference_number).where(ReceivedDocument.target_hash == target_hash).limit(1)
            )
            if ref is None:
                ref = s.scalar(select(Document.reference_number).where(Document.target_hash == target_hash).limit(1))
            if ref is None:
                body = s.scalar(
                    select(CustomsText.body)
                    .where(CustomsText.target_hash == target_hash, CustomsText.kind == CHECK_REQUEST)
                    .limit(1)
                )
                ref = ((body or {}).get("certificate") or {}).get("referenceNumber")
        return ref

    def apply(self, e: dict[str, Any]) -> None:
        """Take one CustomsRecord event (see `event_of`) into the mirror, and notify both sides the first time."""
        getattr(self, f"_on_{e['kind']}")(e)

    def _on_DECIDED(self, e: dict[str, Any]) -> None:
        where = {"block": e["block"], "tx": e["tx"]}
        row = dict(
            store=e["store"],
            target_hash=e["document"],
            country=e["country"],
            issuing_country=e["issuingCountry"],
            version=e["version"],
            preference=e["preference"],
            reason=e["reason"],
            note_hash=e["textHash"],
            by=e["by"],
            at=e["time"],
            block_number=e["block"],
            tx_hash=e["tx"],
            reference_number=self._reference(e["store"], e["document"]),
        )
        with self.sessions() as s:
            known = s.scalar(
                select(CustomsDecision.id).where(
                    CustomsDecision.store == row["store"],
                    CustomsDecision.target_hash == row["target_hash"],
                    CustomsDecision.version == row["version"],
                )
            )
        if known is None:
            try:
                with self.sessions.begin() as s:
                    s.add(CustomsDecision(**row))
            except IntegrityError:
                pass
        self.notify(
            "DECISION_RECORDED",
            Audience(e["country"], e["issuingCountry"]),
            {
                "store": e["store"],
                "targetHash": e["document"],
                "referenceNumber": row["reference_number"],
                "importingCountry": e["country"],
                "issuingCountry": e["issuingCountry"],
                "version": e["version"],
                "preference": e["preference"],
                "reason": e["reason"],
                "noteHash": e["textHash"],
                "by": e["by"],
                "at": e["time"],
                **where,
            },
            key=f"decision:{e['store']}:{e['document']}:{e['version']}",
        )

    def _on_CHECK_OPENED(self, e: dict[str, Any]) -> None:
        with self.sessions() as s:
            known = s.get(CustomsCheck, e["checkId"]) is not None
        if not known:
            try:
                with self.sessions.begin() as s:
                    s.add(
                        CustomsCheck(
                            id=e["checkId"],
                            store=e["store"],
                            target_hash=e["document"],
                            requesting_country=e["country"],
                            issuing_country=e["issuingCountry"],
                            reason=e["reason"],
                            request_hash=e["textHash"],
                            state="OPEN",
                            opened_at=e["time"],
                            due_at=e["dueAt"],
                            opened_by=e["by"],
                            opened_tx=e["tx"],
                            opened_block=e["block"],
                            reference_number=self._reference(e["store"], e["document"]),
                        )
                    )
            except IntegrityError:
                pass
        self._notify_check("CHECK_OPENED", e, "opened")

    def _on_CHECK_ANSWERED(self, e: dict[str, Any]) -> None:
        with self.sessions.begin() as s:
            row = s.get(CustomsCheck, e["checkId"])
            if row is None:
                return
            if row.answered_tx is None:
                row.state = "ANSWERED" if row.state == "OPEN" else row.state
                row.result, row.findings_hash = e["result"], e["textHash"]
                row.late, row.revoked = bool(e["late"]), bool(e["revoked"])
                row.answered_at, row.answered_by = e["time"], e["by"]
                row.answered_tx, row.answered_block = e["tx"], e["block"]
        self._notify_check("CHECK_ANSWERED", e, "answered")

    def _on_CHECK_CLOSED(self, e: dict[str, Any]) -> None:
        with self.sessions.begin() as s:
            row = s.get(CustomsCheck, e["checkId"])
            if row is None:
                return
            if row.closed_tx is None:
                row.state = "CLOSED"
                row.closed_by, row.closed_tx, row.closed_block = e["by"], e["tx"], e["block"]
        self._notify_check("CHECK_CLOSED", e, "closed")

    def _notify_check(self, event: str, e: dict[str, Any], step: str) -> None:
        with self.sessions() as s:
            row = s.get(CustomsCheck, e["checkId"])
        if row is None:
            return
        self.notify(
            event,
            Audience(row.requesting_country, row.issuing_country),
            self.check_notice(row.id, {"block": e["block"], "tx": e["tx"]}),
            key=f"check:{row.id}:{step}",
        )

    # -- texts from peers
    def own_signer(self, store: str, importing_country: str) -> Any:
        """A key this process holds (a keystore: keys in an external signer cannot sign the text requests here) that
        the contract entitles to the texts of (store, importing country): one of the store's authority keys, an
        admin of its country, or a customs key of the importing country. None when there is none."""
        candidates = [t for t in self.service.pipeline.signers.values() if self.can_act_for(t.address, store)]
        country = self.country_of_store(store)
        if country and country in self.service.admins:
            candidates.append(self.service.admins[country])
        if importing_country in getattr(self.service, "customs", {}):
            candidates.append(self.service.customs[importing_country])
        for t in candidates:
            try:
                return t.account
            except TypeError:  # its key is in an external signer
                continue
        return None

    #: seconds before a text a peer did not give is asked for again
    RETRY_FETCH = 15.0

    def fetch_missing_texts(self) -> int:
        """Fetch, from the peer that wrote it, every text this service's checks and decisions name but it lacks
        (a text that could not be had is asked for again after RETRY_FETCH seconds)."""
        from sqlalchemy.orm import aliased

        wanted: list[tuple[str, str, str, str]] = []  # (hash, writer country, store, importing country)
        t = aliased(CustomsText)
        with self.sessions() as s:
            for c in s.scalars(
                select(CustomsCheck).outerjoin(t, t.hash == CustomsCheck.request_hash).where(t.hash.is_(None))
            ):
                wanted.append((c.request_hash, c.requesting_country, c.store, c.requesting_country))
            for c in s.scalars(
                select(CustomsCheck)
                .outerjoin(t, t.hash == CustomsCheck.findings_hash)
                .where(CustomsCheck.findings_hash.is_not(None), t.hash.is_(None))
            ):
                wanted.append((c.findings_hash, c.issuing_country, c.store, c.requesting_country))  # type: ignore[arg-type]  # findings_hash: the query skips None
            for d in s.scalars(
                select(CustomsDecision)
                .outerjoin(t, t.hash == CustomsDecision.note_hash)
                .where(CustomsDecision.note_hash.is_not(None), t.hash.is_(None))
            ):
                wanted.append((d.note_hash, d.country, d.store, d.country))  # type: ignore[arg-type]  # note_hash: the query skips None
        tried: dict[str, float] = self.__dict__.setdefault("_tried", {})
        now = time.monotonic()
        wanted = [w for w in wanted if now - tried.get(w[0], -1e9) >= self.RETRY_FETCH]
        fetched = 0
        for h, writer, store, importing in {w[0]: w for w in wanted}.values():
            tried[h] = now
            peer = self.peers.get(writer)
            account = self.own_signer(store, importing)
            if peer is None or account is None:
                continue
            try:
                r = self.client.get(f"{peer}/v1/customs-texts/{h}", headers=sign_text_request(account, h))
            except httpx.HTTPError as exc:
                log.info("customs: text %s not fetched from %s (%s); retrying later", h, writer, exc)
                continue
            if r.status_code != 200:
                log.info("customs: %s answered %d for text %s", writer, r.status_code, h)
                continue
            body = r.json().get("text")
            if not isinstance(body, dict) or text_hash(body) != h:
                log.warning("customs: %s served a text that does not hash to %s; ignored", writer, h)
                continue
            cert = body.get("certificate") or {}
            kind = body.get("kind", "")
            self.keep_text(body, kind, store, cert.get("targetHash") or body.get("targetHash") or "", importing, False)
            fetched += 1
            if kind == CHECK_REQUEST and cert.get("referenceNumber"):
                with self.sessions.begin() as s:
                    for c in s.scalars(select(CustomsCheck).where(CustomsCheck.request_hash == h)):
                        c.reference_number = c.reference_number or cert["referenceNumber"]
        return fetched

    # -- deadlines
    def flag_deadlines(self, now: int | None = None) -> int:
        """Notices for open checks past their due time (overdue, once) and before it (reminders, once each)."""
        now = self.now() if now is None else now
        sent = 0
        with self.sessions() as s:
            open_checks = list(s.scalars(select(CustomsCheck).where(CustomsCheck.state == "OPEN")))
        for c in open_checks:
            audience = Audience(c.requesting_country, c.issuing_country)
            if now > c.due_at:
                sent += self.notify("CHECK_OVERDUE", audience, self.check_notice(c.id), key=f"check:{c.id}:overdue")
                continue
            for before in REMINDERS:
                if c.due_at - before <= now and c.due_at - c.opened_at > before:
                    sent += self.notify(
                        "CHECK_REMINDER",
                        Audience("", c.issuing_country),
                        dict(self.check_notice(c.id), dueInSeconds=c.due_at - now),
                        key=f"check:{c.id}:reminder:{before}",
                    )
        return sent

    # -- notices
    def check_notice(self, check_id: int, where: dict[str, Any] | None = None) -> dict[str, Any]:
        with self.sessions() as s:
            c = s.get(CustomsCheck, check_id)
        assert c is not None  # notices are made for checks this service recorded
        return {
            "checkId": c.id,
            "store": c.store,
            "targetHash": c.target_hash,
            "referenceNumber": c.reference_number,
            "importingCountry": c.requesting_country,
            "issuingCountry": c.issuing_country,
            "state": c.state,
            "reason": c.reason,
            "dueAt": c.due_at,
            "result": c.result,
            "late": c.late,
            "revoked": c.revoked,
            **(where or {}),
        }

    def notify(self, event: str, audience: Audience, payload: dict[str, Any], key: str) -> int:
        """A notice to the importing customs' and the issuing side's subscribers of this service (each once per
        `key`: a repeated pass records nothing new) and to their server-sent event listeners."""
        with self.sessions() as s:
            if s.scalar(select(CustomsNotice.id).where(CustomsNotice.key == key[:200])) is not None:
                return 0
        payload = {"event": event, **payload}
        notifier = self.service.notifier
        with self.sessions() as s:
            subs = list(
                s.execute(
                    select(Subscription, ApiKey.role)
                    .join(ApiKey, ApiKey.id == Subscription.key_id)
                    .where(Subscription.active.is_(True))
                )
            )
        new = 0
        for sub, role in subs:
            if not (
                (role == "customs" and sub.country == audience.customs)
                or (role in ("issuer", "admin") and sub.country == audience.issuing)
            ):
                continue
            try:
                with self.sessions.begin() as s:
                    s.add(
                        Delivery(
                            subscription_id=sub.id,
                            event_key=f"{key}:{sub.id}"[:200],
                            payload=payload,
                            state="PENDING",
                            next_attempt_at=utcnow(),
                        )
                    )
                new += 1
            except IntegrityError:
                pass
        try:  # the notice once (a repeated pass, or a restart, finds it recorded)
            with self.sessions.begin() as s:
                s.add(CustomsNotice(key=key[:200], event=event, payload=payload))
            first = True
        except IntegrityError:
            first = False
        if first:  # server-sent events: a notice per side (every process relays them to its own listeners)
            if audience.customs:
                notifier._record_notice(f"{key}:customs"[:200], audience.customs, {**payload, "audience": "customs"})
            if audience.issuing:
                notifier._record_notice(f"{key}:issuing"[:200], audience.issuing, {**payload, "audience": "issuing"})
        return 1 if first else 0

    # -- the worker
    #: seconds between passes over the open checks' deadlines
    DEADLINE_EVERY = 5.0

    def run_once(self) -> None:
        self.poll_chain()
        self.fetch_missing_texts()
        last = self.__dict__.get("_deadlines_at", -1e9)
        if time.monotonic() - last >= self.DEADLINE_EVERY:
            self.flag_deadlines()
            self._deadlines_at = time.monotonic()

    def run_forever(self, stop: threading.Event, interval: float = 0.5) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("customs pass failed; retrying")
                stop.wait(2.0)
            stop.wait(interval)


def event_of(e: Any) -> dict[str, Any]:
    """A CustomsRecord event as the desk applies it, from the index's ChainEvent."""
    d = e.details
    return {
        "kind": e.kind,
        "block": e.block_number,
        "tx": e.tx_hash,
        "time": e.time,
        "by": e.actor,
        "store": e.store,
        "document": e.document,
        "country": e.country,
        "issuingCountry": d.get("issuingCountry"),
        "checkId": d.get("checkId"),
        "textHash": d.get("textHash"),
        "preference": d.get("preference"),
        "reason": d.get("reason"),
        "version": d.get("version"),
        "dueAt": d.get("dueAt"),
        "result": d.get("result"),
        "late": d.get("late"),
        "revoked": d.get("revoked"),
    }
