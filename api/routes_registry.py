"""Registry views for every role, and member admins' actions (signed with the admin's keystore held by
this service for the key's country)."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Callable, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from certnet.api import openapi_examples as ex
from certnet.api.app import PROBLEM_RESPONSES, PrincipalDep, id_path, service_of
from certnet.api.auth import Principal, require
from certnet.api.index.queries import IndexStatusSource
from certnet.api.problems import Problem
from certnet.node import errors as chain_errors
from certnet.node.contracts import DOCUMENT_TYPES, IssuerRegistryClient, checksummed
from certnet.node.countries import is_country
from certnet.node.tx import TransactionError

router = APIRouter(prefix="/v1", tags=["registry"], responses=PROBLEM_RESPONSES)
log = logging.getLogger("certnet.api")
Account = Annotated[str, Path(description="the issuer's 0x account address",
                              openapi_examples=ex.param(ex.VN_ISSUER, "the Vietnamese Form D issuer"))]
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
    model_config = ConfigDict(json_schema_extra={"examples": [ex.ISSUER["statusHistory"][1]]})

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


class IssuerOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.ISSUER]})

    account: str
    country: str
    name: str
    status: str = Field(description="now, read from the issuer registry")
    documentTypes: list[str | int]
    validFrom: int
    validUntil: int
    compromisedSince: int | None
    successor: str | None
    predecessor: str | None = Field(None, description="the account this one replaced by rotation")
    registeredAt: int | None = Field(None, description="block time of the registration, unix seconds")
    statusHistory: list[StatusChangeOut] | None = Field(
        None, description="every status the issuer had, in order, with the transaction that set it: from the "
                          "index, up to `historyBlock`; null when the index could not be read")
    historyBlock: int | None = Field(None, description="the indexed block the history is as of")


class MemberOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ex.MEMBERS[0]]})

    country: str
    active: bool
    adminCount: int
    joinedAt: int
    admins: list[str] | None = Field(None, description="the country's admin accounts (from the index)")
    removedAt: int | None = Field(None, description="when the country was removed, if it was")
    changes: list[MembershipChangeOut] | None = Field(
        None, description="admissions and removals, in order: from the index, up to `historyBlock`; null when "
                          "the index could not be read")
    historyBlock: int | None = Field(None, description="the indexed block the history is as of")


def _registry(request: Request) -> IssuerRegistryClient:
    s = service_of(request)
    return s.deployment.issuer_registry_client(s.w3)


def _indexed(request: Request, views: Callable[[IndexStatusSource], dict[str, Any]]) -> tuple[dict[str, Any], int | None]:
    """The index's views (issuers or members, keyed by account or country) and the block they are as of; empty
    when the service keeps no index or cannot read it (the registry's current state is answered anyway)."""
    source = service_of(request).index_source
    if source is None:
        return {}, None
    try:
        index = source.index
        block = index.indexed_block().number
        return views(index), block
    except Exception as exc:  # noqa: BLE001 - the history is optional; say why it is missing in the log
        log.warning("registry history unavailable: %s: %s", type(exc).__name__, exc)
        return {}, None


def _issuer_out(r: Any, view: Any, block: int | None) -> IssuerOut:
    history = None if view is None else [
        StatusChangeOut(time=c.time, status=c.status.name, blockNumber=c.block_number, transactionHash=c.tx_hash)
        for c in view.status_history]
    return IssuerOut(account=r.account, country=r.country, name=r.name, status=r.status.name,
                     documentTypes=r.document_types, validFrom=r.valid_from, validUntil=r.valid_until,
                     compromisedSince=r.compromised_since or None, successor=r.successor,
                     predecessor=view.predecessor if view else None, registeredAt=view.registered_at if view else None,
                     statusHistory=history, historyBlock=block if view else None)


@router.get("/members", response_model=list[MemberOut], summary="Member countries of the consortium",
            description="Any key (issuer, customs, auditor, admin): every member country as the issuer registry "
                        "holds it now, with its number of admins and when it joined, and from the index its "
                        "admins and every admission and removal.",
            responses={200: ex.json_example(ex.MEMBERS, "The member countries")})
def members(request: Request, principal: Principal = PrincipalDep) -> list[MemberOut]:
    reg = _registry(request)
    views, block = _indexed(request, lambda index: {m.country: m for m in index.members()})
    out = []
    for country in reg.countries():
        v = views.get(country)
        extra: dict[str, Any] = {} if v is None else dict(
            admins=v.admins, removedAt=v.removed_at, historyBlock=block,
            changes=[MembershipChangeOut(time=c.time, added=c.added, proposalId=c.proposal_id,
                                         blockNumber=c.block_number, transactionHash=c.tx_hash) for c in v.changes])
        out.append(MemberOut(**reg.member(country), **extra))
    return out


@router.get("/issuers", response_model=list[IssuerOut], summary="Issuers (of one country or all), with validity",
            description="Any key (issuer, customs, auditor, admin): the registered issuing authorities with their "
                        "status, document types and validity window read from the issuer registry, and their "
                        "validity over time (every status change, rotation) from the index.",
            responses={200: ex.json_example(ex.ISSUERS, "The issuers")})
def issuers(request: Request, principal: Principal = PrincipalDep,
            country: str | None = Query(None, description="only issuers of this member (ISO 3166-1 alpha-2 code)",
                                        openapi_examples=ex.param("TH", "Thailand"))) -> list[IssuerOut]:
    reg = _registry(request)
    if country is not None and not is_country(country):
        raise Problem(422, "UNKNOWN_COUNTRY", f"unknown ISO 3166-1 alpha-2 country code {country!r}")
    views, block = _indexed(request, lambda index: {i.account: i for i in index.issuers(country)})
    countries = [country] if country else reg.countries()
    return [_issuer_out(reg.issuer(a), views.get(a), block) for c in countries for a in reg.issuers_of(c)]


@router.get("/issuers/{account}", response_model=IssuerOut, summary="One issuer",
            description="Any key (issuer, customs, auditor, admin): one issuer's registry record and its validity "
                        "over time; 404 when the account is not a registered issuer.")
def issuer(account: Account, request: Request, principal: Principal = PrincipalDep) -> IssuerOut:
    account = _account(account)
    r = _registry(request).issuer(account)
    if not r.country:
        raise Problem(404, "ISSUER_NOT_FOUND", f"{account} is not a registered issuer")
    views, block = _indexed(request, lambda index: {i.account: i for i in index.issuers(r.country)})
    return _issuer_out(r, views.get(account), block)


# ------------------------------------------------------------------ admin actions

class RegisterIssuer(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"account": "0x8537FFbd673D01b54F184052EE5033f42c350fB5", "name": "VCCI Hai Phong", "documentTypes": ["FORM_D"], "validFrom": 0, "validUntil": 0}]})

    account: Address
    name: str = Field(min_length=1, max_length=128)
    documentTypes: list[Literal["FORM_D", "EPHYTO", "ECERT"]] = Field(min_length=1)
    validFrom: int = Field(0, ge=0, lt=2**40)
    validUntil: int = Field(0, ge=0, lt=2**40)


