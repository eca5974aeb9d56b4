"""Registry views for every role, and member admins' actions (signed with the admin's keystore held by
this service for the key's country)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from certnet.api import openapi_examples as ex
from certnet.api.app import PROBLEM_RESPONSES, PrincipalDep, id_path, service_of
from certnet.api.auth import Principal, require
from certnet.api.problems import Problem
from certnet.index.queries import IndexStatusSource
from certnet.node import errors as chain_errors
from certnet.node.contracts import DOCUMENT_TYPES, AuthorityRecord, IssuerRegistryClient, KeyRecord, checksummed
from certnet.node.countries import is_country
from certnet.node.signers import SignerError, SignerRefused, SignerUnavailable
from certnet.node.tx import TransactionError

router = APIRouter(prefix="/v1", tags=["registry"], responses=PROBLEM_RESPONSES)
log = logging.getLogger("certnet.api")
Account = Annotated[
    str,
    Path(
        description="a 0x account address (a signing key)",
        openapi_examples=ex.param(ex.VN_ISSUER, "the Vietnamese Form D issuer's key"),
    ),
]
Store = Annotated[
    str,
    Path(
        description="an authority's document store (0x address)",
        openapi_examples=ex.param(ex.VN_STORE, "the Vietnamese Form D issuer's store"),
    ),
]
ProposalId = Annotated[int, id_path("id of an open membership proposal", 1)]


Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$"), AfterValidator(checksummed)]


def _account(account: str) -> str:
    try:
        return checksummed(account)
    except ValueError as exc:
        raise Problem(422, "MALFORMED_ADDRESS", f"{account!r} is {exc}") from None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusChangeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.KEY["statusHistory"][1]]})

    time: int = Field(description="block time, unix seconds")
    status: str
    blockNumber: int
    transactionHash: str


class MembershipChangeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.MEMBERS[1]["changes"][0]]})

    time: int = Field(description="block time, unix seconds")
    added: bool = Field(description="true when the country was admitted, false when it was removed")
    proposalId: int
    blockNumber: int
    transactionHash: str


class KeyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.KEY]})

    account: str = Field(description="the signing key's address")
    store: str | None = Field(description="the document store of the authority the key signs for")
    status: str = Field(description="now, read from the issuer registry")
    validFrom: int
    validUntil: int
    compromisedSince: int | None
    successor: str | None
    predecessor: str | None = Field(None, description="the key this one replaced by rotation")
    registeredAt: int | None = Field(None, description="block time the key was added, unix seconds")
    statusHistory: list[StatusChangeOut] | None = Field(
        None,
        description="every status the key had, in order, with the transaction that set it: from the "
        "index, up to `historyBlock`; null when the index could not be read",
    )
    historyBlock: int | None = Field(None, description="the indexed block the history is as of")


class AuthorityOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.AUTHORITY]})

    store: str = Field(
        description="the authority's document store: documents it issues name it in issuers[0].documentStore"
    )
    country: str
    name: str
    documentTypes: list[str | int]
    validFrom: int
    validUntil: int
    keys: list[KeyOut] | None = Field(
        None,
        description="every key ever added to the authority (from the index); null when the index could not be read",
    )
    historyBlock: int | None = Field(None, description="the indexed block the keys are as of")


class MemberOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.MEMBERS[0]]})

    country: str
    active: bool
    adminCount: int
    joinedAt: int
    admins: list[str] | None = Field(None, description="the country's admin accounts (from the index)")
    removedAt: int | None = Field(None, description="when the country was removed, if it was")
    changes: list[MembershipChangeOut] | None = Field(
        None,
        description="admissions and removals, in order: from the index, up to `historyBlock`; null when "
        "the index could not be read",
    )
    historyBlock: int | None = Field(None, description="the indexed block the history is as of")


def _registry(request: Request) -> IssuerRegistryClient:
    s = service_of(request)
    return s.deployment.issuer_registry_client(s.w3)


def _indexed(
    request: Request, views: Callable[[IndexStatusSource], dict[str, Any]]
) -> tuple[dict[str, Any], int | None]:
    """The index's views (issuers or members, keyed by account or country) and the block they are as of; empty
    when the service keeps no index or cannot read it (the registry's current state is answered anyway)."""
    source = service_of(request).index_source
    if source is None:
        return {}, None
    try:
        index = source.index
        block = index.indexed_block().number
        return views(index), block
    except Exception as exc:
        log.warning("registry history unavailable: %s: %s", type(exc).__name__, exc)
        return {}, None


def _key_out(r: KeyRecord, view: Any, block: int | None) -> KeyOut:
    history = (
        None
        if view is None
        else [
            StatusChangeOut(time=c.time, status=c.status.name, blockNumber=c.block_number, transactionHash=c.tx_hash)
            for c in view.status_history
        ]
    )
    return KeyOut(
        account=r.key,
        store=r.store,
        status=r.status.name,
        validFrom=r.valid_from,
        validUntil=r.valid_until,
        compromisedSince=r.compromised_since or None,
        successor=r.successor,
        predecessor=view.predecessor if view else None,
        registeredAt=view.registered_at if view else None,
        statusHistory=history,
        historyBlock=block if view else None,
    )


def _authority_out(
    reg: IssuerRegistryClient, a: AuthorityRecord, views: dict[str, Any] | None, block: int | None
) -> AuthorityOut:
    keys = None
    if views is not None:
        keys = [
            _key_out(reg.key_info(account), v, block)
            for account, v in views.items()
            if v.store.lower() == a.store.lower()
        ]
    return AuthorityOut(
        store=a.store,
        country=a.country,
        name=a.name,
        documentTypes=a.document_types,
        validFrom=a.valid_from,
        validUntil=a.valid_until,
        keys=keys,
        historyBlock=block if keys is not None else None,
    )


@router.get(
    "/members",
    response_model=list[MemberOut],
    summary="Member countries of the consortium",
    description="Any key (issuer, customs, auditor, admin): every member country as the issuer registry "
    "holds it now, with its number of admins and when it joined, and from the index its "
    "admins and every admission and removal.",
    responses={200: ex.json_example(ex.MEMBERS, "The member countries")},
)
def members(request: Request, principal: Principal = PrincipalDep) -> list[MemberOut]:
    reg = _registry(request)
    views, block = _indexed(request, lambda index: {m.country: m for m in index.members()})
    out = []
    for country in reg.countries():
        v = views.get(country)
        extra: dict[str, Any] = (
            {}
            if v is None
            else dict(
                admins=v.admins,
                removedAt=v.removed_at,
                historyBlock=block,
                changes=[
                    MembershipChangeOut(
                        time=c.time,
                        added=c.added,
                        proposalId=c.proposal_id,
                        blockNumber=c.block_number,
                        transactionHash=c.tx_hash,
                    )
                    for c in v.changes
                ],
            )
        )
        out.append(MemberOut(**reg.member(country), **extra))
    return out


def _key_views(request: Request, country: str | None) -> tuple[dict[str, Any] | None, int | None]:
    views, block = _indexed(request, lambda index: {i.account: i for i in index.issuers(country)})
    return (views if block is not None else None), block


@router.get(
    "/authorities",
    response_model=list[AuthorityOut],
    summary="Issuing authorities (of one country or all), with their stores and keys",
    description="Any key (issuer, customs, auditor, admin): the issuing authorities with their document "
    "store, document types and validity read from the issuer registry, and from the index "
    "every key each one ever had with its status over time.",
    responses={200: ex.json_example([ex.AUTHORITY], "The issuing authorities")},
)
def authorities(
    request: Request,
    principal: Principal = PrincipalDep,
    country: str | None = Query(
        None,
        description="only authorities of this member (ISO 3166-1 alpha-2)",
        openapi_examples=ex.param("VN", "Vietnam"),
    ),
) -> list[AuthorityOut]:
    reg = _registry(request)
    if country is not None and not is_country(country):
        raise Problem(422, "UNKNOWN_COUNTRY", f"unknown ISO 3166-1 alpha-2 country code {country!r}")
    views, block = _key_views(request, country)
    out = []
    for c in [country] if country else reg.countries():
        for store in reg.stores_of(c):
            a = reg.authority(store)
            if a is not None:
                out.append(_authority_out(reg, a, views, block))
    return out


@router.get(
    "/authorities/{store}",
    response_model=AuthorityOut,
    summary="One issuing authority",
    description="Any key (issuer, customs, auditor, admin): one authority by its document store, with its "
    "keys over time; 404 when the address is not a registered store.",
)
def authority(store: Store, request: Request, principal: Principal = PrincipalDep) -> AuthorityOut:
    reg = _registry(request)
    a = reg.authority(_account(store))
    if a is None:
        raise Problem(404, "AUTHORITY_NOT_FOUND", f"{store} is not the document store of a registered authority")
    views, block = _key_views(request, a.country)
    return _authority_out(reg, a, views, block)


@router.get(
    "/issuers/{account}",
    response_model=KeyOut,
    summary="One signing key of an issuing authority",
    description="Any key (issuer, customs, auditor, admin): one issuer key's registry record (its store, "
    "status and validity) and its status over time; 404 when the account is no authority's key.",
)
def issuer(account: Account, request: Request, principal: Principal = PrincipalDep) -> KeyOut:
    account = _account(account)
    reg = _registry(request)
    r = reg.key_info(account)
    if r.store is None:
        raise Problem(404, "ISSUER_NOT_FOUND", f"{account} is not a key of a registered issuing authority")
    country = reg.country_of_store(r.store)
    views, block = _key_views(request, country)
    return _key_out(r, (views or {}).get(account), block)


# ------------------------------------------------------------------ admin actions


class RegisterAuthority(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "VCCI Hai Phong",
                    "documentTypes": ["FORM_D"],
                    "validFrom": 0,
                    "validUntil": 0,
                    "firstKey": "0x8537FFbd673D01b54F184052EE5033f42c350fB5",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=128)
    documentTypes: list[Literal["FORM_D", "EPHYTO", "ECERT"]] = Field(min_length=1)
    validFrom: int = Field(0, ge=0, lt=2**40, description="unix seconds; 0 means now")
    validUntil: int = Field(0, ge=0, lt=2**40, description="unix seconds; 0 means no end")
    firstKey: Address | None = Field(None, description="its first signing key (an account never used before)")


class AddKey(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"key": "0x8537FFbd673D01b54F184052EE5033f42c350fB5", "validFrom": 0, "validUntil": 0}]
        },
    )

    key: Address
    validFrom: int = Field(0, ge=0, lt=2**40, description="unix seconds; 0 means now")
    validUntil: int = Field(0, ge=0, lt=2**40, description="unix seconds; 0 means the authority's end")


