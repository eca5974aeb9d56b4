"""Bounded waiting and bounded staleness: a node that accepts connections and never answers gives ERROR within
the configured bound (in the library, on the command line and through the API), in a sentence without library
text; index mode never says VALID from an index that fell behind (a stalled follower)."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
import requests

from certnet.api.service import HEAD_TTL
from certnet.issuer import samples
from certnet.issuer.envelope import complete_envelope, network_block
from certnet.node.engines import AnvilEngine, http_web3
from certnet.node.rpc import NodeTimeout, NodeUnreachable, deadline, describe_failure
from certnet.verifier.sources import ChainSource
from certnet.verifier.verdict import EXIT_CODES
from certnet.verifier.verify import Verifier
from certnet.verifier.wrap import wrap_documents
from tests.conftest import make_net
from tests.support.api_fixtures import start_api, stop_api, wait_anchored, wait_until
from tests.support.tarpit import HangingProxy, Tarpit

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

#: what a library's exception looks like; none of it may reach a verdict
LIBRARY_TEXT = re.compile(
    r"HTTPConnectionPool|Max retries|urllib3|requests\.|Read timed out|Errno|Traceback|"
    r"NewConnectionError|ReadTimeout|ConnectionError|Exception|object at 0x"
)
#: slack for a loaded two-core machine on top of a bound (still far below web3's 75 s)
SLACK = 4.0


def assert_plain(text: str) -> None:
    assert not LIBRARY_TEXT.search(text), f"library text in a verdict: {text!r}"


def wrapped_doc(net, seed: int = 1) -> dict:
    raw = next(iter(samples.generate(1, seed=seed, network=network_block(net.deployment))))
    raw.pop("issuers")
    data = complete_envelope(raw, net.deployment, "VCCI Ho Chi Minh City", net.stores["vn"], "FORM_D")
    _, (wrapped,) = wrap_documents([data])
    return wrapped


@pytest.fixture
def tarpit():
    t = Tarpit()
    yield t
    t.close()


# ------------------------------------------------------------------ the connection layer


def test_one_request_to_a_hung_node_ends_at_its_timeout_and_is_not_retried(tarpit):
    w3 = http_web3(tarpit.url, timeout=1.0)
    t0 = time.monotonic()
    with pytest.raises(NodeTimeout) as info:
        _ = w3.eth.block_number
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed < 1.0 + SLACK, elapsed
    assert info.value.seconds == 1.0
    assert tarpit.accepted == 1  # one connection: a request the node took is not sent again


def test_a_deadline_bounds_many_calls_together(tarpit):
    w3 = http_web3(tarpit.url, timeout=30.0)
    t0 = time.monotonic()
    with deadline(1.5):
        for _ in range(3):  # after the first times out, the others fail at once
            with pytest.raises(NodeTimeout):
                _ = w3.eth.block_number
    assert time.monotonic() - t0 < 1.5 + SLACK


def test_a_refused_connection_is_retried_briefly_then_named(tmp_path):
    dead = AnvilEngine(tmp_path / "dead")  # never started: its port refuses connections
    t0 = time.monotonic()
    with pytest.raises(NodeUnreachable):
        _ = dead.w3.eth.block_number
    assert time.monotonic() - t0 < 0.3 + SLACK  # two retries, 0.1 s and 0.2 s apart


def test_failures_become_sentences():
    assert describe_failure(NodeTimeout("http://x", 5)) == "the node did not answer within 5 seconds"
    assert describe_failure(NodeTimeout("http://x", 1)) == "the node did not answer within 1 second"
    try:
        try:
            raise requests.ConnectionError("HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded")
        except requests.ConnectionError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as wrapped:
        sentence = describe_failure(wrapped)
    assert sentence == "the node could not be reached (no connection could be made)"
    odd = describe_failure(KeyError("HTTPConnectionPool"))
    assert "log" in odd
    for s in (sentence, odd):
        assert_plain(s)


def test_verifier_against_a_hung_node_says_error_within_the_bound(anvil_net, tarpit):
    doc = wrapped_doc(anvil_net)
    verifier = Verifier(ChainSource(http_web3(tarpit.url, timeout=30), anvil_net.deployment))
    t0 = time.monotonic()
    with deadline(2.0):
        v = verifier.verify(doc)
    elapsed = time.monotonic() - t0
    assert v.status == "ERROR" and elapsed < 2.0 + SLACK, (v.status, elapsed)
    msg = v.check("DOCUMENT_STATUS").message
    assert "did not answer within 2 seconds" in msg and "Do not accept" in msg, msg
    assert_plain(msg)
    assert_plain(v.message)
    assert v.check("DOCUMENT_INTEGRITY").status == "VALID"


# ------------------------------------------------------------------ the command line


def test_cli_verify_against_a_hung_node_says_error_in_time(home, tmp_path, anvil_net, tarpit):
    from tests.support.cli import certnet

    f = tmp_path / "doc.json"
    f.write_text(json.dumps(wrapped_doc(anvil_net)))
    t0 = time.monotonic()
    r = certnet(home, "verify", str(f), "--rpc", tarpit.url, "--timeout", "3")
    elapsed = time.monotonic() - t0
    assert r.returncode == EXIT_CODES["ERROR"], (r.returncode, r.stdout, r.stderr)
    assert "did not answer within 3 seconds" in r.stdout, r.stdout
    assert_plain(r.stdout)
    assert tarpit.accepted >= 1  # it did go to the node
    assert elapsed < 3 + 15, elapsed  # the bound plus the interpreter's start, not web3's 75 s
    r = certnet(home, "verify", str(f), "--rpc", tarpit.url, "--timeout", "0", "--json")
    assert r.returncode == 1 and "--timeout must be a positive number" in r.stderr


# ------------------------------------------------------------------ the API


@pytest.fixture(scope="module")
def hung(anvil_engine, tmp_path_factory):
    """A service whose node can start hanging (a proxy in front of anvil)."""
    net = make_net(anvil_engine)
    proxy = HangingProxy(anvil_engine.port)
    a, server, thread = start_api(
        net, tmp_path_factory.mktemp("hung"), rpc_url=proxy.url, verify_timeout=2.0, rpc_timeout=5.0
    )
    yield a, proxy
    proxy.resume()
    stop_api(server, thread)
    proxy.close()


def issue(api, who: str, n: int, seed: int) -> list[dict]:
    docs = list(samples.generate(n, seed=seed, network=network_block(api.net.deployment)))
    for d in docs:
        d.pop("issuers")
    with api.client(who) as c:
        r = c.post("/v1/documents", json={"documents": docs})
        assert r.status_code == 202, r.text
        ids = [d["id"] for d in r.json()["documents"]]
    return wait_anchored(api, who, ids)


def test_api_verify_against_a_hung_node_says_error_within_the_bound(hung):
    api, proxy = hung
    (doc,) = issue(api, "issuer_vn", 1, seed=31)
    with api.client("customs_th") as c:
        assert c.post("/v1/verify", json={"document": doc["wrapped"]}).json()["status"] == "VALID"
        proxy.hang()
        try:
            for path in (
                "/v1/verify?mode=chain",
                "/v1/verify?mode=index",
                "/v1/verify/bulk?mode=chain",
                "/v1/verify/bulk?mode=index",
            ):
                body = {"documents": [doc["wrapped"]]} if "bulk" in path else {"document": doc["wrapped"]}
                t0 = time.monotonic()
                r = c.post(path, json=body)
                elapsed = time.monotonic() - t0
                assert r.status_code == 200, (path, r.status_code, r.text)
                v = r.json()["results"][0] if "bulk" in path else r.json()
                assert v["status"] == "ERROR", (path, v["status"], v["message"])
                assert elapsed < 2.0 + SLACK, (path, elapsed)
                status = next(x for x in v["checks"] if x["type"] == "DOCUMENT_STATUS")
                assert "did not answer within 2 seconds" in status["message"], (path, status["message"])
                for text in [v["message"]] + [x["message"] for x in v["checks"]]:
                    assert_plain(text)
            t0 = time.monotonic()
            r = c.get("/readyz")
            assert r.status_code == 503 and not r.json()["checks"]["chain"]["ok"]
            assert time.monotonic() - t0 < 2.0 + SLACK
        finally:
            proxy.resume()
        # the node is back: so are the verdicts
        wait_until(
            lambda: c.post("/v1/verify", json={"document": doc["wrapped"]}).json()["status"] == "VALID", timeout=30
        )


# ------------------------------------------------------------------ a stale index


@pytest.fixture(scope="module")
def stale(anvil_engine, tmp_path_factory):
    """A service whose index may lag 0 blocks behind the head (and 30 s since its last sync)."""
    net = make_net(anvil_engine)
    a, server, thread = start_api(net, tmp_path_factory.mktemp("stale"), index_max_lag_blocks=0)
    yield a
    stop_api(server, thread)


class Stalled:
    """The service's index follower stops syncing (as one stuck on a query would) until released."""

    def __init__(self, api) -> None:
        self.indexer = api.service.indexer
        self.release = threading.Event()
        self.entered = threading.Event()
        original = self.indexer.sync

        def stuck(*args, **kwargs):
            self.entered.set()
            self.release.wait()
            return original(*args, **kwargs)

        self.indexer.sync = stuck

    def __enter__(self) -> Stalled:
        wait_until(self.entered.is_set, timeout=10)
        return self

    def __exit__(self, *exc) -> None:
        del self.indexer.sync
        self.release.set()


