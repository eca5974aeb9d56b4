"""The CustomsRecord's events in the index and in the services' mirror of decisions and checks: an answer indexed
by a follower that restarted after the opening still names its certificate; a reorg that orphans a check takes it
out of the index and out of both services' lists. On an anvil of this module's own (snapshots and reverts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from certnet.index import make_engine, sqlite_url
from certnet.index.follower import Indexer
from certnet.index.models import CustomsEvent
from certnet.index.queries import IndexStatusSource
from certnet.node.contracts import CHECK_REASONS, CheckResult, Preference
from certnet.node.engines import AnvilEngine
from certnet.verifier.fields import prove_field
from certnet.verifier.wrap import wrap_documents
from tests.conftest import make_net
from tests.support.chain import rpc
from tests.support.customs_fixtures import issue, receive, vn_and_th, wait_for
from tests.support.customs_record import cert, customs, raw, record

pytestmark = [pytest.mark.timeout(600), pytest.mark.integration]


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Iterator[AnvilEngine]:
    engine = AnvilEngine(tmp_path_factory.mktemp("anvil-customs-index"), persist=False).start()
    yield engine
    engine.stop()


def test_customs_events_are_indexed_across_a_follower_restart(chain, tmp_path: Path) -> None:
    net = make_net(chain)
    root, wrapped = wrap_documents([raw(net), raw(net)])
    net.store("vn_issuer").anchor(root, "FORM_D", 2)
    w = wrapped[0]
    store, r, doc, proof = cert(w)
    rec = record(net, customs(net, "TH"))
    rec.record_decision(
        store, r, doc, proof, "TH", prove_field(w, "importingCountry"), Preference.NOT_GIVEN, 2, "11" * 32
    )
    cid = rec.check_id(rec.open_check(store, r, doc, proof, "TH", None, CHECK_REASONS["DOUBT_ORIGIN"], "22" * 32))
    url = sqlite_url(tmp_path / "index.db")
    first = Indexer(chain.w3, net.deployment, url)
    first.sync()
    first.close()
    record(net, "vn_issuer").answer_check(cid, CheckResult.NOT_CONFIRMED, "33" * 32)
    rec.close_check(cid)
    again = Indexer(chain.w3, net.deployment, url)  # a new follower: it knows the check only from the index
    again.sync()
    source = IndexStatusSource(url, chain.w3.eth.chain_id)
    events = [e for e in source.history(doc, r, store) if e.kind != "ANCHORED"]
    assert [e.kind for e in events] == ["DECIDED", "CHECK_OPENED", "CHECK_ANSWERED", "CHECK_CLOSED"]
    decided, opened, answered, closed = events
    assert decided.details["preference"] == "NOT_GIVEN" and decided.details["reason"] == "HS_CODE_MISMATCH"
    assert decided.details["textHash"] == "11" * 32 and decided.details["version"] == 1 and decided.country == "TH"
    assert opened.details["checkId"] == cid and opened.details["textHash"] == "22" * 32 and opened.details["dueAt"]
    for e in (answered, closed):
        assert (e.store, e.document, e.country, e.details["issuingCountry"]) == (store, doc, "TH", "VN")
    assert answered.details["result"] == "NOT_CONFIRMED" and answered.details["textHash"] == "33" * 32
    assert answered.actor == net.addr("vn_issuer") and closed.actor == net.addr("th_customs")
    # the audit export of each side carries them
    assert {e.kind for e in source.events_between("TH", 0, 2**40)} >= {"DECIDED", "CHECK_CLOSED"}
    assert {e.kind for e in source.events_between("VN", 0, 2**40)} >= {"DECIDED", "CHECK_CLOSED"}
    assert not {e.kind for e in source.events_between("MY", 0, 2**40)} & {"DECIDED", "CHECK_OPENED"}
    # every customs event names the certificate's store
    assert {e.store for e in source.customs_events(0, chain.w3.eth.block_number)} == {store}
    source.close()
    again.close()


def test_a_reorg_takes_an_orphaned_check_out_of_both_services(chain, tmp_path: Path) -> None:
    net = make_net(chain)
    vn, th = vn_and_th(net, tmp_path)
    try:
        world: dict[str, Any] = {"net": net, "vn": vn, "th": th}
        wrapped = issue(world, 1, seed=1801)[0]
        inbox_id = receive(th, "customs_th", wrapped)
        snapshot = rpc(chain, "evm_snapshot")
        with th.client("customs_th") as c:
            r = c.post(
                "/v1/checks",
                json={"certificate": {"inboxId": inbox_id}, "reason": "RANDOM", "questions": ["Please confirm."]},
            )
            assert r.status_code == 201, r.text
            cid = r.json()["id"]
        with vn.client("issuer_vn") as c:
            wait_for(lambda: c.get(f"/v1/checks/{cid}").status_code == 200, 30, "VN to mirror the check")
        rpc(chain, "evm_revert", [snapshot])
        for _ in range(3):
            rpc(chain, "evm_mine")
        for member, who in ((vn, "issuer_vn"), (th, "customs_th")):
            with member.client(who) as c:
                wait_for(
                    lambda c=c: c.get(f"/v1/checks/{cid}").status_code == 404,
                    30,
                    f"{member.country} to forget the orphaned check",
                )
                assert c.get("/v1/checks").json() == []
        engine = make_engine(sqlite_url(tmp_path / "vn" / "certnet.db"))
        with engine.connect() as conn:
            assert conn.execute(select(CustomsEvent.id)).all() == []
        engine.dispose()
    finally:
        vn.stop()
        th.stop()
