"""Registry views for every role, and member admins' actions (signed with the admin's keystore held by
this service for the key's country)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from web3 import Web3

from api.app import PROBLEM_RESPONSES, IdPath, PrincipalDep, service_of
from api.auth import Principal, require
from api.problems import Problem
from node import errors as chain_errors
from node.contracts import DOCUMENT_TYPES, IssuerRegistryClient
from node.countries import is_country
from node.tx import TransactionError

router = APIRouter(prefix="/v1", tags=["registry"], responses=PROBLEM_RESPONSES)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssuerOut(BaseModel):
    account: str
    country: str
    name: str
    status: str
    documentTypes: list[str | int]
    validFrom: int
    validUntil: int
    compromisedSince: int | None
    successor: str | None


class MemberOut(BaseModel):
    country: str
    active: bool
    adminCount: int
    joinedAt: int


def _issuer_out(r: Any) -> IssuerOut:
    return IssuerOut(account=r.account, country=r.country, name=r.name, status=r.status.name,
                     documentTypes=r.document_types, validFrom=r.valid_from, validUntil=r.valid_until,
                     compromisedSince=r.compromised_since or None, successor=r.successor)


def _registry(request: Request) -> IssuerRegistryClient:
    s = service_of(request)
    return s.deployment.issuer_registry_client(s.w3)


@router.get("/members", response_model=list[MemberOut], summary="Member countries of the consortium")
def members(request: Request, principal: Principal = PrincipalDep) -> list[MemberOut]:
    reg = _registry(request)
    return [MemberOut(**reg.member(c)) for c in reg.countries()]


@router.get("/issuers", response_model=list[IssuerOut], summary="Issuers (of one country or all), with validity")
def issuers(request: Request, principal: Principal = PrincipalDep, country: str | None = None) -> list[IssuerOut]:
    reg = _registry(request)
    if country is not None and not is_country(country):
        raise Problem(422, "UNKNOWN_COUNTRY", f"unknown ISO 3166-1 alpha-2 country code {country!r}")
    countries = [country] if country else reg.countries()
    return [_issuer_out(reg.issuer(a)) for c in countries for a in reg.issuers_of(c)]


@router.get("/issuers/{account}", response_model=IssuerOut, summary="One issuer")
def issuer(account: str, request: Request, principal: Principal = PrincipalDep) -> IssuerOut:
    if not Web3.is_address(account):
        raise Problem(422, "MALFORMED_ADDRESS", f"{account!r} is not an 0x address")
    r = _registry(request).issuer(account)
    if not r.country:
        raise Problem(404, "ISSUER_NOT_FOUND", f"{account} is not a registered issuer")
    return _issuer_out(r)


# ------------------------------------------------------------------ admin actions

class RegisterIssuer(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"account": "0x8537FFbd673D01b54F184052EE5033f42c350fB5", "name": "VCCI Hai Phong", "documentTypes": ["FORM_D"], "validFrom": 0, "validUntil": 0}]})

    account: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    name: str = Field(min_length=1, max_length=128)
    documentTypes: list[Literal["FORM_D", "EPHYTO", "ECERT"]] = Field(min_length=1)
    validFrom: int = Field(0, ge=0, lt=2**40)
    validUntil: int = Field(0, ge=0, lt=2**40)


class IssuerAction(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"action": "suspend"}, {"action": "rotate", "successor": "0x04112d047B3E53563F8917d40FbCbDc1027f8D2a"}, {"action": "compromised", "since": 1735689600}]})

    action: Literal["suspend", "reinstate", "retire", "rotate", "compromised"]
    successor: str | None = Field(None, pattern=r"^0x[0-9a-fA-F]{40}$", description="for rotate")
    since: int | None = Field(None, ge=1, lt=2**40, description="for compromised: unix seconds")


class Proposal(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"kind": "add", "country": "SG", "admin": "0x04112d047B3E53563F8917d40FbCbDc1027f8D2a"}]})

    kind: Literal["add", "remove"]
    country: str = Field(min_length=2, max_length=2)
    admin: str | None = Field(None, pattern=r"^0x[0-9a-fA-F]{40}$", description="first admin of a new member")


class Vote(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"support": True}]})

    support: bool


class TxOut(BaseModel):
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


def _send(fn: Any) -> TxOut:
    try:
        receipt = fn()
    except chain_errors.ContractRevert as exc:
        raise Problem(409, f"CHAIN_{exc.error.upper()}", str(exc)) from None
    except TransactionError as exc:
        raise Problem(503, "CHAIN_UNAVAILABLE", str(exc)) from None
    if isinstance(receipt, int):
        return TxOut(transactionHash="", blockNumber=0, result={"proposalId": receipt})
    return TxOut(transactionHash=receipt["transactionHash"].to_0x_hex(), blockNumber=receipt["blockNumber"])


@router.post("/admin/issuers", status_code=201, response_model=TxOut,
             summary="Register an issuer of the admin's country")
def register_issuer(body: RegisterIssuer, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    reg = _admin(request, principal)
    return _send(lambda: reg.register_issuer(body.account, body.name, [DOCUMENT_TYPES[t] for t in body.documentTypes],
                                             body.validFrom, body.validUntil))


@router.post("/admin/issuers/{account}", response_model=TxOut,
             summary="Suspend, reinstate, retire, rotate or mark compromised an issuer of the admin's country")
def issuer_action(account: str, body: IssuerAction, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    if not Web3.is_address(account):
        raise Problem(422, "MALFORMED_ADDRESS", f"{account!r} is not an 0x address")
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
             summary="Propose adding or removing a member country (the admin's country votes yes)")
def propose(body: Proposal, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    reg = _admin(request, principal)
    if not is_country(body.country):
        raise Problem(422, "UNKNOWN_COUNTRY", f"unknown ISO 3166-1 alpha-2 country code {body.country!r}")
    if body.kind == "add":
        if not body.admin:
            raise Problem(422, "MISSING_ADMIN", "adding a member needs its first `admin` address")
        return _send(lambda: reg.propose_member(body.country, body.admin))
    return _send(lambda: reg.propose_removal(body.country))


@router.post("/admin/proposals/{proposal_id}/vote", response_model=TxOut, summary="Vote on a proposal")
def vote(proposal_id: IdPath, body: Vote, request: Request, principal: Principal = PrincipalDep) -> TxOut:
    reg = _admin(request, principal)
    return _send(lambda: reg.vote(proposal_id, body.support))
