"""The consortium at service level: four member countries (VN, TH, MY, SG), each with its own geth Clique
validator (1-second blocks), its own certnet service over real HTTP and its own SQLite index, every reader
at confirmation depth 2.

The story, in file order (one network and four services for the module; every wait is bounded):
VN's issuing authority issues through VN's service and node; TH's customs verifies through TH's service
(chain and index); TH registers the certificate in its inbox and subscribes a webhook; VN revokes; TH's
receiver gets the signed notice within seconds and TH's verdict turns REVOKED. Then VN's node goes down:
VN's service turns not ready, the other three validators keep sealing, TH keeps verifying, and what VN's
service accepts meanwhile (documents and a revocation) is anchored after the node comes back. Then a 3+1
partition with documents issued on the majority side: after healing every member's index has them.
At the end every service and every geth process is stopped.

FAILS (never skips) when geth 1.13.15 is not installed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from tests.support.consortium_fixtures import (
    CONFIRMATIONS,
    MEMBERS,
    VALIDATORS,
    VN_ISSUER_NAME,
    Consortium,
    Receiver,
    port_open,
    processes_using,
    start_consortium,
    wait_for,
)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def story() -> dict[str, Any]:
    """What earlier steps leave for later ones (documents, actions, the TH receiver)."""
    return {}


@pytest.fixture(scope="module")
def cons(tmp_path_factory: pytest.TempPathFactory, story: dict[str, Any]) -> Consortium:
    c = start_consortium(tmp_path_factory.mktemp("consortium"))
    try:
        yield c
    finally:
        receiver = story.get("receiver")
        if receiver is not None:
            receiver.close()
        c.close()


# ------------------------------------------------------------------ helpers


def submit(cons: Consortium, docs: list[dict]) -> list[int]:
    with cons["VN"].client("issuer_vn") as c:
        r = c.post("/v1/documents", json={"documents": docs})
        assert r.status_code == 202, r.text
        return [d["id"] for d in r.json()["documents"]]


def states(cons: Consortium, ids: list[int]) -> list[dict]:
    with cons["VN"].client("issuer_vn", timeout=30) as c:
        out = []
        for i in ids:
            r = c.get(f"/v1/documents/{i}")
            assert r.status_code == 200, r.text
            out.append(r.json())
        return out


def wait_anchored(cons: Consortium, ids: list[int], timeout: float = 60) -> list[dict]:
    return wait_for(
        lambda: (s := states(cons, ids)) and all(d["state"] == "ANCHORED" for d in s) and s,
        timeout,
        f"VN's documents {ids} to be anchored",
    )


def verify(cons: Consortium, country: str, document: dict, mode: str) -> dict:
    with cons[country].client(f"customs_{country.lower()}") as c:
        r = c.post(f"/v1/verify?mode={mode}", json={"document": document})
        assert r.status_code == 200, r.text
        return r.json()


def wait_verdict(cons: Consortium, country: str, document: dict, mode: str, status: str, timeout: float = 30) -> dict:
    last: dict[str, Any] = {}

    def check() -> dict | None:
        v = verify(cons, country, document, mode)
        last["v"] = v
        return v if v["status"] == status else None

    try:
        return wait_for(check, timeout, f"{country}'s {mode} verdict to be {status}")
    except AssertionError as exc:
        v = last.get("v") or {}
        raise AssertionError(
            f"{exc}; last verdict {v.get('status')}: {v.get('message')} at block {v.get('blockNumber')}"
        ) from None


def revoke(cons: Consortium, doc_id: int, reason: str) -> dict:
    with cons["VN"].client("issuer_vn") as c:
        r = c.post(f"/v1/documents/{doc_id}/revoke", json={"reason": reason})
        assert r.status_code == 202, r.text
        return r.json()


def action(cons: Consortium, action_id: int) -> dict:
    with cons["VN"].client("issuer_vn", timeout=30) as c:
        return c.get(f"/v1/actions/{action_id}").json()


def assert_at_depth(cons: Consortium, country: str, verdict: dict) -> None:
    """The verdict names a block at least CONFIRMATIONS below the member's node head, on that node's chain."""
    node = cons[country].node
    head = cons.net.block_number(node)
    assert verdict["chainId"] == cons.deployment.chain_id
    assert verdict["blockNumber"] <= head - CONFIRMATIONS, (verdict["blockNumber"], head)
    assert verdict["blockHash"] == cons.net.block_hash(node, verdict["blockNumber"])


# ------------------------------------------------------------------ the consortium


def test_four_members_each_with_its_node_service_and_index(cons: Consortium) -> None:
    net = cons.net
    net.wait_connected(timeout=30)
    wait_for(
        lambda: all(s.sealing and s.peers == VALIDATORS - 1 for s in net.status()),
        30,
        "every validator to seal with three peers",
    )
    assert sorted(net.validators(0)) == sorted(n.validator for n in net.nodes)
    databases = set()
    for i, cc in enumerate(MEMBERS):
        m = cons[cc]
        assert m.node == i and m.service.settings.rpc_url == net.rpc_url(i)
        assert m.service.settings.confirmations == CONFIRMATIONS
        assert m.service.indexer.confirmations == CONFIRMATIONS
        databases.add(m.service.settings.db_url)
        ready = wait_for(lambda m=m: (r := m.readyz()).status_code == 200 and r, 30, f"{cc}'s service to be ready")
        checks = ready.json()["checks"]
        assert checks["chain"]["chainId"] == cons.deployment.chain_id and checks["index"]["ok"]
        with m.client(f"customs_{cc.lower()}") as c:
            members = c.get("/v1/members").json()
            assert sorted(x["country"] for x in members) == sorted(MEMBERS)
            assert all(x["active"] and x["adminCount"] == 1 for x in members)
            authorities = c.get("/v1/authorities?country=VN").json()
            assert [(x["store"], x["name"]) for x in authorities] == [(cons.vn_store, VN_ISSUER_NAME)]
            assert c.get(f"/v1/issuers/{cons.vn_issuer.address}").json()["status"] == "ACTIVE"
        assert list(m.service.admins) == [cc]
    assert len(databases) == len(MEMBERS)
    # only VN's service holds an issuer key
    assert [cc for cc in MEMBERS if cons[cc].service.pipeline.signers] == ["VN"]


def test_vn_issues_th_verifies_on_chain_and_in_its_index(cons: Consortium, story: dict[str, Any]) -> None:
    ids = submit(cons, cons.form_ds(4, seed=101))
    docs = wait_anchored(cons, ids)
    vn_head = cons.head("VN")
    for d in docs:
        assert d["wrapped"] and d["transactionHash"] and d["blockNumber"]
        # VN's service calls a batch anchored only at the confirmation depth, on its own node
        assert vn_head - d["blockNumber"] >= CONFIRMATIONS, (vn_head, d["blockNumber"])
    receipt = cons.net.w3(0).eth.get_transaction_receipt(docs[0]["transactionHash"])
    assert receipt["from"] == cons.vn_issuer.address and receipt["status"] == 1
    story["docs"] = docs

    for d in docs:
        v = wait_verdict(cons, "TH", d["wrapped"], "chain", "VALID", timeout=20)
        assert v["source"] == "chain" and v["issuer"]["country"] == "VN"
        assert v["issuer"]["address"] == cons.vn_issuer.address and v["issuer"]["name"] == VN_ISSUER_NAME
        assert v["blockNumber"] >= d["blockNumber"]
        assert_at_depth(cons, "TH", v)
        assert {c["type"]: c["status"] for c in v["checks"]}.items() >= {
            "DOCUMENT_INTEGRITY": "VALID",
            "DOCUMENT_STATUS": "VALID",
            "ISSUER_IDENTITY": "VALID",
        }.items()
    # TH's own index follows TH's node
    for d in docs:
        v = wait_verdict(cons, "TH", d["wrapped"], "index", "VALID", timeout=20)
        assert v["source"] == "index" and v["issuer"]["country"] == "VN"
        assert v["blockNumber"] >= d["blockNumber"]
        assert_at_depth(cons, "TH", v)
    with cons["TH"].client("customs_th") as c:
        bulk = c.post("/v1/verify/bulk?mode=index", json={"documents": [d["wrapped"] for d in docs]}).json()
        assert bulk["counts"] == {"VALID": len(docs)}
    # a tampered copy is caught by TH just the same
    forged = json.loads(json.dumps(docs[0]["wrapped"]))
    forged["data"]["referenceNumber"] = forged["data"]["referenceNumber"][:-1] + "9"
    assert verify(cons, "TH", forged, "chain")["status"] == "TAMPERED"


def test_th_customs_is_told_of_vn_revocation_within_seconds(cons: Consortium, story: dict[str, Any]) -> None:
    docs = story["docs"]
    th_node = cons["TH"].node
    receiver = Receiver(on_call=lambda: cons.net.block_number(th_node))
    story["receiver"] = receiver
    with cons["TH"].client("customs_th") as c:
        r = c.post("/v1/subscriptions", json={"url": receiver.url})
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        story["secret"] = secret
        for k, d in enumerate(docs[:2]):  # docs[1] is revoked later, during VN's outage
            entry = c.post("/v1/inbox", json={"document": d["wrapped"], "nswReference": f"TH-NSW-{k:04d}"})
            assert entry.status_code == 201, entry.text
            assert entry.json()["statusOnArrival"] == "VALID" and entry.json()["issuingCountry"] == "VN"
        inbox = c.get("/v1/inbox").json()
        assert {e["targetHash"] for e in inbox} == {d["targetHash"] for d in docs[:2]}

    doc = docs[0]
    started = time.monotonic()
    act = revoke(cons, doc["id"], "FRAUDULENT")
    call = wait_for(lambda: receiver.call_for(doc["targetHash"]), 30, "TH's webhook receiver to be told")
    headers, body, arrived, th_head = call
    elapsed = arrived - started
    assert elapsed < 15, f"the revocation notice took {elapsed:.1f}s"
    assert headers["x-certnet-event"] == "REVOKED"
    assert headers["x-certnet-signature"] == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    payload = json.loads(body)
    assert payload["targetHash"] == doc["targetHash"] and payload["root"] == doc["merkleRoot"]
    assert payload["reason"] == "FRAUDULENT" and payload["referenceNumber"] == doc["referenceNumber"]
    assert payload["wholeBatch"] is False
    # TH's service told its customs only once the revocation was CONFIRMATIONS deep on TH's node
    assert isinstance(th_head, int) and th_head - payload["block"] >= CONFIRMATIONS, (th_head, payload["block"])
    print(f"\nrevocation notice: {elapsed:.1f}s from VN's revoke request to TH's receiver")

    done = wait_for(lambda: (a := action(cons, act["id"]))["state"] == "DONE" and a, 30, "VN's revocation to be DONE")
    assert done["transactionHash"] == payload["tx"] and done["blockNumber"] == payload["block"]
    for mode in ("chain", "index"):
        v = wait_verdict(cons, "TH", doc["wrapped"], mode, "REVOKED", timeout=20)
        assert v["revocation"]["reason"] == "FRAUDULENT"
        assert_at_depth(cons, "TH", v)
    with cons["TH"].client("customs_th") as c:
        looked = c.get(f"/v1/certificates/VN/{doc['referenceNumber']}").json()
        assert looked["verdict"]["status"] == "REVOKED" and looked["nswReference"] == "TH-NSW-0000"
    # the other documents of the batch stay valid
    assert verify(cons, "TH", docs[2]["wrapped"], "chain")["status"] == "VALID"
    assert len(receiver.calls) == 1


def test_vn_node_down_service_not_ready_chain_goes_on_th_verifies(cons: Consortium, story: dict[str, Any]) -> None:
    net = cons.net
    docs = story["docs"]
    vn = cons["VN"]
    assert net.stop_node(vn.node)
    assert not net.is_running(vn.node)
    # VN's service is alive but not ready: its node is gone
    with vn.client() as c:
        assert c.get("/healthz").status_code == 200
    r = wait_for(lambda: (r := vn.readyz()).status_code == 503 and r, 30, "VN's service to turn not ready")
    body = r.json()
    assert body["status"] == "not ready" and not body["checks"]["chain"]["ok"]
    assert "unreachable" in body["checks"]["chain"]["error"]
    # VN's service still accepts work: it is written to its outbox before it is acknowledged. (The issuer's
    # country and name were read from the chain at its first submission and are cached by the pipeline; a
    # service whose first submission comes while its node is down answers 500 instead: issuer_info reads
    # the chain.)
    outage_ids = submit(cons, cons.form_ds(2, seed=202))
    revocation = revoke(cons, docs[1]["id"], "GOODS_NOT_SHIPPED")
    assert revocation["state"] == "PENDING"
    story.update(outage_ids=outage_ids, outage_revocation=revocation["id"])

    # three validators of four keep sealing
    before = {i: net.block_number(i) for i in (1, 2, 3)}
    net.wait_blocks(4, nodes=[1, 2, 3], timeout=40)
    net.wait_converged(nodes=[1, 2, 3], timeout=30)
    # TH keeps verifying, on chain and through its index, which keeps following TH's node
    th_indexed = cons["TH"].service.indexer.checkpoint().number
    assert wait_verdict(cons, "TH", docs[2]["wrapped"], "chain", "VALID")["blockNumber"] > before[1] - CONFIRMATIONS
    assert verify(cons, "TH", docs[0]["wrapped"], "chain")["status"] == "REVOKED"
    v = wait_for(
        lambda: (v := verify(cons, "TH", docs[2]["wrapped"], "index"))["blockNumber"] > th_indexed and v,
        20,
        "TH's index to move on while VN's node is down",
    )
    assert v["status"] == "VALID"
    assert wait_for(lambda: cons["TH"].readyz().status_code == 200, 20, "TH's service to stay ready")
    # nothing of what VN accepted could reach the chain, and nothing of it failed
    for d in states(cons, outage_ids):
        assert d["state"] in ("SUBMITTED", "BATCHED"), d
    assert action(cons, revocation["id"])["state"] == "PENDING"
    assert verify(cons, "TH", docs[1]["wrapped"], "chain")["status"] == "VALID"
    assert not net.is_running(vn.node)


def test_vn_node_back_catches_up_and_nothing_accepted_is_lost(cons: Consortium, story: dict[str, Any]) -> None:
    net = cons.net
    vn = cons["VN"]
    docs = story["docs"]
    net.start_node(vn.node)
    th_head = net.block_number(cons["TH"].node)
    net.wait_converged(timeout=60, at_least=th_head)
    wait_for(lambda: vn.readyz().status_code == 200, 60, "VN's service to be ready again")

    # what VN's service accepted during the outage is anchored now, exactly once
    outage = wait_anchored(cons, story["outage_ids"], timeout=60)
    assert len({d["merkleRoot"] for d in outage}) == 1  # one batch
    for d in outage:
        v = wait_verdict(cons, "TH", d["wrapped"], "chain", "VALID", timeout=20)
        assert_at_depth(cons, "TH", v)
        wait_verdict(cons, "TH", d["wrapped"], "index", "VALID", timeout=20)
    anchor = cons.deployment.store_client(net.w3(1), cons.vn_store).anchor_of(outage[0]["merkleRoot"])
    assert anchor is not None and anchor.key == cons.vn_issuer.address and anchor.document_count == 2
    # and so is the revocation VN accepted during the outage; TH (which holds docs[1]) is told
    done = wait_for(
        lambda: (a := action(cons, story["outage_revocation"]))["state"] == "DONE" and a,
        60,
        "the revocation accepted during the outage to be DONE",
    )
    assert done["transactionHash"] and done["blockNumber"]
    receiver: Receiver = story["receiver"]
    call = wait_for(lambda: receiver.call_for(docs[1]["targetHash"]), 30, "TH to be told of the second revocation")
    assert json.loads(call[1])["reason"] == "GOODS_NOT_SHIPPED"
    assert (
        wait_verdict(cons, "TH", docs[1]["wrapped"], "chain", "REVOKED")["revocation"]["reason"] == "GOODS_NOT_SHIPPED"
    )

    # VN's service anchors again through its node, and VN's validator seals again
    new_ids = submit(cons, cons.form_ds(1, seed=303))
    (new,) = wait_anchored(cons, new_ids, timeout=60)
    assert net.w3(vn.node).eth.get_transaction_receipt(new["transactionHash"])["status"] == 1
    story["late"] = outage + [new]
    wait_for(lambda: net.status()[vn.node].sealing, 30, "VN's validator to seal again")
    vn_validator = net.node(vn.node).validator
    start = net.block_number(vn.node)
    wait_for(
        lambda: any(_signer_of(cons, n) == vn_validator for n in range(start, net.block_number(vn.node) + 1)),
        30,
        "a block sealed by VN's validator after the restart",
    )


def _signer_of(cons: Consortium, number: int) -> str | None:
    """The Clique signer of a block, as geth reports it (clique_getSigner)."""
    from eth_utils import to_checksum_address

    resp = cons.net.w3(0).provider.make_request("clique_getSigner", [hex(number)])
    return to_checksum_address(resp["result"]) if resp.get("result") else None


def test_partition_majority_issues_every_index_has_it_after_healing(cons: Consortium, story: dict[str, Any]) -> None:
    net = cons.net
    sg = cons["SG"]
    net.partition([0, 1, 2], [sg.node])
    assert net.peer_count(sg.node) == 0
    lone_start = net.block_number(sg.node)
    net.wait_blocks(2, nodes=[0, 1, 2], timeout=40)
    ids = submit(cons, cons.form_ds(3, seed=404))
    part = wait_anchored(cons, ids, timeout=60)
    root = part[0]["merkleRoot"]
    for cc in ("TH", "MY"):
        wait_verdict(cons, cc, part[0]["wrapped"], "chain", "VALID", timeout=20)
    # the cut-off member cannot know it, and says so instead of guessing
    assert not cons.deployment.store_client(net.w3(sg.node), cons.vn_store).is_issued(root)
    assert verify(cons, "SG", part[0]["wrapped"], "chain")["status"] == "NOT_ISSUED"
    assert verify(cons, "SG", part[0]["wrapped"], "index")["status"] == "NOT_ISSUED"
    assert net.block_number(sg.node) <= lone_start + 1  # alone, one signer of four stalls

    net.heal(timeout=60)
    net.wait_converged(timeout=60, at_least=part[0]["blockNumber"] + CONFIRMATIONS)
    for i in range(VALIDATORS):
        assert net.block_hash(i, part[0]["blockNumber"]) == net.block_hash(0, part[0]["blockNumber"])
    for cc in MEMBERS:
        for d in part:
            v = wait_verdict(cons, cc, d["wrapped"], "index", "VALID", timeout=30)
            assert_at_depth(cons, cc, v)

    # nothing is lost: every document VN's service ever accepted is anchored once, and every member's index
    # and node give the same verdicts for all of them
    with cons["VN"].client("issuer_vn") as c:
        listed = c.get("/v1/documents?limit=100").json()
    everything = story["docs"] + story["late"] + part
    assert sorted(d["id"] for d in listed) == sorted(d["id"] for d in everything)
    assert all(d["state"] == "ANCHORED" for d in listed)
    anchored = states(cons, [d["id"] for d in everything])
    expected = {
        d["targetHash"]: "REVOKED" if d["id"] in (story["docs"][0]["id"], story["docs"][1]["id"]) else "VALID"
        for d in anchored
    }
    for cc in MEMBERS:
        with cons[cc].client(f"customs_{cc.lower()}") as c:
            for mode in ("index", "chain"):
                r = c.post(f"/v1/verify/bulk?mode={mode}", json={"documents": [d["wrapped"] for d in anchored]})
                got = {v["document"]["targetHash"]: v["status"] for v in r.json()["results"]}
                assert got == expected, (cc, mode, got)
    roots = {d["merkleRoot"] for d in anchored}
    store = cons.deployment.store_client(net.w3(3), cons.vn_store)
    assert all(store.is_issued(r) for r in roots) and len(roots) == 4


def test_everything_stops(cons: Consortium) -> None:
    ports = [m.port for m in cons.members.values()]
    threads = [m.thread for m in cons.members.values()]
    cons.close()
    assert not any(t.is_alive() for t in threads)
    assert not any(port_open(p) for p in ports)
    assert processes_using(cons.net.directory) == []
    assert not any(cons.net.pid_file(i).exists() for i in range(VALIDATORS))
