"""Shared test helpers (chain)."""

from __future__ import annotations

import os

from eth_utils import function_signature_to_4byte_selector, keccak

from tests.conftest import Net


def h32() -> bytes:
    return os.urandom(32)


def merkle(leaves: list[bytes]) -> tuple[bytes, dict[bytes, list[bytes]]]:
    """The batch tree of the proof format (sorted pairs, an odd last node moves up): root and proofs."""
    proofs: dict[bytes, list[bytes]] = {leaf: [] for leaf in leaves}
    level = [(leaf, [leaf]) for leaf in sorted(leaves)]
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            if i + 1 == len(level):
                nxt.append(level[i])
                continue
            (a, la), (b, lb) = level[i], level[i + 1]
            for leaf in la:
                proofs[leaf].append(b)
            for leaf in lb:
                proofs[leaf].append(a)
            nxt.append((keccak(min(a, b) + max(a, b)), la + lb))
        level = nxt
    return level[0][0], proofs


def rpc(engine, method: str, params: list | None = None):
    resp = engine.w3.provider.make_request(method, params or [])
    assert not resp.get("error"), resp
    return resp["result"]


def assert_same(index_statuses, chain_statuses) -> None:
    assert len(index_statuses) == len(chain_statuses)
    for got, want in zip(index_statuses, chain_statuses, strict=True):
        for name in want.__dataclass_fields__:
            assert getattr(got, name) == getattr(want, name), (name, got, want)
        assert got == want


def register(net: Net, admin: str, name: str, types, key: str, **window) -> str:
    """A new authority of `admin`'s country with first key `key` (a new funded actor); returns its store."""
    net.new_actor(key)
    reg = net.registry(admin)
    store = reg.store_from(reg.register_authority(name, types, first_key=net.addr(key), **window))
    net.stores[name] = store
    return store


def client(net: Net, who: str, store: str):
    return net.deployment.store_client(net.engine.w3, store, net.actors[who])


def selector_xor(*signatures: str) -> bytes:
    acc = 0
    for sig in signatures:
        acc ^= int.from_bytes(function_signature_to_4byte_selector(sig), "big")
    return acc.to_bytes(4, "big")