class CustomsKey(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"key": "0x8537FFbd673D01b54F184052EE5033f42c350fB5"}]}
    )

    key: Address


class KeyAction(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"action": "suspend"},
                {"action": "rotate", "successor": "0x04112d047B3E53563F8917d40FbCbDc1027f8D2a"},
                {"action": "compromised", "since": 1735689600},
            ]
        },
    )

    action: Literal["suspend", "reinstate", "retire", "rotate", "compromised"]
    successor: Address | None = Field(None, description="for rotate")
    since: int | None = Field(None, ge=1, lt=2**40, description="for compromised: unix seconds")


class Proposal(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"kind": "add", "country": "SG", "admin": "0x04112d047B3E53563F8917d40FbCbDc1027f8D2a"}]
        },
    )

    kind: Literal["add", "remove"]
    country: str = Field(min_length=2, max_length=2)
    admin: Address | None = Field(None, description="first admin of a new member")


class Vote(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"support": True}]})

    support: bool


class TxOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.TX, ex.TX_PROPOSAL]})

    transactionHash: str
    blockNumber: int
    result: dict[str, Any] = {}


def _admin(request: Request, principal: Principal) -> IssuerRegistryClient:
    require(principal, "admin")
    service = service_of(request)
    signer = service.admins.get(principal.country)
    if signer is None:
        raise Problem(
            503,
            "NO_ADMIN_KEY",
            f"this service holds no admin key (keystore or external signer) for {principal.country}",
        )
    return service.deployment.issuer_registry_client(service.w3, signer)