class IssuerAction(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"action": "suspend"}, {"action": "rotate", "successor": "0x04112d047B3E53563F8917d40FbCbDc1027f8D2a"}, {"action": "compromised", "since": 1735689600}]})

    action: Literal["suspend", "reinstate", "retire", "rotate", "compromised"]
    successor: Address | None = Field(None, description="for rotate")
    since: int | None = Field(None, ge=1, lt=2**40, description="for compromised: unix seconds")


class Proposal(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"kind": "add", "country": "SG", "admin": "0x04112d047B3E53563F8917d40FbCbDc1027f8D2a"}]})

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
        raise Problem(503, "NO_ADMIN_KEY", f"this service holds no admin keystore for {principal.country}")
    return service.deployment.issuer_registry_client(service.w3, signer)


def _mined(fn: Any) -> Any:
    """Send (fn) and wait for the receipt; a revert is a 409 naming the contract's error."""
    try:
        return fn()
    except chain_errors.ContractRevert as exc:
        raise Problem(409, f"CHAIN_{exc.error.upper()}", str(exc)) from None
    except TransactionError as exc:
        raise Problem(503, "CHAIN_UNAVAILABLE", str(exc)) from None


def _send(fn: Any) -> TxOut:
    receipt = _mined(fn)
    return TxOut(transactionHash=receipt["transactionHash"].to_0x_hex(), blockNumber=receipt["blockNumber"])


