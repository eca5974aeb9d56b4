"""Gas report for an issuing authority's DocumentStore and the IssuerRegistry, on a real anvil node (or the
embedded engine with --embedded).

    python -m certnet.scripts.gas_report [--embedded] [--samples N]

Prints the gas used by: anchoring a batch root (with the registry's authorisation check), OpenAttestation
issue(root), revoking a root, revoking one document for Merkle proof depths 1..20, superseding a document, and
registering an authority (which creates its store, a minimal clone) with and without a first key. Each figure is
the median of N transactions on fresh random hashes and accounts. Goals: anchor <= 70k, single-document
revocation with a 10-step proof <= 80k, creating an authority's store <= 300k (OpenAttestation DocumentStore v4
on Cancun: issue about 48k, that revocation about 62k).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from eth_account import Account

from certnet.node.deploy import DeployConfig, Member, deploy
from certnet.node.engines import AnvilEngine, EmbeddedEngine, Engine
from certnet.node.tx import signer_for
from certnet.scripts.gas_customs import customs_rows
from certnet.verifier.merkle import combine

ANCHOR_GOAL = 70_000
REVOKE10_GOAL = 80_000
STORE_GOAL = 300_000


def _root_for(leaf: bytes, siblings: list[bytes]) -> bytes:
    node = leaf
    for s in siblings:
        node = combine(node, s)
    return node


def run(engine: Engine, samples: int) -> list[tuple[str, int]]:
    w3 = engine.w3
    funder = signer_for(w3, engine.keys[0])
    admin, key = Account.create(), Account.create()
    for a in (admin, key):
        funder.transfer(a.address, 10**21)
    d = deploy(w3, funder, DeployConfig("certnet gas report", [Member("VN", [admin.address])]))
    registry = d.issuer_registry_client(w3, signer_for(w3, admin))
    store_address = registry.store_from(
        registry.register_authority("VCCI Ho Chi Minh City", ["FORM_D", "ECERT"], first_key=key.address)
    )
    store = d.store_client(w3, store_address, signer_for(w3, key))

    def median(fn) -> int:
        return int(statistics.median(fn()["gasUsed"] for _ in range(samples)))

    rows: list[tuple[str, int]] = []
    rows.append(("anchor(root, type, count)", median(lambda: store.anchor(os.urandom(32), "FORM_D", 1000))))
    rows.append(("issue(root)  [OpenAttestation]", median(lambda: store.issue(os.urandom(32)))))

    def revoke_root():
        r = os.urandom(32)
        store.anchor(r, "FORM_D", 10)
        return store.revoke_root(r, "FRAUDULENT")

    rows.append(("revokeRoot(root, reason)", median(revoke_root)))
    for depth in range(1, 21):

        def revoke_doc(depth: int = depth):
            leaf = os.urandom(32)
            siblings = [os.urandom(32) for _ in range(depth)]
            root = _root_for(leaf, siblings)
            store.anchor(root, "FORM_D", 2**depth)
            return store.revoke_document(root, leaf, siblings, "DATA_CORRECTED")

        rows.append((f"revokeDocument, proof depth {depth}", median(revoke_doc)))

    def supersede():
        old_leaf, new_leaf = os.urandom(32), os.urandom(32)
        old_sib, new_sib = [os.urandom(32) for _ in range(10)], [os.urandom(32) for _ in range(10)]
        old_root, new_root = _root_for(old_leaf, old_sib), _root_for(new_leaf, new_sib)
        store.anchor(old_root, "FORM_D", 1024)
        store.anchor(new_root, "FORM_D", 1024)
        return store.supersede(old_root, old_leaf, old_sib, new_root, new_leaf, new_sib)

    rows.append(("supersede, two 10-step proofs", median(supersede)))
    rows.append(
        (
            "registerAuthority (creates its store), no key",
            median(lambda: registry.register_authority("VCCI Da Nang", ["FORM_D"])),
        )
    )
    rows.append(
        (
            "registerAuthority with a first key",
            median(lambda: registry.register_authority("VCCI Da Nang", ["FORM_D"], first_key=Account.create().address)),
        )
    )
    rows.append(("addKey", median(lambda: registry.add_key(store_address, Account.create().address))))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embedded", action="store_true", help="use the in-process engine instead of anvil")
    ap.add_argument("--samples", type=int, default=5)
    args = ap.parse_args()
    if args.embedded:
        engine: Engine = EmbeddedEngine()
    else:
        engine = AnvilEngine(Path(tempfile.mkdtemp(prefix="certnet-gas-"))).start()
    try:
        rows = run(engine, args.samples) + customs_rows(engine, args.samples)
    finally:
        engine.stop()
    print(f"gas used on {engine.name} (median of {args.samples})")
    width = max(len(r[0]) for r in rows)
    for label, gas in rows:
        print(f"  {label:<{width}}  {gas:>7,}")
    anchor = rows[0][1]
    revoke10 = dict(rows)["revokeDocument, proof depth 10"]
    print(f"goal anchor <= {ANCHOR_GOAL:,}: {'met' if anchor <= ANCHOR_GOAL else 'MISSED'} ({anchor:,})")
    print(
        f"goal 10-step revocation <= {REVOKE10_GOAL:,}: {'met' if revoke10 <= REVOKE10_GOAL else 'MISSED'} "
        f"({revoke10:,})"
    )
    created = max(gas for label, gas in rows if label.startswith("registerAuthority"))
    print(
        f"goal store creation <= {STORE_GOAL:,}: {'met' if created <= STORE_GOAL else 'MISSED'} "
        f"({created:,}, with a first key)"
    )


if __name__ == "__main__":
    main()
