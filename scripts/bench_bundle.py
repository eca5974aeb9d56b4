"""Offline verification figures: bundle size for one document and per document of a batch, and documents verified
per second offline against a batch bundle (one process).

    python -m certnet.scripts.bench_bundle [--batch 1000]

Brings up a 4-validator geth Clique network on 127.0.0.1 in a temporary directory (about a minute), deploys the
contracts, anchors one batch of realistic Form D, makes the bundles from a node and verifies them with no network.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from eth_account import Account


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3, help="offline verification runs (the best is reported)")
    p.add_argument("--save", help="directory to keep the batch bundle, trust root and documents in")
    args = p.parse_args()

    from certnet.issuer import samples
    from certnet.issuer.envelope import issuer_block, network_block
    from certnet.node.deploy import DeployConfig, Member
    from certnet.node.network import GethNetwork, init_network
    from certnet.node.network.geth import wait_until
    from certnet.node.network.trust_root import trust_root
    from certnet.node.tx import Transactor
    from certnet.verifier.bundle import Bundle, TrustRoot, verify_with_bundle
    from certnet.verifier.bundle_maker import BundleMaker, queries_for
    from certnet.verifier.wrap import wrap_documents

    with tempfile.TemporaryDirectory(prefix="certnet-bench-bundle-") as tmp:
        d = Path(tmp) / "net"
        init_network(d, validators=4, engine="geth", period=1)
        net = GethNetwork(d)
        try:
            net.up(timeout=120)
            w3 = net.w3(0)
            deployer = Transactor(w3, net.deployer_key())
            admin, issuer = Transactor(w3, Account.create()), Transactor(w3, Account.create())
            for t in (admin, issuer):
                deployer.transfer(t.address, 10 * 10**18)
            dep = net.deploy(DeployConfig("bench", [Member("VN", [admin.address])]), signer=deployer)
            dep.save(d / "deployment.json")
            reg = dep.issuer_registry_client(w3, admin)
            store = reg.store_from(
                reg.register_authority("VCCI Ho Chi Minh City", ["FORM_D"], first_key=issuer.address)
            )
            raws = list(
                samples.generate(
                    args.batch,
                    seed=1,
                    issuer_block=issuer_block(dep, "VCCI", store),
                    network=network_block(dep),
                    issuing_country="VN",
                )
            )
            root, docs = wrap_documents(raws)
            dep.store_client(w3, store, issuer).anchor(root, "FORM_D", len(docs))
            head = w3.eth.block_number
            wait_until(lambda: w3.eth.block_number >= head + 4, 60, "blocks over the anchor")
            maker = BundleMaker(w3, dep.issuer_registry, name=dep.name)
            trust = TrustRoot.from_json(trust_root(d))
            q, s, _ = queries_for(docs[:1])
            one = maker.make(q, signers=s)
            t0 = time.perf_counter()
            q, s, _ = queries_for(docs)
            batch = maker.make(q, signers=s)
            made = time.perf_counter() - t0
        finally:
            net.down()
    if args.save:
        out = Path(args.save)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bundle.json").write_text(json.dumps(batch))
        (out / "trust-root.json").write_text(json.dumps(trust.to_json()))
        (out / "documents.json").write_text(json.dumps(docs))
    size_one = len(json.dumps(one).encode())
    size_batch = len(json.dumps(batch).encode())
    best = None
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        verdicts = verify_with_bundle(docs, Bundle.from_json(batch), trust)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
        assert all(v.status == "VALID" for v in verdicts), {v.status for v in verdicts}
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(
        f"bundle for one document: {size_one:,} bytes ({len(one['headers'])} headers, {len(one['nodes'])} trie nodes)"
    )
    print(
        f"bundle for a batch of {len(docs):,}: {size_batch:,} bytes = {size_batch / len(docs):,.0f} bytes per document "
        f"({len(batch['nodes'])} trie nodes; made in {made:.1f} s)"
    )
    print(
        f"offline verification of the batch: {best:.2f} s = {len(docs) / best:,.0f} documents/s (one process, "  # type: ignore[operator]  # set by the rounds (at least one)
        "integrity, seals, proofs and judging)"
    )


if __name__ == "__main__":
    main()