def _mined(fn: Any) -> Any:
    """Send (fn) and wait for the receipt; a revert is a 409 naming the contract's error."""
    try:
        return fn()
    except chain_errors.ContractRevert as exc:
        raise Problem(409, f"CHAIN_{exc.error.upper()}", str(exc)) from None
    except TransactionError as exc:
        raise Problem(503, "CHAIN_UNAVAILABLE", str(exc)) from None
    except SignerRefused as exc:  # the admin key is in an external signer whose rules or operator said no
        raise Problem(403, "SIGNER_REFUSED", f"the signer refused the transaction; nothing was sent ({exc})") from None
    except SignerUnavailable as exc:
        raise Problem(
            503,
            "SIGNER_UNAVAILABLE",
            f"the signer holding this country's admin key did not answer; nothing was sent ({exc})",
        ) from None
    except SignerError as exc:
        raise Problem(503, "SIGNER_ERROR", f"the signer could not sign; nothing was sent ({exc})") from None


def _send(fn: Any) -> TxOut:
    receipt = _mined(fn)
    return TxOut(transactionHash=receipt["transactionHash"].to_0x_hex(), blockNumber=receipt["blockNumber"])


def _proposal(reg: IssuerRegistryClient, fn: Any) -> TxOut:
    receipt = _mined(fn)
    return TxOut(
        transactionHash=receipt["transactionHash"].to_0x_hex(),
        blockNumber=receipt["blockNumber"],
        result={"proposalId": reg.proposal_id(receipt)},
    )