def verdict(c, doc: dict, mode: str) -> dict:
    r = c.post(f"/v1/verify?mode={mode}", json={"document": doc["wrapped"]})
    assert r.status_code == 200, r.text
    return r.json()


def revoke(api, doc: dict, reason: str) -> None:
    with api.client("issuer_vn") as c:
        r = c.post(f"/v1/documents/{doc['id']}/revoke", json={"reason": reason})
        assert r.status_code == 202, r.text
        wait_until(lambda: c.get(f"/v1/actions/{r.json()['id']}").json()["state"] == "DONE", timeout=30)


def test_a_stalled_index_behind_the_chain_is_not_trusted(stale):
    a, b = issue(stale, "issuer_vn", 2, seed=41)
    with stale.client("customs_th") as c:
        fresh = wait_until(lambda: (v := verdict(c, a, "index"))["source"] == "index" and v, timeout=30)
        assert fresh["status"] == "VALID"
        with Stalled(stale):
            indexed = stale.service.indexer.checkpoint().number
            revoke(stale, a, "FRAUDULENT")
            assert stale.service.indexer.checkpoint().number == indexed  # the index did not see it
            # the head the lag is measured against is re-read every HEAD_TTL seconds: from then on, the chain
            wait_until(lambda: verdict(c, a, "index")["source"] == "chain", timeout=HEAD_TTL + 10)
            for doc_path in ("/v1/verify?mode=index", "/v1/verify/bulk?mode=index"):
                body = {"documents": [a["wrapped"]]} if "bulk" in doc_path else {"document": a["wrapped"]}
                r = c.post(doc_path, json=body)
                v = r.json()["results"][0] if "bulk" in doc_path else r.json()
                # read from the chain instead, and the verdict says so, with the chain's block
                assert v["status"] == "REVOKED" and v["source"] == "chain", (doc_path, v["status"], v["source"])
                assert v["blockNumber"] > indexed
        # the follower catches up: the index answers again, and agrees
        v = wait_until(lambda: (v := verdict(c, a, "index"))["source"] == "index" and v, timeout=30)
        assert v["status"] == "REVOKED"
        assert verdict(c, b, "index")["status"] == "VALID"


