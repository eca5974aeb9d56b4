"""Bundles served by the API (api/routes_bundles.py) on a real 4-validator geth Clique network and a real service:
a bundle fetched for a document this service issued (by targetHash, by batch, or posted) verifies offline with
`certnet verify --bundle` (no node), VALID, and REVOKED once the document is revoked; unknown documents and
batches give 404, a store that is not the batch's 404, nothing provable 422; the bundle echoes no content.

FAILS when geth is not installed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import uvicorn
from eth_account import Account

from certnet.api.app import create_app
from certnet.api.auth import create_api_key
from certnet.api.service import Service, Settings
from certnet.api.serving import uvicorn_config
from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from certnet.node.deploy import DeployConfig, Member
from certnet.node.keys import create_keystore
from certnet.node.network import GethNetwork, init_network
from certnet.node.network.geth import geth_binary
from certnet.node.network.trust_root import trust_root as trust_root_from_files
from certnet.node.tx import Transactor
from tests.conftest import TEST_SCRYPT_N
from tests.support.api_fixtures import _free_port, stop_api, wait_answering, wait_until
from tests.support.consortium_fixtures import processes_using

pytestmark = [pytest.mark.timeout(420), pytest.mark.integration]
PASS = "bundle-api-passphrase"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    geth_binary()
    tmp = tmp_path_factory.mktemp("bundles_api")
    init_network(tmp / "net", validators=4, engine="geth", period=1, epoch=24)
    net = GethNetwork(tmp / "net")
    server = thread = None
    try:
        net.up(timeout=90)
        w3 = net.w3(0)
        deployer = Transactor(w3, net.deployer_key())
        admin, issuer = Account.create(), Account.create()
        for a in (admin, issuer):
            deployer.transfer(a.address, 10 * 10**18)
        deployment = net.deploy(
            DeployConfig(
                name="certnet bundle api test",
                members=[Member("VN", [admin.address]), Member("TH", [deployer.address])],
            ),
            node=0,
            signer=deployer,
        )
        reg = deployment.issuer_registry_client(w3, Transactor(w3, admin))
        store = reg.store_from(reg.register_authority("VCCI Ho Chi Minh City", ["FORM_D"], first_key=issuer.address))
        deployment.save(tmp / "deployment.json")
        deployment.save(net.directory / "deployment.json")  # what the trust root is computed from
        create_keystore(tmp / "issuer.json", PASS, issuer.key, scrypt_n=TEST_SCRYPT_N)
        service = Service(
            Settings(
                data_dir=tmp,
                rpc_url=net.rpc_url(0),
                deployment_file=tmp / "deployment.json",
                issuer_keystores=[tmp / "issuer.json"],
                admin_keystores=[],
                passphrase=PASS,
                db_url=f"sqlite:///{tmp / 'certnet.db'}",
                max_batch_age=0.2,
                rate_per_second=1000.0,
                rate_burst=2000,
            )
        )
        keys = {
            "issuer": create_api_key(service.sessions, "vn issuer", "issuer", "VN", issuer.address)[0],
            "customs": create_api_key(service.sessions, "th customs", "customs", "TH")[0],
        }
        port = _free_port()
        server = uvicorn.Server(uvicorn_config(create_app(service), "127.0.0.1", port))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        wait_answering(url, server, thread)
        yield {"url": url, "keys": keys, "net": net, "store": store, "deployment": deployment, "tmp": tmp}
    finally:
        if server is not None:
            stop_api(server, thread)
        net.down()
        assert processes_using(net.directory) == []


def client(s: dict, who: str) -> httpx.Client:
    return httpx.Client(base_url=s["url"], headers={"authorization": f"Bearer {s['keys'][who]}"}, timeout=120)


def verify_cli(tmp: Path, doc: dict, bundle: dict, trust: dict, name: str) -> dict:
    (tmp / f"{name}.doc.json").write_text(json.dumps(doc))
    (tmp / f"{name}.bundle.json").write_text(json.dumps(bundle))
    (tmp / "trust.json").write_text(json.dumps(trust))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "certnet.cli.main",
            "verify",
            str(tmp / f"{name}.doc.json"),
            "--bundle",
            str(tmp / f"{name}.bundle.json"),
            "--trust-root",
            str(tmp / "trust.json"),
            "--json",
            "--deployment",
            str(tmp / "nowhere.json"),
            "--rpc",
            "http://127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout, out.stderr
    return json.loads(out.stdout)


def test_served_bundles_verify_offline(served: dict, tmp_path: Path) -> None:
    trust = trust_root_from_files(served["net"].directory)
    raws = list(samples.generate(2, seed=11, network=network_block(served["deployment"]), issuing_country="VN"))
    for d in raws:
        d.pop("issuers")
    with client(served, "issuer") as c:
        r = c.post("/v1/documents", json={"documents": raws})
        assert r.status_code in (201, 202), r.text
        ids = [d["id"] for d in r.json()["documents"]]

        def anchored() -> list[dict] | None:
            states = [c.get(f"/v1/documents/{i}").json() for i in ids]
            return states if all(s["state"] == "ANCHORED" for s in states) else None

        states = wait_until(anchored, timeout=120)
    wrapped = [c for c in (s["wrapped"] for s in states)]
    th = wrapped[0]["signature"]["targetHash"]
    root = wrapped[0]["signature"]["merkleRoot"]
    with client(served, "customs") as c:
        head = served["net"].w3(0).eth.block_number
        wait_until(lambda: served["net"].w3(0).eth.block_number >= head + 4, timeout=60)
        by_doc = c.get(f"/v1/bundles/documents/0x{th}")
        assert by_doc.status_code == 200, by_doc.text
        bundle = by_doc.json()
        assert bundle["format"] == "certnet-bundle" and bundle["documents"][0]["document"] == "0x" + th
        # hashes and proofs only: the schema's keys, no reference number, no party's name
        assert set(bundle) == {
            "format",
            "version",
            "network",
            "engine",
            "issuerRegistry",
            "block",
            "headers",
            "nodes",
            "documents",
            "createdAt",
        }
        for secret in (raws[0]["referenceNumber"], raws[0]["exporter"]["name"], raws[0]["consignee"]["name"]):
            assert secret not in by_doc.text
        res = verify_cli(tmp_path, wrapped[0], bundle, trust, "doc")
        assert res["status"] == "VALID", res
        by_batch = c.get(f"/v1/bundles/batches/{served['store']}/{root}")
        assert by_batch.status_code == 200, by_batch.text
        assert sorted(d["document"] for d in by_batch.json()["documents"]) == sorted(
            "0x" + w["signature"]["targetHash"] for w in wrapped
        )
        for i, w in enumerate(wrapped):
            assert verify_cli(tmp_path, w, by_batch.json(), trust, f"batch{i}")["status"] == "VALID"
        posted = c.post("/v1/bundles", json={"documents": [wrapped[1]]})
        assert posted.status_code == 200, posted.text
        assert raws[1]["referenceNumber"] not in posted.text and raws[1]["exporter"]["name"] not in posted.text
        assert verify_cli(tmp_path, wrapped[1], posted.json(), trust, "posted")["status"] == "VALID"
        # the wrong store for a batch, unknown ones, nothing provable
        r = c.get(f"/v1/bundles/batches/0x{'56' * 20}/{root}")
        assert r.status_code == 404 and r.json()["code"] == "BATCH_NOT_FOUND"
        r = c.get(f"/v1/bundles/documents/{'ab' * 32}")
        assert r.status_code == 404 and r.json()["code"] == "DOCUMENT_NOT_FOUND"
        tampered = json.loads(json.dumps(wrapped[0]))
        tampered["signature"]["targetHash"] = "00" * 32
        r = c.post("/v1/bundles", json={"documents": [tampered]})
        assert r.status_code == 422 and r.json()["code"] == "NO_DOCUMENT_TO_PROVE", r.text
    # revoked: a bundle fetched after the revocation gives REVOKED offline; the old one still VALID as of its block
    with client(served, "issuer") as c:
        r = c.post(f"/v1/documents/{ids[0]}/revoke", json={"reason": "DUPLICATE"})
        assert r.status_code in (200, 202), r.text

        def revoked() -> bool:
            return (
                c.get(f"/v1/documents/{ids[0]}").json().get("state") == "REVOKED"
                or c.post("/v1/verify", json={"document": wrapped[0]}).json()["status"] == "REVOKED"
            )

        wait_until(revoked, timeout=120)
    with client(served, "customs") as c:

        def fresh_bundle() -> dict | None:
            r = c.get(f"/v1/bundles/documents/{th}")
            assert r.status_code == 200, r.text
            res = verify_cli(tmp_path, wrapped[0], r.json(), trust, "revoked")
            return res if res["status"] == "REVOKED" else None

        res = wait_until(fresh_bundle, timeout=120, interval=1)
        assert res["status"] == "REVOKED"
    assert verify_cli(tmp_path, wrapped[0], bundle, trust, "old")["status"] == "VALID"


def test_a_chain_without_seals_gives_503(anvil_engine, tmp_path_factory: pytest.TempPathFactory) -> None:
    """anvil seals nothing: the service says why it cannot give a bundle, naming the missing seals."""
    from tests.conftest import make_net
    from tests.support.api_fixtures import form_ds, issue, start_api

    net = make_net(anvil_engine)
    api, server, thread = start_api(net, tmp_path_factory.mktemp("api_anvil"))
    try:
        states = issue(api, "issuer_vn", form_ds(api, 1, seed=3))
        with api.client("auditor_vn") as c:
            r = c.get(f"/v1/bundles/documents/{states[0]['targetHash']}")
            assert r.status_code == 503 and r.json()["code"] == "BUNDLE_UNAVAILABLE", r.text
            assert "not sealed by validators" in r.json()["detail"]
            r = c.post("/v1/bundles", json={"documents": [states[0]["wrapped"]] * 1001})
            assert r.status_code == 413 and r.json()["code"] == "TOO_MANY_DOCUMENTS", r.text
    finally:
        stop_api(server, thread)
