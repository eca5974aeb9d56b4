"""Bringing up (and down) the whole local system: node, keys, contracts, issuers.

`certnet up` is idempotent: every step checks what is already there. The local demo consortium has
four members (VN, TH, MY, SG), one admin each and one issuing authority in VN and TH. Their keys are
encrypted keystores under <data dir>/keys; the local passphrase is generated once into
<data dir>/passphrase (mode 0600) unless CERTNET_PASSPHRASE or CERTNET_PASSPHRASE_FILE is set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from web3 import Web3

from certnet.node import keys, local
from certnet.node.deploy import DeployConfig, Deployment, Member, deploy
from certnet.node.engines import connect, dev_keys
from certnet.node.keys import local_passphrase
from certnet.node.tx import Transactor, signer_for

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

DEMO_MEMBERS = ["VN", "TH", "MY", "SG"]
DEMO_CUSTOMS = ["TH", "VN"]  # countries whose customs key the local service holds (<cc>-customs.json)
DEMO_ISSUERS = {
    "VN": ("vn-issuer", "Vietnam Chamber of Commerce and Industry (VCCI) HCMC", ["FORM_D", "ECERT"]),
    "TH": ("th-issuer", "Department of Foreign Trade, Thailand", ["FORM_D", "EPHYTO"]),
}


@dataclass
class LocalSystem:
    data_dir: Path
    rpc_url: str
    deployment: Deployment
    key_files: dict[str, Path]


def deployment_file(data_dir: Path) -> Path:
    return data_dir / "deployment.json"


def _ensure_key(data_dir: Path, name: str, secret: str) -> Path:
    path = data_dir / "keys" / f"{name}.json"
    if not path.is_file():
        keys.create_keystore(path, secret)
    return path


def _is_deployed(w3: Web3, d: Deployment) -> bool:
    """The deployment's registry is on this chain (and is the current contract, with document stores)."""
    if d.chain_id != w3.eth.chain_id or not w3.eth.get_code(Web3.to_checksum_address(d.issuer_registry)):
        return False
    try:
        d.issuer_registry_client(w3).store_implementation()
    except Exception:
        return False
    return True


def bring_up(data_dir: Path, port: int = local.DEFAULT_PORT, log=print) -> LocalSystem:
    """Start the node, create and fund keys, deploy the contracts and register issuers (each step once)."""
    info = local.up(data_dir, port=port)
    log(f"node: anvil on {info.rpc_url} (chain id {info.chain_id}), state in {local.node_dir(data_dir)}")
    w3 = connect(info.rpc_url)
    secret = local_passphrase(data_dir)
    names = (
        [f"{c.lower()}-admin" for c in DEMO_MEMBERS]
        + [v[0] for v in DEMO_ISSUERS.values()]
        + [f"{c.lower()}-customs" for c in DEMO_CUSTOMS]
    )
    key_files = {n: _ensure_key(data_dir, n, secret) for n in names}
    funder = signer_for(w3, dev_keys(1)[0])
    for f in key_files.values():
        addr = keys.keystore_address(f)
        if w3.eth.get_balance(cast("ChecksumAddress", addr)) < 10**18:
            funder.transfer(addr, 100 * 10**18)
    dfile = deployment_file(data_dir)
    try:
        deployment = Deployment.load(dfile) if dfile.is_file() else None
    except FileNotFoundError as exc:  # an older deployment: deploy again
        log(f"deploy: {exc}")
        deployment = None
    if deployment is None or not _is_deployed(w3, deployment):
        config = DeployConfig(
            name="certnet local",
            members=[Member(c, [keys.keystore_address(key_files[f"{c.lower()}-admin"])]) for c in DEMO_MEMBERS],
        )
        deployment = deploy(w3, funder, config, rpc_url=info.rpc_url)
        deployment.save(dfile)
        log(f"deploy: IssuerRegistry {deployment.issuer_registry}")
    else:
        log(f"deploy: contracts already at {deployment.issuer_registry}")
    for country, (key_name, org, types) in DEMO_ISSUERS.items():
        account = keys.keystore_address(key_files[key_name])
        reg = deployment.issuer_registry_client(w3)
        if reg.key_info(account).store:
            continue
        admin = Transactor(w3, keys.load_key(key_files[f"{country.lower()}-admin"], secret))
        receipt = deployment.issuer_registry_client(w3, admin).register_authority(org, types, first_key=account)
        log(f"issuers: registered {org} ({country}), document store {reg.store_from(receipt)}, key {account}")
    register_customs_keys(w3, deployment, key_files, secret, log)
    return LocalSystem(data_dir=data_dir, rpc_url=info.rpc_url, deployment=deployment, key_files=key_files)


def register_customs_keys(w3: Web3, deployment: Deployment, key_files: dict[str, Path], secret: str, log=print) -> None:
    """Each demo customs key registered by its country's admin (once)."""
    reg = deployment.issuer_registry_client(w3)
    for country in DEMO_CUSTOMS:
        account = keys.keystore_address(key_files[f"{country.lower()}-customs"])
        if reg.is_customs_key_of(account, country):
            continue
        admin = Transactor(w3, keys.load_key(key_files[f"{country.lower()}-admin"], secret))
        deployment.issuer_registry_client(w3, admin).add_customs_key(account)
        log(f"customs: {country}'s customs key {account} registered by its admin")


def bring_down(data_dir: Path, log=print) -> None:
    if local.down(data_dir):
        log("node: stopped (state saved)")
    else:
        log("node: not running")


def issue_samples(data_dir: Path, url: str, keys: dict[str, str], count: int = 12, log=print) -> None:
    """Submit sample Form D certificates through the running service once (marker file in data_dir)."""
    import httpx

    from certnet.issuer import samples
    from certnet.issuer.envelope import network_block

    marker = data_dir / "samples-issued"
    if marker.is_file():
        return
    deployment = Deployment.load(deployment_file(data_dir))
    docs = []
    for doc in samples.generate(count, seed=2024, network=network_block(deployment), issuing_country="VN"):
        doc.pop("issuers", None)  # the service fills in its own issuer block
        docs.append(doc)
    r = httpx.post(
        f"{url}/v1/documents",
        json={"documents": docs},
        headers={"authorization": f"Bearer {keys['issuer-VN']}"},
        timeout=60,
    )
    r.raise_for_status()
    marker.write_text(json.dumps([d["id"] for d in r.json()["documents"]]))
    log(f"samples: {count} Form D certificates submitted by the VN issuer (anchored within seconds)")