def _proposal(reg: IssuerRegistryClient, fn: Any) -> TxOut:
    receipt = _mined(fn)
    return TxOut(transactionHash=receipt["transactionHash"].to_0x_hex(), blockNumber=receipt["blockNumber"],
                 result={"proposalId": reg.proposal_id(receipt)})


@router.post("/admin/issuers", status_code=201, response_model=TxOut,
             summary="Register an issuer of the admin's country",
             description="For admin keys, for their own country, when this service holds that country's admin "
                         "keystore: sends the registration transaction and answers once it is mined.")
def register_issuer(body: RegisterIssuer, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    reg = _admin(request, principal)
    return _send(lambda: reg.register_issuer(body.account, body.name, [DOCUMENT_TYPES[t] for t in body.documentTypes],
                                             body.validFrom, body.validUntil))


@router.post("/admin/issuers/{account}", response_model=TxOut,
             summary="Suspend, reinstate, retire, rotate or mark compromised an issuer of the admin's country",
             description="For admin keys, about issuers of their own country (signed with the country's admin "
                         "keystore held by this service): sends the transaction and answers once it is mined.")
def issuer_action(account: Account, body: IssuerAction, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    account = _account(account)
    reg = _admin(request, principal)
    if body.action == "rotate":
        if not body.successor:
            raise Problem(422, "MISSING_SUCCESSOR", "rotate needs `successor`")
        return _send(lambda: reg.rotate_issuer(account, body.successor))
    if body.action == "compromised":
        if not body.since:
            raise Problem(422, "MISSING_SINCE", "compromised needs `since` (unix seconds)")
        return _send(lambda: reg.mark_compromised(account, body.since))
    fn = {"suspend": reg.suspend_issuer, "reinstate": reg.reinstate_issuer, "retire": reg.retire_issuer}[body.action]
    return _send(lambda: fn(account))


@router.post("/admin/proposals", status_code=201, response_model=TxOut,
             summary="Propose adding or removing a member country (the admin's country votes yes)",
             description="For admin keys (signed with their country's admin keystore held by this service): opens a "
                         "proposal that the other members vote on; the answer carries its `proposalId`.")
def propose(body: Proposal, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    reg = _admin(request, principal)
    if not is_country(body.country):
        raise Problem(422, "UNKNOWN_COUNTRY", f"unknown ISO 3166-1 alpha-2 country code {body.country!r}")
    if body.kind == "add":
        if not body.admin:
            raise Problem(422, "MISSING_ADMIN", "adding a member needs its first `admin` address")
        return _proposal(reg, lambda: reg.propose_member_tx(body.country, body.admin))
    return _proposal(reg, lambda: reg.propose_removal_tx(body.country))


@router.post("/admin/proposals/{proposal_id}/vote", response_model=TxOut, summary="Vote on a proposal",
             description="For admin keys (signed with their country's admin keystore held by this service): casts "
                         "their country's vote; a proposal passes on the members' majority.")
def vote(proposal_id: ProposalId, body: Vote, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    reg = _admin(request, principal)
    return _send(lambda: reg.vote(proposal_id, body.support))
