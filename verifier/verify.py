"""Verification: integrity, status, issuer identity and signature checks, giving one verdict per document.

Many documents are verified together: integrity is checked locally, then the status of every document
is read in one batched call from a `StatusSource` (the chain, or the index), pinned to one block.
Nothing unread is ever called VALID: a source that cannot be read gives ERROR with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from certnet.node.contract_types import (
    DOCUMENT_TYPES,
    REVOCATION_REASON_NAMES,
    DocumentStatus,
    RevokedLevel,
    StatusQuery,
)
from certnet.verifier.integrity import IntegrityResult, check_integrity
from certnet.verifier.jsjson import ProofFormatError
from certnet.verifier.salting import unsalt_data
from certnet.verifier.signature import recover_signers
from certnet.verifier.status import NetworkInfo, SourceError, StatusSource
from certnet.verifier.verdict import (
    DOCUMENT_INTEGRITY,
    DOCUMENT_STATUS,
    ERROR,
    INTEGRITY_ONLY,
    INVALID,
    ISSUER_IDENTITY,
    ISSUER_SIGNATURE,
    MALFORMED,
    NOT_ISSUED,
    REASON_SENTENCES,
    REVOKED,
    SKIPPED,
    SUPERSEDED,
    TAMPERED,
    UNAUTHORIZED_ISSUER,
    VALID,
    WRONG_NETWORK,
    Check,
    Status,
    Verdict,
    overall_message,
    utc,
)

CERTNET_IDENTITY = "CERTNET-REGISTRY"
MAX_DOCUMENTS = 10_000


@dataclass
class _Envelope:
    store: str | None
    identity_type: str | None
    identity_location: str | None
    chain_id: Any
    document_type: str | None
    issuing_country: str | None
    reference_number: str | None
    issuer_name: str | None


def _envelope(data: dict[str, Any]) -> _Envelope:
    issuers = data.get("issuers")
    first: dict[str, Any] = {}
    if isinstance(issuers, list):
        for i in issuers:
            if isinstance(i, dict) and (i.get("documentStore") or i.get("certificateStore")):
                first = i
                break
    given_ident, given_net = first.get("identityProof"), data.get("network")
    ident = given_ident if isinstance(given_ident, dict) else {}
    net = given_net if isinstance(given_net, dict) else {}

    def s(v: Any) -> str | None:
        return v if isinstance(v, str) else None

    return _Envelope(
        store=s(first.get("documentStore") or first.get("certificateStore")),
        identity_type=s(ident.get("type")),
        identity_location=s(ident.get("location")),
        chain_id=net.get("chainId"),
        document_type=s(data.get("documentType")),
        issuing_country=s(data.get("issuingCountry")),
        reference_number=s(data.get("referenceNumber")),
        issuer_name=s(first.get("name")),
    )


#: Document types whose schema has no object keyed like a list: such an object can only be a list that was
#: rewritten (OpenAttestation v2 flattens both to the same paths, so the proof alone cannot tell).
LIST_TYPED = {"FORM_D", "EPHYTO"}


def _list_as_object(node: Any, path: str = "") -> str | None:
    """The path of the first object whose keys are exactly "0", "1", ... (n >= 1), if any."""
    if isinstance(node, dict):
        if node and next(iter(node)) == "0" and all(k == str(i) for i, k in enumerate(node)):
            return path or "(top)"
        for k, v in node.items():
            if isinstance(v, (dict, list)):  # a leaf holds no object (and no path is built for it)
                found = _list_as_object(v, f"{path}.{k}" if path else k)
                if found:
                    return found
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)):
                found = _list_as_object(v, f"{path}.{i}" if path else str(i))
                if found:
                    return found
    return None


def _is_address(s: str) -> bool:
    return len(s) == 42 and s[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in s[2:])


class Verifier:
    """Verifies documents against a status source (None: offline, integrity and signature only)."""

    def __init__(self, source: StatusSource | None) -> None:
        self.source = source

    def verify(self, document: Any) -> Verdict:
        return self.verify_many([document])[0]

    def verify_many(self, documents: Sequence[Any]) -> list[Verdict]:
        if len(documents) > MAX_DOCUMENTS:
            raise ValueError(f"{len(documents)} documents; at most {MAX_DOCUMENTS} per verification")
        if self.source is None:
            return [self._offline(w, integ, env) for w, integ, env in map(self._prepare, documents)]
        try:
            net = self.source.network()
        except SourceError as exc:
            return [self._error(w, integ, env, str(exc)) for w, integ, env in map(self._prepare, documents)]
        prepared, ours, read = self._prepare_and_read(documents, net)
        if isinstance(read, SourceError):
            return [self._error(w, integ, env, str(read), net) for w, integ, env in prepared]
        block, block_hash, found = read
        statuses: dict[int, DocumentStatus] = dict(zip(ours, found, strict=True))
        out = []
        for i, (wrapped, integ, env) in enumerate(prepared):
            try:
                out.append(self._judge(wrapped, integ, env, net, block, block_hash, statuses.get(i)))
            except SourceError as exc:
                out.append(self._error(wrapped, integ, env, str(exc), net, block, block_hash))
        return out

    def _queries(
        self, prepared: Sequence[tuple[Any, IntegrityResult, _Envelope | None]], net: NetworkInfo, offset: int = 0
    ) -> tuple[list[int], list[StatusQuery]]:
        """The documents whose status is read (intact, about this network; their indexes plus `offset`) and their
        (store, root, targetHash, proof) queries."""
        ours: list[int] = []
        queries: list[StatusQuery] = []
        for i, (_, integ, env) in enumerate(prepared):
            if integ.ok and env is not None and self._network_problem(env, net) is None:
                assert env.store is not None and integ.merkle_root and integ.target_hash
                ours.append(offset + i)
                queries.append((env.store, integ.merkle_root, integ.target_hash, integ.proof))
        return ours, queries

    def _prepare_and_read(
        self, documents: Sequence[Any], net: NetworkInfo
    ) -> tuple[
        list[tuple[Any, IntegrityResult, _Envelope | None]],
        list[int],
        tuple[int, str | None, list[DocumentStatus]] | SourceError,
    ]:
        """Every document prepared (integrity, envelope), the indexes of those whose status was read, and the read:
        (block, block hash, their statuses), or the SourceError that stopped it.

        A source that reads in chunks at a pinned block (`read_chunk`, `snapshot`, `status_of`: the chain) reads
        each chunk of documents in a background thread while the next chunk's integrity is checked here, so that
        the node's execution of the batched view overlaps the hashing; every chunk is read at the same block, taken
        before the first, so the answer is what one `read` would give at that block."""
        assert self.source is not None
        chunk = int(getattr(self.source, "read_chunk", 0) or 0)
        if chunk <= 0 or len(documents) <= chunk:
            prepared = [self._prepare(d) for d in documents]
            ours, queries = self._queries(prepared, net)
            try:
                return prepared, ours, self.source.read(queries)
            except SourceError as exc:
                return prepared, ours, exc
        from concurrent.futures import Future, ThreadPoolExecutor

        source = cast(Any, self.source)
        prepared = []
        ours = []
        failed: SourceError | None = None
        try:
            block, block_hash = source.snapshot()
        except SourceError as exc:
            block, block_hash, failed = 0, None, exc
        futures: list[Future[list[DocumentStatus]]] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="certnet-status") as pool:
            for lo in range(0, len(documents), chunk):
                part = [self._prepare(d) for d in documents[lo : lo + chunk]]
                idx, queries = self._queries(part, net, lo)
                prepared += part
                ours += idx
                if queries and failed is None:
                    futures.append(pool.submit(source.status_of, queries, block))
            found: list[DocumentStatus] = []
            for f in futures:
                try:
                    found += f.result() if failed is None else []
                except SourceError as exc:
                    failed = exc
        if failed is not None:
            return prepared, ours, failed
        return prepared, ours, (block, block_hash, found)

    # ------------------------------------------------------------------ steps

    def _prepare(self, document: Any) -> tuple[Any, IntegrityResult, _Envelope | None]:
        integ = check_integrity(document)
        wrapped = document
        if isinstance(document, (str, bytes, bytearray)):
            from certnet.verifier.integrity import parse_document

            try:
                wrapped = parse_document(document)
            except Exception:
                return None, integ, None
        env = None
        if integ.code != "MALFORMED":
            # check_integrity unsalts every value of `data` (a bad salt anywhere makes it MALFORMED), so only
            # the envelope's fields need unsalting here, and unsalting changes no object or list: the
            # structure check reads the salted data as it is.
            try:
                data = wrapped["data"]
                env = _envelope(
                    unsalt_data(
                        {
                            k: data[k]
                            for k in ("issuers", "network", "documentType", "issuingCountry", "referenceNumber")
                            if k in data
                        }
                    )
                )
            except (ProofFormatError, KeyError, TypeError):
                return wrapped, integ, None
            where = _list_as_object(data) if env.document_type in LIST_TYPED else None
            if where is not None:
                integ = IntegrityResult(
                    False,
                    "MALFORMED",
                    f"The document is malformed: data.{where} is an object keyed 0, 1, ... where a "
                    f"{env.document_type} has a list; its structure was changed after issue.",
                    integ.target_hash,
                    integ.merkle_root,
                )
        return wrapped, integ, env

    @staticmethod
    def _network_problem(env: _Envelope, net: NetworkInfo) -> str | None:
        """Why the document cannot be about this network, read from its envelope alone (None: it can be)."""
        if not env.store:
            return "it names no document store (it is not anchored on a document store)"
        if not _is_address(env.store):
            return f"its document store {env.store!r} is not an address"
        if env.chain_id is not None and str(env.chain_id) != str(net.chain_id):
            return f"it names chain {env.chain_id}, the network configured here is chain {net.chain_id}"
        return None

    @staticmethod
    def _claims_this_network(env: _Envelope, net: NetworkInfo) -> bool:
        return (
            env.identity_type == CERTNET_IDENTITY
            and env.identity_location is not None
            and env.identity_location.lower() == net.issuer_registry.lower()
        )

    def _integrity_check(self, integ: IntegrityResult) -> Check:
        details = {"targetHash": integ.target_hash, "merkleRoot": integ.merkle_root}
        if integ.ok:
            return Check(
                DOCUMENT_INTEGRITY, VALID, "INTACT", "The document has not been altered since it was issued.", details
            )
        if integ.code == "MALFORMED":
            return Check(DOCUMENT_INTEGRITY, INVALID, "MALFORMED", integ.message, details)
        return Check(
            DOCUMENT_INTEGRITY,
            INVALID,
            integ.code,
            "The document was altered after it was issued: " + integ.message.split(": ", 1)[-1],
            details,
        )

    def _signature_check(self, wrapped: Any, st: DocumentStatus | None) -> Check | None:
        """The optional issuer signature: it must recover to a key of the anchoring authority that was valid at the
        anchoring time (`st` None: not compared, the status was not read)."""
        if not isinstance(wrapped, dict) or not wrapped.get("proof"):
            return None
        try:
            signers = recover_signers(wrapped)
        except ProofFormatError as exc:
            return Check(
                ISSUER_SIGNATURE, INVALID, "SIGNATURE_MALFORMED", f"The issuer's signature cannot be read: {exc}."
            )
        if st is None or st.issuer is None:
            return Check(
                ISSUER_SIGNATURE,
                SKIPPED,
                "NOT_COMPARED",
                f"Signed by {', '.join(signers)}; not compared with the issuing account (status not read).",
                {"signers": signers},
            )
        assert self.source is not None
        issuer = st.issuer
        for signer in signers:
            if signer.lower() == issuer.lower() or self.source.key_authorised(
                signer, st.store, st.document_type, st.anchored_at
            ):
                return Check(
                    ISSUER_SIGNATURE,
                    VALID,
                    "SIGNED_BY_ISSUER",
                    "The document is signed with a key of the issuing authority that was valid when it was issued.",
                    {"signers": signers},
                )
        return Check(
            ISSUER_SIGNATURE,
            INVALID,
            "SIGNER_MISMATCH",
            f"The document is signed by {', '.join(signers)}, not by a key of the issuing authority valid "
            f"when it was issued (it was anchored with {issuer}).",
            {"signers": signers, "issuer": issuer},
        )

    def _document_info(self, integ: IntegrityResult, env: _Envelope | None) -> dict[str, Any]:
        info: dict[str, Any] = {"targetHash": integ.target_hash, "merkleRoot": integ.merkle_root}
        if env is not None:
            info.update(
                referenceNumber=env.reference_number,
                documentType=env.document_type,
                issuingCountry=env.issuing_country,
                documentStore=env.store,
                chainId=env.chain_id,
            )
        return info

    def _offline(self, wrapped: Any, integ: IntegrityResult, env: _Envelope | None) -> Verdict:
        checks = [self._integrity_check(integ)]
        skipped = "Not checked: offline verification reads no network."
        checks += [
            Check(DOCUMENT_STATUS, SKIPPED, "OFFLINE", skipped),
            Check(ISSUER_IDENTITY, SKIPPED, "OFFLINE", skipped),
        ]
        sig = self._signature_check(wrapped, None) if integ.ok else None
        if sig:
            checks.append(sig)
        status = MALFORMED if integ.code == "MALFORMED" else TAMPERED if not integ.ok else INTEGRITY_ONLY
        if sig is not None and sig.status == INVALID:
            status = TAMPERED
        return self._finish(Verdict(status, checks, "", source="offline", document=self._document_info(integ, env)))

    def _error(
        self,
        wrapped: Any,
        integ: IntegrityResult,
        env: _Envelope | None,
        reason: str,
        net: NetworkInfo | None = None,
        block: int | None = None,
        block_hash: str | None = None,
    ) -> Verdict:
        checks = [self._integrity_check(integ)]
        if not integ.ok:
            status = MALFORMED if integ.code == "MALFORMED" else TAMPERED
        else:
            status = Status.ERROR
        msg = f"The status could not be read: {reason}. Do not accept the document until it can be checked."
        checks += [
            Check(DOCUMENT_STATUS, ERROR, "STATUS_UNREADABLE", msg),
            Check(ISSUER_IDENTITY, ERROR, "STATUS_UNREADABLE", msg),
        ]
        return self._finish(
            Verdict(
                status,
                checks,
                "",
                chain_id=net.chain_id if net else None,
                block_number=block,
                block_hash=block_hash,
                source=self.source.kind if self.source else "offline",
                document=self._document_info(integ, env),
            )
        )

    def _judge(
        self,
        wrapped: Any,
        integ: IntegrityResult,
        env: _Envelope | None,
        net: NetworkInfo,
        block: int,
        block_hash: str | None,
        st: DocumentStatus | None,
    ) -> Verdict:
        assert self.source is not None
        v = Verdict(
            VALID,
            [self._integrity_check(integ)],
            "",
            chain_id=net.chain_id,
            block_number=block,
            block_hash=block_hash,
            source=self.source.kind,
            document=self._document_info(integ, env),
        )
        if not integ.ok or env is None:
            if integ.ok:
                v.status, why = MALFORMED, "Not checked: the document's data could not be read."
            elif integ.code == "MALFORMED":
                v.status, why = MALFORMED, "Not checked: the document could not be read."
            else:
                v.status = TAMPERED
                why = "Not checked: the document was altered, so its status says nothing about this copy."
            v.checks += [
                Check(DOCUMENT_STATUS, SKIPPED, "NOT_CHECKED", why),
                Check(ISSUER_IDENTITY, SKIPPED, "NOT_CHECKED", why),
            ]
            return self._finish(v)
        problem = self._network_problem(env, net)
        if problem is not None:
            msg = f"Not checked here: {problem}."
            v.status = WRONG_NETWORK
            v.checks += [
                Check(
                    DOCUMENT_STATUS,
                    SKIPPED,
                    "NETWORK_NOT_CONFIGURED",
                    msg,
                    {"documentStore": env.store, "chainId": env.chain_id},
                ),
                Check(ISSUER_IDENTITY, SKIPPED, "NETWORK_NOT_CONFIGURED", msg),
            ]
            sig = self._signature_check(wrapped, None)
            if sig:
                v.checks.append(sig)
            return self._finish(v)
        assert st is not None
        if not st.store_registered:
            if self._claims_this_network(env, net):
                msg = (
                    f"The document names document store {env.store}, which is not the store of any issuing "
                    f"authority registered on {net.name}."
                )
                v.status = UNAUTHORIZED_ISSUER
                v.checks += [
                    Check(DOCUMENT_STATUS, INVALID, "UNKNOWN_STORE", msg, {"documentStore": env.store}),
                    Check(ISSUER_IDENTITY, INVALID, "UNKNOWN_STORE", msg, {"documentStore": env.store}),
                ]
            else:
                msg = (
                    f"Not checked here: its document store {env.store} is not a store of the network configured "
                    f"here ({net.name}, chain {net.chain_id})."
                )
                v.status = WRONG_NETWORK
                v.checks += [
                    Check(
                        DOCUMENT_STATUS,
                        SKIPPED,
                        "NETWORK_NOT_CONFIGURED",
                        msg,
                        {"documentStore": env.store, "chainId": env.chain_id},
                    ),
                    Check(ISSUER_IDENTITY, SKIPPED, "NETWORK_NOT_CONFIGURED", msg),
                ]
                sig = self._signature_check(wrapped, None)
                if sig:
                    v.checks.append(sig)
            return self._finish(v)
        v.checks.append(self._status_check(v, st, net, block))
        if st.issued:
            v.issuer = {
                "address": st.issuer,
                "store": st.store,
                "country": st.country,
                "name": self.source.authority_name(st.store),
            }
            v.checks.append(self._identity_check(env, st, net))
            sig = self._signature_check(wrapped, st)
            if sig:
                v.checks.append(sig)
        else:
            v.checks.append(
                Check(ISSUER_IDENTITY, SKIPPED, "NOT_ISSUED", "Not checked: the document was never issued.")
            )
        v.status = self._overall(v, st)
        return self._finish(v)

    def _status_check(self, v: Verdict, st: DocumentStatus, net: NetworkInfo, block: int) -> Check:
        details: dict[str, Any] = {"documentStore": st.store, "chainId": net.chain_id, "block": block}
        if not st.issued:
            return Check(
                DOCUMENT_STATUS,
                INVALID,
                "NOT_ISSUED",
                f"This document was never issued on {net.name}: its fingerprint is not in its issuing "
                f"authority's document store (checked at block {block}).",
                details,
            )
        details.update(
            anchoredBlock=st.anchored_block,
            anchoredAt=st.anchored_at,
            anchoredAtUtc=utc(st.anchored_at),
            batchSize=st.document_count,
        )
        if st.revoked:
            reason = REVOCATION_REASON_NAMES.get(st.revocation_reason, f"CODE_{st.revocation_reason}")
            text = REASON_SENTENCES.get(reason, f"reason code {st.revocation_reason}")
            v.revocation = {
                "reason": reason,
                "reasonCode": st.revocation_reason,
                "reasonText": text,
                "revokedAt": st.revoked_at,
                "revokedAtUtc": utc(st.revoked_at),
                "block": st.revoked_block,
                "wholeBatch": st.root_revoked,
                "revokedHash": st.revoked_hash,
                "revokedBy": st.revoked_by,
            }
            scope = (
                "together with its whole batch"
                if st.root_revoked
                else "together with part of its batch"
                if st.revoked_level == RevokedLevel.PROOF_NODE
                else "individually"
            )
            return Check(
                DOCUMENT_STATUS,
                INVALID,
                "REVOKED",
                f"The issuing authority revoked this document {scope} on {utc(st.revoked_at)} "
                f"(block {st.revoked_block}) because {text}.",
                {**details, **v.revocation},
            )
        if st.superseded:
            v.successor = {
                "documentStore": st.successor_store,
                "root": st.successor_root,
                "document": st.successor_document,
                "supersededAt": st.superseded_at,
                "supersededAtUtc": utc(st.superseded_at),
            }
            return Check(
                DOCUMENT_STATUS,
                INVALID,
                "SUPERSEDED",
                f"This document was replaced on {utc(st.superseded_at)} by another certificate "
                f"(document {st.successor_document}); ask for the replacement.",
                {**details, **v.successor},
            )
        return Check(
            DOCUMENT_STATUS,
            VALID,
            "ISSUED",
            f"Issued on {net.name} in block {st.anchored_block} on {utc(st.anchored_at)}; not revoked "
            f"(checked at block {block}).",
            details,
        )

    def _identity_check(self, env: _Envelope, st: DocumentStatus, net: NetworkInfo) -> Check:
        assert self.source is not None
        name = self.source.authority_name(st.store) or st.store
        details = {
            "issuer": st.issuer,
            "documentStore": st.store,
            "country": st.country,
            "name": name,
            "anchoredType": st.document_type,
            "anchoredAtUtc": utc(st.anchored_at),
        }
        if (
            env.identity_type == CERTNET_IDENTITY
            and env.identity_location is not None  # hidden (obfuscated): the chain lookups establish the issuer anyway
            and env.identity_location.lower() != net.issuer_registry.lower()
        ):
            return Check(
                ISSUER_IDENTITY,
                INVALID,
                "WRONG_ISSUER_REGISTRY",
                f"The document names issuer registry {env.identity_location}, not this network's "
                f"{net.issuer_registry}.",
                details,
            )
        # A hidden (obfuscated) issuing country is no mismatch: the store establishes the country on chain.
        if env.issuing_country is not None and env.issuing_country != st.country:
            return Check(
                ISSUER_IDENTITY,
                INVALID,
                "COUNTRY_MISMATCH",
                f"The document says it was issued in {env.issuing_country}, but its document store belongs "
                f"to {name}, an issuing authority of {st.country}.",
                details,
            )
        if env.document_type in DOCUMENT_TYPES and DOCUMENT_TYPES[env.document_type] != st.document_type:
            return Check(
                ISSUER_IDENTITY,
                INVALID,
                "TYPE_MISMATCH",
                f"The document is a {env.document_type} but was anchored as document type {st.document_type}.",
                details,
            )
        if not st.issuer_authorised:
            return Check(
                ISSUER_IDENTITY,
                INVALID,
                "ISSUER_NOT_AUTHORISED",
                f"{name} ({st.country}) was not authorised to issue this type of document on "
                f"{utc(st.anchored_at)}: the key that anchored it was suspended, retired, outside its "
                "validity or compromised then, or its country was not a member.",
                details,
            )
        return Check(
            ISSUER_IDENTITY,
            VALID,
            "AUTHORISED_ISSUER",
            f"Issued by {name} ({st.country}), authorised for this document type at the time of issue.",
            details,
        )

    @staticmethod
    def _overall(v: Verdict, st: DocumentStatus) -> str:
        if not st.issued:
            return NOT_ISSUED
        if st.revoked:
            return REVOKED
        if st.superseded:
            return SUPERSEDED
        if any(c.status == INVALID for c in v.checks if c.type in (ISSUER_IDENTITY, ISSUER_SIGNATURE)):
            return UNAUTHORIZED_ISSUER
        return VALID

    @staticmethod
    def _finish(v: Verdict) -> Verdict:
        v.message = overall_message(v.status, v)
        return v
