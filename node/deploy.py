"""Deploying a network's IssuerRegistry (with the DocumentStore implementation it clones) from a configuration of
founding members.

Configuration (JSON):

    {"name": "certnet ASEAN",
     "members": [{"country": "VN", "admins": ["0x..."]}, {"country": "TH", "admins": ["0x...", "0x..."]}],
     "answerPeriodDays": 90}

The result is written as `deployment.json` (chain id, addresses, block) where the other commands find it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from eth_utils import is_hex_address, to_checksum_address
from web3 import Web3

from certnet import CertnetError
from certnet.node.artifacts import load_artifact
from certnet.node.contracts import CustomsRecordClient, DocumentStoreClient, IssuerRegistryClient
from certnet.node.countries import is_country, to_bytes2
from certnet.node.tx import Transactor

MAX_NAME = 128


class ConfigError(CertnetError, ValueError):
    """The deployment configuration is wrong; `field` names where (e.g. `members.1.admins.0`)."""

    def __init__(self, field_path: str, problem: str) -> None:
        super().__init__(f"{field_path}: {problem}")
        self.field = field_path
        self.problem = problem


@dataclass(frozen=True)
class Member:
    country: str
    admins: list[str]


#: Default time the issuing side has to answer a retroactive check: 90 days.
ANSWER_PERIOD = 90 * 86400


@dataclass(frozen=True)
class DeployConfig:
    name: str
    members: list[Member]
    answer_period: int = ANSWER_PERIOD


def parse_config(raw: Any) -> DeployConfig:
    """Validate a configuration object; every error names the field."""
    if not isinstance(raw, dict):
        raise ConfigError("(top level)", "must be a JSON object with `name` and `members`")
    unknown = set(raw) - {"name", "members", "answerPeriodDays"}
    if unknown:
        raise ConfigError(sorted(unknown)[0], "unknown field (allowed: name, members, answerPeriodDays)")
    days = raw.get("answerPeriodDays", ANSWER_PERIOD // 86400)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
        raise ConfigError("answerPeriodDays", "must be a whole number of days, 1..3650 (default 90)")
    name = raw.get("name", "certnet")
    if not isinstance(name, str) or not 0 < len(name.encode()) <= MAX_NAME:
        raise ConfigError("name", f"must be a non-empty string of at most {MAX_NAME} bytes")
    members = raw.get("members")
    if members is None:
        raise ConfigError("members", "required: the founding members")
    if not isinstance(members, list) or not members:
        raise ConfigError("members", "must be a non-empty list of {country, admins}")
    seen_countries: dict[str, int] = {}
    seen_admins: dict[str, str] = {}
    out: list[Member] = []
    for i, m in enumerate(members):
        where = f"members.{i}"
        if not isinstance(m, dict):
            raise ConfigError(where, "must be an object {country, admins}")
        extra = set(m) - {"country", "admins"}
        if extra:
            raise ConfigError(f"{where}.{sorted(extra)[0]}", "unknown field (allowed: country, admins)")
        country = m.get("country")
        if country is None:
            raise ConfigError(f"{where}.country", "required")
        if not is_country(country):
            raise ConfigError(f"{where}.country", f"unknown ISO 3166-1 alpha-2 country code {country!r}")
        if country in seen_countries:
            raise ConfigError(
                f"{where}.country", f"duplicate country {country} (also members.{seen_countries[country]})"
            )
        seen_countries[country] = i
        admins = m.get("admins")
        if admins is None:
            raise ConfigError(f"{where}.admins", "required: at least one admin address")
        if not isinstance(admins, list) or not admins:
            raise ConfigError(f"{where}.admins", "must be a non-empty list of addresses")
        checked: list[str] = []
        for j, a in enumerate(admins):
            aw = f"{where}.admins.{j}"
            if not isinstance(a, str) or not is_hex_address(a):
                raise ConfigError(aw, f"malformed address {a!r} (expected 0x and 40 hex digits)")
            digits = a[2:]
            if digits != digits.lower() and digits != digits.upper() and a != to_checksum_address(a):
                raise ConfigError(aw, f"address {a} has a wrong EIP-55 checksum")
            cs = to_checksum_address(a)
            if int(cs, 16) == 0:
                raise ConfigError(aw, "the zero address cannot be an admin")
            if cs in seen_admins:
                raise ConfigError(aw, f"duplicate admin {cs} (also {seen_admins[cs]})")
            seen_admins[cs] = aw
            checked.append(cs)
        out.append(Member(country=country, admins=checked))
    return DeployConfig(name=name, members=out, answer_period=days * 86400)


def load_config(path: str | Path) -> DeployConfig:
    p = Path(path)
    if not p.is_file():
        raise ConfigError("config", f"file {p} not found")
    try:
        raw = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(
            "config", f"{p} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    return parse_config(raw)


@dataclass
class Deployment:
    """Where a network's contracts are."""

    chain_id: int
    issuer_registry: str
    customs_record: str
    block: int
    name: str
    rpc_url: str | None = None
    members: list[dict[str, Any]] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Deployment:
        if not path.is_file():
            raise FileNotFoundError(f"no deployment at {path}: run `certnet deploy` first")
        raw = json.loads(path.read_text())
        known = {f for f in cls.__dataclass_fields__}
        if "certificate_registry" in raw or not known >= set(raw):
            raise FileNotFoundError(
                f"{path} describes an older certnet deployment (one shared certificate registry): deploy again"
            )
        return cls(**raw)

    def issuer_registry_client(self, w3: Web3, signer: Transactor | None = None) -> IssuerRegistryClient:
        return IssuerRegistryClient(w3, self.issuer_registry, signer)

    def customs_record_client(self, w3: Web3, signer: Transactor | None = None) -> CustomsRecordClient:
        return CustomsRecordClient(w3, self.customs_record, signer)

    def store_client(self, w3: Web3, store: str, signer: Transactor | None = None) -> DocumentStoreClient:
        """An authority's document store on this network."""
        return DocumentStoreClient(w3, store, signer)


def _deploy_contract(w3: Web3, signer: Transactor, name: str, *args: Any) -> tuple[str, int]:
    art = load_artifact(name)
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    receipt = signer.send(factory.constructor(*args), context=f"deploy {name}")
    return cast(str, receipt["contractAddress"]), receipt["blockNumber"]  # a deployment's receipt has one


def deploy(w3: Web3, signer: Transactor, config: DeployConfig, rpc_url: str | None = None) -> Deployment:
    """Deploy the IssuerRegistry with the founding members (it deploys the DocumentStore implementation itself),
    then the CustomsRecord."""
    countries = [to_bytes2(m.country) for m in config.members for _ in m.admins]
    admins = [a for m in config.members for a in m.admins]
    registry, block = _deploy_contract(w3, signer, "IssuerRegistry", countries, admins)
    customs, _ = _deploy_contract(w3, signer, "CustomsRecord", registry, config.answer_period)
    return Deployment(
        chain_id=w3.eth.chain_id,
        issuer_registry=registry,
        customs_record=customs,
        block=block,
        name=config.name,
        rpc_url=rpc_url,
        members=[asdict(m) for m in config.members],
    )
