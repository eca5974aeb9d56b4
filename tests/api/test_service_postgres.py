"""The outbox and the whole service on PostgreSQL (a throwaway cluster): issuance through the API, a worker
killed with SIGKILL mid-way and resumed, verification through the index in the same database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from certnet.issuer.faults import CRASH_ENV
from certnet.issuer.outbox import ANCHORED, Batch, Document, open_database
from certnet.issuer.pipeline import Pipeline, PipelineConfig
from certnet.node.keys import create_keystore
from tests.conftest import TEST_SCRYPT_N, make_net
from tests.support.api_fixtures import form_ds, issue, start_api, stop_api, wait_until
from tests.support.pipeline import docs_for
from tests.support.postgres import Cluster


@pytest.fixture(scope="module")
def pg():
    cluster = Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def test_outbox_on_postgres_survives_a_killed_worker(pg, anvil_engine, tmp_path):
    net = make_net(anvil_engine)
    create_keystore(
        tmp_path / "issuer.json", "crash-test-passphrase", net.actors["vn_issuer"].account.key, scrypt_n=TEST_SCRYPT_N
    )
    net.deployment.save(tmp_path / "deployment.json")
    url = pg.replace("/postgres", "/postgres?options=-csearch_path%3Doutbox_test")
    import sqlalchemy

    with sqlalchemy.create_engine(pg).begin() as conn:
        conn.execute(sqlalchemy.text("CREATE SCHEMA IF NOT EXISTS outbox_test"))
    sessions = open_database(url)
    p = Pipeline(
        sessions,
        net.engine.w3,
        net.deployment,
        {net.addr("vn_issuer"): net.actors["vn_issuer"]},
        PipelineConfig(max_batch=4),
    )
    p.submit(net.addr("vn_issuer"), docs_for(net, 9, seed=77))
    import os
    import subprocess
    import sys

    env = {**os.environ, "CERTNET_PASSPHRASE": "crash-test-passphrase"}
    cmd = [
        sys.executable,
        "-m",
        "certnet.issuer.worker",
        "--db",
        url,
        "--rpc",
        net.engine.rpc_url,
        "--deployment",
        str(tmp_path / "deployment.json"),
        "--keystore",
        str(tmp_path / "issuer.json"),
        "--max-batch",
        "4",
        "--until-idle",
    ]
    crashed = subprocess.run(cmd, env={**env, CRASH_ENV: "broadcast"}, capture_output=True, text=True, timeout=120)
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    with sessions() as s:
        docs = list(s.scalars(select(Document)))
        batches = list(s.scalars(select(Batch)))
    assert len(docs) == 9 and all(d.state == ANCHORED for d in docs)
    roots = [log["args"]["root"].hex() for log in net.store().contract.events.RootAnchored().get_logs(from_block=0)]
    assert all(roots.count(b.merkle_root) == 1 for b in batches)


def test_service_on_postgres(pg, anvil_engine, tmp_path):
    net = make_net(anvil_engine)
    api, server, thread = start_api(net, tmp_path, db_url=pg)
    try:
        states = issue(api, "issuer_vn", form_ds(api, 3, seed=78))
        head = net.engine.w3.eth.block_number
        wait_until(lambda: api.service.indexer.indexed_block().number >= head, timeout=30)
        with api.client("customs_th") as c:
            for mode in ("chain", "index"):
                r = c.post(f"/v1/verify?mode={mode}", json={"document": states[0]["wrapped"]}).json()
                assert r["status"] == "VALID" and r["source"] == mode, r
    finally:
        stop_api(server, thread)


def test_two_batchers_on_postgres_never_share_a_document(pg, anvil_engine):
    import threading

    import sqlalchemy

    net = make_net(anvil_engine)
    with sqlalchemy.create_engine(pg).begin() as conn:
        conn.execute(sqlalchemy.text("CREATE SCHEMA IF NOT EXISTS two_batchers"))
    url = pg.replace("/postgres", "/postgres?options=-csearch_path%3Dtwo_batchers")
    issuer = net.addr("vn_issuer")
    pipes = [
        Pipeline(
            open_database(url),
            net.engine.w3,
            net.deployment,
            {issuer: net.actors["vn_issuer"]},
            PipelineConfig(max_batch=7),
        )
        for _ in range(2)
    ]
    pipes[0].submit(issuer, docs_for(net, 60, seed=79))
    barrier = threading.Barrier(2)

    def batch(p: Pipeline) -> None:
        barrier.wait()
        p._form_batches(force=True)

    threads = [threading.Thread(target=batch, args=(p,)) for p in pipes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with pipes[0].sessions() as s:
        docs = list(s.scalars(select(Document)))
        batches = {b.id: b for b in s.scalars(select(Batch))}
    assert all(d.batch_id is not None for d in docs)
    per_batch: dict[int, int] = {}
    for d in docs:
        per_batch[d.batch_id] = per_batch.get(d.batch_id, 0) + 1
    assert per_batch == {i: b.count for i, b in batches.items()}  # no batch claims a document it lost
    assert sum(b.count for b in batches.values()) == 60


def test_one_writer_per_outbox_on_postgres(pg, embedded_net):
    """On PostgreSQL the writer lock is an advisory lock keyed by the outbox's schema: a second pipeline on the
    same outbox is refused while the first holds it and takes over when the first's session ends; a pipeline on
    another schema (another outbox) is not affected."""
    import sqlalchemy

    from certnet.issuer.outbox import OutboxLocked

    net = embedded_net
    urls = {}
    for schema in ("writer_a", "writer_b"):
        with sqlalchemy.create_engine(pg).begin() as conn:
            conn.execute(sqlalchemy.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        urls[schema] = pg.replace("/postgres", f"/postgres?options=-csearch_path%3D{schema}")
    issuer = net.addr("vn_issuer")

    def pipeline(schema: str) -> Pipeline:
        return Pipeline(
            open_database(urls[schema]),
            net.engine.w3,
            net.deployment,
            {issuer: net.actors["vn_issuer"]},
            PipelineConfig(max_batch=4),
        )

    first, second, other = pipeline("writer_a"), pipeline("writer_a"), pipeline("writer_b")
    first.submit(issuer, docs_for(net, 3, seed=92))
    first.run_once(force=True)
    with pytest.raises(OutboxLocked, match="advisory lock"):
        second.run_once(force=True)
    other.run_once(force=True)  # another outbox: its own lock
    first.writer._conn.invalidate()  # the holder's session ends (as when its process dies)
    assert not first.writer.held()
    second.run_until_idle(timeout=60)
    with second.sessions() as s:
        assert {d.state for d in s.scalars(select(Document))} == {ANCHORED}
    with pytest.raises(OutboxLocked):
        first.run_once()
    second.close()
    first.run_once()
