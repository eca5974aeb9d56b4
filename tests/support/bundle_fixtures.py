"""The 4-validator geth Clique network of the bundle tests, shared by tests/verifier/test_bundles_geth.py and
tests/e2e/test_bundles_browser.py (registered in tests/conftest.py): one network per session, since bringing one up
is slow on two cores. `Chain` deploys the contracts and issues a batch; `bundle_cases` makes, on a batch of its
own, the files both the CLI and the browser check (VALID, REVOKED, an old bundle, forged and tampered ones, another
network's trust root). Both FAIL when geth is not installed."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from certnet.issuer import samples
from certnet.issuer.envelope import issuer_block, network_block
from certnet.node.deploy import DeployConfig, Member
from certnet.node.network import GethNetwork, init_network
from certnet.node.network.geth import geth_binary, wait_until
from certnet.node.network.trust_root import trust_root as trust_root_from_files
from certnet.node.tx import Transactor
from certnet.verifier.bundle_maker import BundleMaker, queries_for
from certnet.verifier.chainproof import Header, clique_seal, clique_signer
from certnet.verifier.integrity import check_integrity
from certnet.verifier.wrap import wrap_documents

#: a short epoch, so that checkpoints come quickly
EPOCH = 24


@pytest.fixture(scope="session")
def bundle_net(tmp_path_factory: pytest.TempPathFactory) -> GethNetwork:
    geth_binary()
    directory = tmp_path_factory.mktemp("bundles") / "net"
    init_network(directory, validators=4, engine="geth", period=1, epoch=EPOCH)
    network = GethNetwork(directory)
    try:
        network.up(timeout=90)
        yield network
    finally:
        from tests.support.consortium_fixtures import processes_using  # (it imports tests.conftest, which imports this)

        network.down()
        assert processes_using(network.directory) == []


class Chain:
    """The deployed contracts, one authority, a first batch of three documents and a bundle maker."""

    def __init__(self, net: GethNetwork) -> None:
        self.net = net
        w3 = net.w3(0)
        self.w3 = w3
        deployer = Transactor(w3, net.deployer_key())
        self.admin = Transactor(w3, Account.create())
        self.issuer = Transactor(w3, Account.create())
        for t in (self.admin, self.issuer):
            deployer.transfer(t.address, 10 * 10**18)
        config = DeployConfig(
            name="certnet bundle test", members=[Member("VN", [self.admin.address]), Member("TH", [deployer.address])]
        )
        self.deployment = net.deploy(config, node=0, signer=deployer)
        self.deployment.save(net.directory / "deployment.json")
        reg = self.deployment.issuer_registry_client(w3, self.admin)
        self.store = reg.store_from(
            reg.register_authority("VCCI Ho Chi Minh City", ["FORM_D"], first_key=self.issuer.address)
        )
        self.root, self.docs = self.issue(3, seed=5)
        self.maker = BundleMaker(w3, self.deployment.issuer_registry, name=self.deployment.name)
        self.keys = {a.address: a.key for a in (net.validator_key(i) for i in range(4))}
        self.trust = trust_root_from_files(net.directory)
        self.saved: dict[str, dict] = {}

    def issue(self, n: int, seed: int) -> tuple[str, list[dict]]:
        """A new batch of `n` Form D documents, anchored: (root, wrapped documents)."""
        block = issuer_block(self.deployment, "VCCI Ho Chi Minh City", self.store)
        raws = list(
            samples.generate(
                n, seed=seed, issuer_block=block, network=network_block(self.deployment), issuing_country="VN"
            )
        )
        root, docs = wrap_documents(raws)
        self.deployment.store_client(self.w3, self.store, self.issuer).anchor(root, "FORM_D", len(docs))
        return root, docs

    def revoke(self, root: str, doc: dict, reason: str = "FRAUDULENT") -> None:
        integ = check_integrity(doc)
        self.deployment.store_client(self.w3, self.store, self.issuer).revoke_document(
            root, integ.target_hash, integ.proof, reason
        )

    def bundle(self, docs: list, **kw: Any) -> dict:
        queries, signers, _ = queries_for(docs)
        head = self.w3.eth.block_number
        wait_until(lambda: self.w3.eth.block_number >= head + 3, 30, "three more blocks")
        return self.maker.make(queries, signers=signers, **kw)


@pytest.fixture(scope="session")
def bundle_chain(bundle_net: GethNetwork) -> Chain:
    return Chain(bundle_net)


# ------------------------------------------------------------------ forging helpers


def flip(hexstr: str, i: int) -> str:
    """`hexstr` (0x...) with one bit of byte `i` flipped."""
    raw = bytearray(bytes.fromhex(hexstr[2:]))
    raw[i] ^= 0x01
    return "0x" + raw.hex()


def checksum(a: bytes) -> str:
    return to_checksum_address(a)


def reseal(chain: Chain, headers: list[str], index: int, key: bytes) -> list[str]:
    """Headers with header `index` resealed by `key`, and the ones after it re-linked and resealed by their own
    signers (the forger is assumed to hold every validator key: only the validator-set rules can refuse it)."""
    parsed = [Header.decode(bytes.fromhex(h[2:])) for h in headers]
    signers = [clique_signer(h) for h in parsed]
    out = parsed[:index] + [clique_seal(parsed[index], key)]
    for j in range(index + 1, len(parsed)):
        h = parsed[j]
        if h.number == out[-1].number + 1:
            h = h.replace(parentHash=out[-1].hash)
        out.append(clique_seal(h, chain.keys[checksum(signers[j])]))
    return ["0x" + h.raw.hex() for h in out]


def target_index(bundle: dict) -> int:
    return [Header.decode(bytes.fromhex(h[2:])).number for h in bundle["headers"]].index(bundle["block"])


def other_network_trust_root(chain: Chain, directory: Path, same_chain_id: bool = False) -> dict:
    """The trust root of another network (its own genesis and validators; the same chain id if asked)."""
    init_network(directory, validators=4, engine="geth", period=1, chain_id=48484)
    dep = json.loads((chain.net.directory / "deployment.json").read_text())
    dep["chain_id"] = 48484
    (directory / "deployment.json").write_text(json.dumps(dep))
    trust = trust_root_from_files(directory)
    if same_chain_id:
        trust["network"]["chainId"] = chain.trust["network"]["chainId"]
    return trust


# ------------------------------------------------------------------ the cases the CLI and the browser both check


@dataclass
class BundleCase:
    """Documents, a bundle and a trust root to verify, with what must (or must not) come out."""

    name: str
    docs: list[dict]
    bundle: dict
    trust: dict
    expect: list[str] | None = None  # the statuses, or None: anything but VALID
    max_age: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session")
def bundle_cases(bundle_chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, BundleCase]:
    """The cases of tests/verifier/test_bundles_geth.py on a batch of their own (so that they hold whatever that
    module did to its batch before): VALID, REVOKED after a revocation, the old bundle still VALID as of its block
    (and ERROR once older than the allowed age), tampered header / seal / proof node / trust root / document, a
    header sealed by a non-validator, another network."""
    chain = bundle_chain
    root, docs = chain.issue(3, seed=77)
    valid = chain.bundle(docs)
    chain.revoke(root, docs[1])
    revoked = chain.bundle(docs)
    trust = chain.trust
    cases = [
        BundleCase("valid", docs, valid, trust, ["VALID"] * 3),
        BundleCase("revoked", docs, revoked, trust, ["VALID", "REVOKED", "VALID"]),
        BundleCase("old", docs, valid, trust, ["VALID"] * 3, extra={"newer": revoked["block"]}),
        BundleCase("old-too-old", docs, valid, trust, ["ERROR"] * 3, max_age=0),
        BundleCase("revoked-too-old", docs, revoked, trust, ["ERROR", "REVOKED", "ERROR"], max_age=0),
    ]
    t = target_index(valid)
    h = valid["headers"][t]
    b = copy.deepcopy(valid)
    b["headers"][t] = flip(h, 3 + 32 * 3 + 5)  # inside the state root
    cases.append(BundleCase("header-state-root", docs, b, trust))
    raw = bytes.fromhex(h[2:])
    extra = Header.decode(raw).extra
    b = copy.deepcopy(valid)
    b["headers"][t] = flip(h, raw.find(extra) + len(extra) - 20)  # inside the seal (the end of extraData)
    cases.append(BundleCase("seal", docs, b, trust))
    for ni in (0, len(valid["nodes"]) // 2, len(valid["nodes"]) - 1):
        b = copy.deepcopy(valid)
        b["nodes"][ni] = flip(valid["nodes"][ni], 9)
        cases.append(BundleCase(f"proof-node-{ni}", docs, b, trust))
    for path in (
        ("network", "genesisHash"),
        ("issuerRegistry", "codeHash"),
        ("issuerRegistry", "storeCodeHash"),
    ):
        tr = copy.deepcopy(trust)
        node = tr
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = flip(node[path[-1]], 5)
        cases.append(BundleCase("trust-" + ".".join(map(str, path)), docs, valid, tr))
    # two of the four validators' addresses changed: the other two are no majority to vouch for the headers. (One
    # changed, or the list cut to two, can rightly still check: when the headers start at an epoch checkpoint, a
    # majority of the genuine validators the trust root still names vouches for them.)
    tr = copy.deepcopy(trust)
    for i in (0, 1):
        tr["consensus"]["validators"][i] = checksum(bytes.fromhex(flip(tr["consensus"]["validators"][i], 5)[2:]))
    cases.append(BundleCase("trust-two-validators-changed", docs, valid, tr))
    d = copy.deepcopy(docs[0])
    d["data"]["referenceNumber"] = d["data"]["referenceNumber"][:-1] + "X"
    cases.append(BundleCase("document", [d], valid, trust, ["TAMPERED"]))
    b = copy.deepcopy(valid)
    b["headers"] = reseal(chain, valid["headers"], t, Account.create().key)
    cases.append(BundleCase("non-validator-seal", docs[:1], b, trust, ["ERROR"]))
    other = tmp_path_factory.mktemp("other-network")
    cases.append(
        BundleCase("other-network", docs, valid, other_network_trust_root(chain, other / "a"), ["WRONG_NETWORK"] * 3)
    )
    cases.append(
        BundleCase(
            "other-genesis-same-chain-id",
            docs,
            valid,
            other_network_trust_root(chain, other / "b", same_chain_id=True),
            ["WRONG_NETWORK"] * 3,
        )
    )
    return {c.name: c for c in cases}


# ------------------------------------------------------------------ Clique headers built here (no node)


def clique_chain(keys: list, length: int, epoch: int, drop_at: int, t0: int = 1000) -> tuple[bytes, list[Header]]:
    """`length` Clique headers after a made-up genesis, each sealed by the signer in turn: the blocks from `drop_at`
    on carry votes to drop the last of `keys` until a majority has voted it out, and every `epoch`-th block is a
    checkpoint listing the signers then. Returns (genesis hash, headers)."""
    from certnet.verifier.chainproof import EMPTY_TRIE_ROOT, EMPTY_UNCLE_HASH, EXTRA_SEAL, EXTRA_VANITY

    genesis = bytes.fromhex("11" * 32)
    signers = sorted(keys, key=lambda a: a.address.lower())
    dropped = signers[-1]
    votes: set[str] = set()
    parent, out = genesis, []
    for n in range(1, length + 1):
        signer = signers[n % len(signers)]
        checkpoint = n % epoch == 0
        vote = not checkpoint and n >= drop_at and dropped in signers and signer.address not in votes
        listed = b"".join(bytes.fromhex(a.address[2:]) for a in signers) if checkpoint else b""
        fields = [
            parent,
            EMPTY_UNCLE_HASH,
            bytes.fromhex(dropped.address[2:]) if vote else b"\0" * 20,
            keccak_of(b"state%d" % n),
            EMPTY_TRIE_ROOT,
            EMPTY_TRIE_ROOT,
            b"\0" * 256,
            b"\x02",  # in turn
            n.to_bytes(2, "big").lstrip(b"\0"),
            b"\x01\xc9\xc3\x80",
            b"",
            (t0 + n).to_bytes(4, "big"),
            b"\0" * EXTRA_VANITY + listed + b"\0" * EXTRA_SEAL,
            b"\0" * 32,
            b"\0" * 8,
            b"\x07",
        ]
        h = clique_seal(Header.from_fields(fields), signer.key)
        out.append(h)
        if vote:
            votes.add(signer.address)
            if len(votes) > len(signers) // 2:
                signers = [a for a in signers if a is not dropped]
        parent = h.hash
    return genesis, out


def keccak_of(data: bytes) -> bytes:
    from certnet.verifier.merkle import keccak256

    return keccak256(data)