def test_a_stalled_index_past_its_age_answers_error_never_valid(stale):
    settings = stale.service.settings
    saved = (settings.index_max_lag_blocks, settings.index_max_age, settings.stale_index)
    (doc,) = issue(stale, "issuer_vn", 1, seed=42)
    settings.index_max_lag_blocks, settings.index_max_age, settings.stale_index = 1000, 2.0, "error"
    try:
        with stale.client("customs_th") as c:
            wait_until(
                lambda: (v := verdict(c, doc, "index"))["source"] == "index" and v["status"] == "VALID", timeout=30
            )
            with Stalled(stale):
                revoke(stale, doc, "GOODS_NOT_SHIPPED")
                # within its age the index may still answer (bounded, not zero staleness); past it, never VALID
                v = wait_until(lambda: (v := verdict(c, doc, "index"))["status"] != "VALID" and v, timeout=30)
                assert v["status"] == "ERROR" and v["source"] == "index", v
                status = next(x for x in v["checks"] if x["type"] == "DOCUMENT_STATUS")
                assert "index was last brought up to date" in status["message"], status["message"]
                assert "Do not accept" in status["message"]
                assert_plain(status["message"])
                r = c.get("/readyz")
                assert r.status_code == 503 and "brought up to date" in r.json()["checks"]["index"]["stale"]
                for _ in range(5):  # and it stays so while the follower is stuck
                    assert verdict(c, doc, "index")["status"] == "ERROR"
            v = wait_until(lambda: (v := verdict(c, doc, "index"))["status"] != "ERROR" and v, timeout=30)
            assert v["status"] == "REVOKED" and v["source"] == "index"
    finally:
        settings.index_max_lag_blocks, settings.index_max_age, settings.stale_index = saved


def test_bad_bounds_are_refused_by_name(tmp_path):
    from certnet.api.service import Settings

    base = dict(data_dir=tmp_path, rpc_url="http://127.0.0.1:1", deployment_file=tmp_path / "d.json", db_url="")
    with pytest.raises(ValueError, match="verify_timeout"):
        Settings(**base, verify_timeout=0)
    with pytest.raises(ValueError, match="stale_index"):
        Settings(**base, stale_index="maybe")
    with pytest.raises(ValueError, match="index_max_lag_blocks"):
        Settings(**base, index_max_lag_blocks=-1)
