"""Offline verification's state part on anvil, which seals nothing: the maker's proof nodes at a block, and a
BundleSource over them whose header check is taken as done (tests/verifier/test_bundles_state.py, and the page's
JavaScript in tests/e2e/test_bundles_browser.py)."""

from __future__ import annotations

from eth_utils import keccak

from certnet.verifier.bundle import BundleSource, CheckedBundle, TrustRoot, store_code_hash
from certnet.verifier.bundle_maker import BundleMaker
from certnet.verifier.chainproof import CheckedChain, Header, ProvenState
from certnet.verifier.integrity import check_integrity


def queries(net, docs):
    out = []
    for d in docs:
        integ = check_integrity(d)
        if integ.ok:
            from certnet.verifier.salting import unsalt_data

            store = unsalt_data({"issuers": d["data"]["issuers"]})["issuers"][0]["documentStore"]
            out.append((store, integ.merkle_root, integ.target_hash, integ.proof))
    return out


def proven(net, queries, keys=()):
    """The maker's proof nodes at the current block and a ProvenState over them (no header check: anvil)."""
    w3 = net.engine.w3
    maker = BundleMaker(w3, net.deployment.issuer_registry)
    block = w3.eth.block_number
    nodes = maker._state(queries, keys, block)
    state_root = bytes(w3.eth.get_block(block)["stateRoot"])
    return block, ProvenState(state_root, [bytes.fromhex(n[2:]) for n in nodes]), nodes


def trust_root(net) -> TrustRoot:
    w3 = net.engine.w3
    reg = bytes.fromhex(net.deployment.issuer_registry[2:])
    impl = bytes.fromhex(net.registry().store_implementation()[2:])
    return TrustRoot(
        name=net.deployment.name,
        chain_id=w3.eth.chain_id,
        genesis_hash=bytes(32),
        engine="clique",
        validators=(bytes(20),),
        epoch=30000,
        period=0,
        registry=reg,
        registry_code_hash=keccak(bytes(w3.eth.get_code(net.deployment.issuer_registry))),
        store_implementation=impl,
        store_code_hash=store_code_hash(impl),
    )


def source(net, state: ProvenState, block: int) -> BundleSource:
    """A BundleSource over proven anvil state, its chain check replaced (anvil has no seals)."""
    w3 = net.engine.w3
    fields = [b"\0" * 32, b"\0" * 32, b"\0" * 20, state.state_root] + [b""] * 11
    fields[8] = block.to_bytes(4, "big").lstrip(b"\0")
    header = Header.from_fields(fields)
    src = BundleSource(None, trust_root(net))  # type: ignore[arg-type]
    chain = CheckedChain(header, [], [], 0)
    src._checked = CheckedBundle(None, src.trust, chain, bytes(w3.eth.get_block(block)["hash"]), state)  # type: ignore
    return src