@router.post(
    "/admin/authorities",
    status_code=201,
    response_model=TxOut,
    summary="Register an issuing authority of the admin's country (creates its document store)",
    description="For admin keys, for their own country, when this service holds that country's admin "
    "keystore: sends the registration transaction and answers once it is mined; `result.store` "
    "is the new authority's document store.",
    responses={201: ex.json_example(ex.TX_AUTHORITY, "The registration, with the new store")},
)
def register_authority(body: RegisterAuthority, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    reg = _admin(request, principal)
    receipt = _mined(
        lambda: reg.register_authority(
            body.name, [DOCUMENT_TYPES[t] for t in body.documentTypes], body.validFrom, body.validUntil, body.firstKey
        )
    )
    return TxOut(
        transactionHash=receipt["transactionHash"].to_0x_hex(),
        blockNumber=receipt["blockNumber"],
        result={"store": reg.store_from(receipt)},
    )


@router.post(
    "/admin/authorities/{store}/keys",
    status_code=201,
    response_model=TxOut,
    summary="Add a signing key to an authority of the admin's country",
    description="For admin keys, about authorities of their own country (signed with the country's admin "
    "keystore held by this service): sends the transaction and answers once it is mined.",
)
def add_key(store: Store, body: AddKey, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    store = _account(store)
    reg = _admin(request, principal)
    return _send(lambda: reg.add_key(store, body.key, body.validFrom, body.validUntil))


@router.post(
    "/admin/issuers/{account}",
    response_model=TxOut,
    summary="Suspend, reinstate, retire, rotate or mark compromised a signing key of the admin's country",
    description="For admin keys, about keys of authorities of their own country (signed with the "
    "country's admin keystore held by this service): sends the transaction and answers once it "
    "is mined. Marking a key compromised since a time makes everything it did since then stop "
    "counting: its anchors no longer verify, its revocations and supersessions are void.",
)
def key_action(account: Account, body: KeyAction, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    account = _account(account)
    reg = _admin(request, principal)
    if body.action == "rotate":
        if not body.successor:
            raise Problem(422, "MISSING_SUCCESSOR", "rotate needs `successor`")
        successor = body.successor
        return _send(lambda: reg.rotate_key(account, successor))
    if body.action == "compromised":
        if not body.since:
            raise Problem(422, "MISSING_SINCE", "compromised needs `since` (unix seconds)")
        since = body.since
        return _send(lambda: reg.mark_compromised(account, since))
    fn = {"suspend": reg.suspend_key, "reinstate": reg.reinstate_key, "retire": reg.retire_key}[body.action]
    return _send(lambda: fn(account))


@router.post(
    "/admin/customs-keys",
    status_code=201,
    response_model=TxOut,
    summary="Add a customs key of the admin's country",
    description="For admin keys (signed with their country's admin keystore held by this service): a "
    "customs key records the country's customs decisions on certificates it receives.",
)
def add_customs_key(body: CustomsKey, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    reg = _admin(request, principal)
    return _send(lambda: reg.add_customs_key(body.key))


@router.delete(
    "/admin/customs-keys/{account}",
    response_model=TxOut,
    summary="Remove a customs key of the admin's country",
    description="For admin keys (signed with their country's admin keystore held by this service).",
)
def remove_customs_key(account: Account, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    account = _account(account)
    reg = _admin(request, principal)
    return _send(lambda: reg.remove_customs_key(account))


@router.post(
    "/admin/proposals",
    status_code=201,
    response_model=TxOut,
    summary="Propose adding or removing a member country (the admin's country votes yes)",
    description="For admin keys (signed with their country's admin keystore held by this service): opens a "
    "proposal that the other members vote on; the answer carries its `proposalId`.",
)
def propose(body: Proposal, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    reg = _admin(request, principal)
    if not is_country(body.country):
        raise Problem(422, "UNKNOWN_COUNTRY", f"unknown ISO 3166-1 alpha-2 country code {body.country!r}")
    if body.kind == "add":
        if not body.admin:
            raise Problem(422, "MISSING_ADMIN", "adding a member needs its first `admin` address")
        return _proposal(reg, lambda: reg.propose_member_tx(body.country, body.admin))
    return _proposal(reg, lambda: reg.propose_removal_tx(body.country))


@router.post(
    "/admin/proposals/{proposal_id}/vote",
    response_model=TxOut,
    summary="Vote on a proposal",
    description="For admin keys (signed with their country's admin keystore held by this service): casts "
    "their country's vote; a proposal passes on the members' majority.",
)
def vote(proposal_id: ProposalId, body: Vote, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    reg = _admin(request, principal)
    return _send(lambda: reg.vote(proposal_id, body.support))


@router.post(
    "/admin/proposals/{proposal_id}/decide",
    response_model=TxOut,
    summary="Decide a proposal again from the votes that count now",
    description="For admin keys: re-counts an open proposal's votes among the current members (after a "
    "member was removed, say) and closes it if decided, or as expired after its deadline.",
)
def decide(proposal_id: ProposalId, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    reg = _admin(request, principal)
    return _send(lambda: reg.decide(proposal_id))
