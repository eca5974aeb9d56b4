"""The index on PostgreSQL: a throwaway cluster of its own (initdb into a temporary directory, a free port
on 127.0.0.1, stopped at the end), the migrations, a sync and the status comparison with the chain.

Fails (never skips) when PostgreSQL is not installed: scripts/setup.d/postgres.sh installs it.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from certnet.index import VERSION_TABLE, current_revision, make_engine, upgrade
from certnet.index.follower import Indexer
from certnet.index.models import Base
from certnet.index.queries import IndexStatusSource
from tests.support.chain import assert_same, h32, merkle
from tests.support.postgres import Cluster

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)


@pytest.fixture(scope="module")
def pg_url():
    cluster = Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def test_postgres_migration_sync_and_status(pg_url: str, anvil_net) -> None:
    net = anvil_net
    w3 = net.engine.w3
    # the schema from empty, through the migrations only
    assert current_revision(pg_url) is None
    upgrade(pg_url)
    upgrade(pg_url)
    assert current_revision(pg_url) == "0003"
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []

    vn, vn_admin = net.store("vn_issuer"), net.registry("vn_admin")
    VN = net.stores["vn"]
    a, b, c, d0 = h32(), h32(), h32(), h32()
    root, proofs = merkle([a, b, c, d0])
    vn.anchor(root, "FORM_D", 4)
    vn.revoke_document(root, b, proofs[b], "FRAUDULENT")
    r2 = h32()
    vn.anchor(r2, "ECERT", 1)
    vn.revoke_root(r2, "ISSUED_IN_ERROR")
    new = h32()
    vn.anchor(new, "FORM_D", 1)
    vn.supersede(root, c, proofs[c], new, new, [])
    # an authority allowed for type 63 only: its mask is 2**63, beyond a signed BIGINT; its key revokes, then is
    # marked compromised since before the revocation
    wide = net.new_actor("wide_issuer")
    reg = net.registry("vn_admin")
    WIDE = reg.store_from(reg.register_authority("Type 63 authority", [63], first_key=wide.address))
    ws = net.deployment.store_client(w3, WIDE, wide)
    w, x = h32(), h32()
    wroot, wproofs = merkle([w, x])
    ws.anchor(wroot, 63, 2)
    net.engine.advance_time(2)
    receipt = ws.revoke_document(wroot, x, wproofs[x], "FRAUDULENT")
    vn_admin.mark_compromised(wide.address, w3.eth.get_block(receipt["blockNumber"])["timestamp"])

    indexer = Indexer(w3, net.deployment, engine)  # an Engine works as well as a URL
    source = IndexStatusSource(pg_url, w3.eth.chain_id, net.deployment.issuer_registry)
    try:
        queries = [
            (VN, root, a, proofs[a]),
            (VN, root, b, proofs[b]),
            (VN, root, c, proofs[c]),
            (VN, r2, r2, []),
            (VN, new, new, []),
            (WIDE, wroot, w, wproofs[w]),
            (WIDE, wroot, x, wproofs[x]),
            (VN, h32(), h32(), []),
            (net.stores["th"], root, a, proofs[a]),
        ]
        block = indexer.sync()
        got = source.status_of(queries)
        assert_same(got, net.registry().status_of(queries, block=block))
        assert [s.revoked for s in got] == [False, True, False, True, False, False, False, False, False]
        assert got[2].superseded and got[5].issuer_authorised and got[5].document_type == 63
        assert source.indexed_block().number == block
        assert [e.kind for e in source.history(c, root=root)] == ["ANCHORED", "SUPERSEDED"]
        view = next(v for v in source.authorities("VN") if v.store == WIDE)
        assert view.document_types == 2**63 and view.document_type_names == [63]
        assert view.keys[0].compromised_since is not None

        # incremental
        d = h32()
        vn.anchor(d, "FORM_D", 1)
        block = indexer.sync()
        queries.append((VN, d, d, []))
        assert_same(source.status_of(queries), net.registry().status_of(queries, block=block))
        assert indexer.lag() == 0
    finally:
        source.close()
        indexer.close()
        engine.dispose()
