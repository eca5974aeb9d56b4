"""No input crashes a process. A body of 100,000 nested brackets once killed a serving process with SIGSEGV
(py-evm and py_ecc raise Python's recursion limit to 100,000 when imported, so the JSON parser overflowed the C
stack), and `certnet verify`/`certnet wrap` of such a file exited 139. Now the nesting depth is limited before
anything parses (certnet.verifier.jsonlimits) and every certnet process keeps Python's recursion limit.

Hostile bodies — depth, width, size, encodings, numbers, NaN/Infinity, repeated keys, junk — are fuzzed
(hypothesis) against a real `certnet serve --workers 2` process and against the command line: a problem document
or a clear error every time, and the same processes alive afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certnet.node.engines import free_port
from certnet.verifier.jsonlimits import JsonTooDeep, check_depth, exceeds_depth, json_depth, loads
from tests.conftest import TEST_SCRYPT_N, make_net

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = json.loads((ROOT / "api" / "examples" / "form-d.json").read_text())
WRAPPED = EXAMPLES["wrapped"][0]
RAW = EXAMPLES["raw"][0]


# ------------------------------------------------------------------ the depth scan


@pytest.mark.parametrize(
    "text, depth",
    [
        ("1", 0),
        ('"[[[["', 0),
        ("[]", 1),
        ('{"a": 1}', 1),
        ('{"a": [{}]}', 3),
        ("[[], [[]], []]", 3),
        ('["]]]]", "[[[[", "\\"[[\\\\", [1]]', 2),
        ('{"k[": {"v{": ["\\u005b"]}}', 3),
        ("[[[", 3),
        ("]][[", 0),
        ('"unterminated [[[', 3),  # not JSON: what a parser would reach
    ],
)
def test_depth_counts_brackets_outside_strings(text, depth):
    assert json_depth(text) == depth
    assert json_depth(text.encode()) == depth
    assert exceeds_depth(text, depth - 1) if depth else True
    assert not exceeds_depth(text, depth)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\u00e9'),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text('[]{}"\\x', max_size=3), kids, max_size=4),
        max_leaves=40,
    )
)
@settings(max_examples=300, deadline=None)
def test_depth_of_any_json_value(value):
    def depth(v) -> int:
        if isinstance(v, list):
            return 1 + max(map(depth, v), default=0)
        if isinstance(v, dict):
            return 1 + max(map(depth, v.values()), default=0)
        return 0

    text = json.dumps(value)
    want = depth(value)
    assert json_depth(text) == want
    for encoding in ("utf-8", "utf-16", "utf-16-be", "utf-32"):
        assert json_depth(text.encode(encoding)) == want
    assert not exceeds_depth(text, want) and (want == 0 or exceeds_depth(text, want - 1))


def test_many_small_arrays_at_the_limit_are_decided_exactly():
    """The shortcut (one pass removing innermost pairs) must not misjudge a text exactly at the limit."""
    for d in (63, 64, 65):
        text = b"[" * (d - 1) + b",".join([b"[]"] * 10_000) + b"]" * (d - 1)
        assert exceeds_depth(text, 64) == (d > 64)
        assert json_depth(text) == d


def test_loads_refuses_depth_before_parsing():
    with pytest.raises(JsonTooDeep, match="more than 64 levels"):
        loads(b"[" * 100_000 + b"]" * 100_000)
    assert loads(b"[" * 64 + b"]" * 64) is not None
    check_depth("[" * 10 + "]" * 10, limit=10)
    with pytest.raises(JsonTooDeep):
        check_depth("[" * 11 + "]" * 11, limit=10)


# ------------------------------------------------------------------ the recursion limit


def test_every_certnet_process_keeps_pythons_recursion_limit():
    """Importing py-evm (eth) and py_ecc raises the limit to 100,000; certnet puts it back, whichever is imported
    first, and also when they come after certnet."""
    code = (
        "import sys; before = sys.getrecursionlimit(); import certnet.cli.main, eth, py_ecc, web3; "
        "from certnet.node.engines import EmbeddedEngine; print(before, sys.getrecursionlimit())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    before, after = out.split()
    assert before == after == "1000"
    code = (
        "import sys, eth, py_ecc; raised = sys.getrecursionlimit(); import certnet; "
        "print(raised, sys.getrecursionlimit())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.split() == ["100000", "1000"]


# ------------------------------------------------------------------ hostile bodies


def _nest(depth: int, kind: str, closed: bool) -> bytes:
    opener = {"array": b"[", "object": b'{"a":', "mixed": b'[{"a":'}[kind]
    closer = {"array": b"]", "object": b"}", "mixed": b"}]"}[kind]
    n = depth if kind != "mixed" else depth // 2
    return opener * n + (b"1" + closer * n if closed else b"")


def _encode(body: bytes, how: str) -> bytes:
    text = body.decode("utf-8", "surrogatepass")
    if how == "utf-8-bom":
        return b"\xef\xbb\xbf" + body
    if how == "invalid-utf-8":
        return body[: len(body) // 2] + b"\xff\xc3\x28" + body[len(body) // 2 :]
    return text.encode(how, "surrogatepass")


_DOC = json.dumps({"document": WRAPPED}).encode()
_PIECE = json.dumps(WRAPPED)

deep = st.builds(_nest, st.integers(65, 150_000), st.sampled_from(["array", "object", "mixed"]), st.booleans())
wide = st.builds(
    lambda n, item, key: b'{"%s": [' % key + b",".join([item] * n) + b"]}",
    st.integers(1_000, 200_000),
    st.sampled_from([b"0", b"[]", b"{}", b'"x"', b"1e400", b"null"]),
    st.sampled_from([b"documents", b"document", b"x"]),
)
many_keys = st.integers(1_000, 50_000).map(
    lambda n: b'{"document": {' + b",".join(b'"k%d": %d' % (i, i) for i in range(n)) + b"}}"
)
numbers = st.sampled_from(
    [
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e99999",
        b"-0",
        b"1" * 5000,
        b"-" + b"9" * 100_000,
        b"0.1e-99999",
        b"123456789012345678901234567890",
        b"1.0",
    ]
).map(lambda n: b'{"document": {"version": %s, "data": {"n": %s}}}' % (n, n))
in_document = st.sampled_from([b"NaN", b"Infinity", b"1e400", b"9" * 5000]).map(
    lambda n: _PIECE.replace('"version"', f'"v": {n.decode()}, "version"', 1).join(['{"document": ', "}"]).encode()
)
repeated = st.sampled_from(
    [
        b'{"document": {}, "document": ' + _DOC[len(b'{"document": ') :],
        _DOC.replace(b'"version"', b'"version": 1, "version"', 1),
        b'{"documents": [{"a": 1, "a": 2}], "documents": []}',
    ]
)
encoded = st.tuples(
    st.sampled_from(
        [
            _DOC,
            b'{"documents": [' + _DOC[13:-1] + b"]}",
            b'{"document": "\\ud800"}',
            b'{"document": {"\\udfff": "\\ud83d"}}',
        ]
    ),
    st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-bom", "invalid-utf-8"]),
).map(lambda t: _encode(*t))
junk_json = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(),
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=5), kids, max_size=5),
    max_leaves=30,
).map(lambda v: json.dumps({"document": v, "documents": [v]}).encode())
HOSTILE = st.one_of(deep, wide, many_keys, numbers, in_document, repeated, encoded, junk_json, st.binary(max_size=3000))
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        None,
        "application/json; charset=utf-16",
        "text/plain",
        "application/problem+json",
        "application/x-www-form-urlencoded",
    ]
)


def _cli(home: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTNET_")}
    return subprocess.run(
        [sys.executable, "-m", "certnet.cli.main", "--data-dir", str(home), *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


# ------------------------------------------------------------------ against a real `certnet serve`


def _workers(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


@pytest.fixture(scope="module")
def served(anvil_engine, tmp_path_factory) -> Iterator[dict]:
    """`certnet serve --workers 2` on the local demo chain (anvil, 31337 on loopback), with an issuer and a
    customs API key."""
    from certnet.api.auth import create_api_key
    from certnet.api.models import ApiBase
    from certnet.issuer.outbox import open_database
    from certnet.node.keys import create_keystore

    net = make_net(anvil_engine)
    home = tmp_path_factory.mktemp("hostile") / "home"
    net.deployment.rpc_url = anvil_engine.rpc_url
    net.deployment.save(home / "deployment.json")
    (home / "passphrase").write_text("hostile-test-pass\n")
    create_keystore(
        home / "keys" / "vn-issuer.json",
        "hostile-test-pass",
        net.actors["vn_issuer"].account.key,
        scrypt_n=TEST_SCRYPT_N,
    )
    sessions = open_database(f"sqlite:///{home / 'certnet.db'}")
    ApiBase.metadata.create_all(sessions.kw["bind"])
    keys = {
        "customs": create_api_key(sessions, "customs", "customs", "TH")[0],
        "issuer": create_api_key(sessions, "issuer", "issuer", "VN", net.addr("vn_issuer"))[0],
    }
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTNET_")}
    log = open(home / "serve.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "certnet.cli.main",
            "--data-dir",
            str(home),
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, (home / "serve.log").read_text()
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200 and len(_workers(proc.pid)) == 2:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "certnet serve did not come up"
        time.sleep(0.2)
    try:
        yield {"url": url, "proc": proc, "home": home, "keys": keys, "workers": _workers(proc.pid)}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _alive(served: dict) -> None:
    """The supervisor and the very same workers are alive, and they answer."""
    assert served["proc"].poll() is None
    assert _workers(served["proc"].pid) == served["workers"], "a worker process died and was started again"
    assert httpx.get(served["url"] + "/healthz", timeout=10).status_code == 200


def _answered_cleanly(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:500])
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
        problem = r.json()
        assert problem["status"] == r.status_code and problem["code"] and problem["detail"]
    else:
        assert r.headers["content-type"].startswith(("application/json", "text/html")), r.headers["content-type"]
        if r.headers["content-type"].startswith("application/json"):
            r.json()


def test_the_deep_body_that_killed_a_worker(served):
    """The reported request: 200 KB of nested brackets to /v1/verify and /v1/documents."""
    body = b"[" * 100_000 + b"]" * 100_000
    for path, who in (
        ("/v1/verify", "customs"),
        ("/v1/documents", "issuer"),
        ("/v1/verify/bulk", "customs"),
        ("/portal/api/verify", None),
        ("/portal/api/status", "customs"),
    ):
        headers = {"content-type": "application/json"}
        if who:
            headers["authorization"] = f"Bearer {served['keys'][who]}"
        r = httpx.post(served["url"] + path, content=body, headers=headers, timeout=60)
        assert r.status_code == 400, (path, r.status_code, r.text[:300])
        assert r.json()["code"] == "JSON_TOO_DEEP" and "more than 64 levels" in r.json()["detail"]
    # the portal's upload form (multipart: the file is checked as it is parsed)
    r = httpx.post(
        served["url"] + "/portal/verify", files={"file": ("deep.json", body, "application/json")}, timeout=60
    )
    assert r.status_code == 200 and "64 levels" in r.text
    # at the limit a body is read as usual: 64 levels is a verdict (MALFORMED), not a refusal
    at_limit = b'{"document": ' + b"[" * 63 + b"]" * 63 + b"}"
    r = httpx.post(
        served["url"] + "/v1/verify",
        content=at_limit,
        timeout=60,
        headers={"authorization": f"Bearer {served['keys']['customs']}", "content-type": "application/json"},
    )
    assert r.status_code == 422 or r.json()["status"] == "MALFORMED", r.text[:300]
    _alive(served)


def test_too_large_a_body_is_refused(served):
    r = httpx.post(
        served["url"] + "/v1/verify",
        content=b"[" * (17 * 1024 * 1024),
        timeout=120,
        headers={"authorization": f"Bearer {served['keys']['customs']}", "content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["code"] == "BODY_TOO_LARGE"
    _alive(served)


ENDPOINTS = [
    ("/v1/verify", "customs"),
    ("/v1/verify/bulk", "customs"),
    ("/v1/documents", "issuer"),
    ("/v1/inbox", "customs"),
    ("/v1/subscriptions", "customs"),
    ("/portal/api/verify", None),
    ("/portal/api/status", "customs"),
    ("/v1/verify", None),
]


def test_fuzz_hostile_bodies_against_certnet_serve(served):
    client = httpx.Client(base_url=served["url"], timeout=120)

    @given(body=HOSTILE, content_type=CONTENT_TYPES, endpoint=st.sampled_from(ENDPOINTS))
    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(body: bytes, content_type: str | None, endpoint: tuple[str, str | None]) -> None:
        path, who = endpoint
        headers = {"content-type": content_type} if content_type else {}
        if who:
            headers["authorization"] = f"Bearer {served['keys'][who]}"
        r = client.post(path, content=body, headers=headers)
        _answered_cleanly(r)
        _alive(served)

    try:
        run()
    finally:
        client.close()


def test_fuzz_hostile_uploads_to_the_portal(served):
    client = httpx.Client(base_url=served["url"], timeout=120)

    @given(body=HOSTILE, as_text=st.booleans())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(body: bytes, as_text: bool) -> None:
        if as_text:
            r = client.post("/portal/verify", data={"text": body.decode("utf-8", "replace")})
        else:
            r = client.post("/portal/verify", files={"file": ("doc.json", body, "application/json")})
        assert r.status_code in (200, 400, 413, 429), (r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith(("text/html", "application/problem+json"))
        _alive(served)

    try:
        run()
    finally:
        client.close()


# ------------------------------------------------------------------ against the command line


def test_the_deep_file_that_crashed_the_command_line(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    r = _cli(tmp_path, "verify", "--offline", str(deep))
    assert r.returncode == 16, (r.returncode, r.stdout, r.stderr)  # MALFORMED, not 139
    assert b"more than 64 levels deep" in r.stdout
    r = _cli(tmp_path, "wrap", str(deep), "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and r.stderr.startswith(b"certnet: ") and b"more than 64 levels deep" in r.stderr
    r = _cli(tmp_path, "verify", "--offline", "--json", "-", stdin=deep.read_bytes())
    assert r.returncode == 16 and json.loads(r.stdout)["status"] == "MALFORMED"


@given(bodies=st.lists(HOSTILE, min_size=4, max_size=8))
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_fuzz_hostile_files_against_the_command_line(bodies: list[bytes], tmp_path_factory):
    """Many hostile files per command (a process costs seconds to start on this machine): `verify` judges each
    one; `wrap` of them all stops at the first it cannot read, with a message naming it."""
    d = tmp_path_factory.mktemp("cli")
    files = []
    for n, body in enumerate(bodies):
        files.append(d / f"doc-{n}.json")
        files[-1].write_bytes(body)
    r = _cli(d, "verify", "--offline", "--json", *map(str, files))
    assert 10 <= r.returncode <= 18, (r.returncode, r.stderr[-2000:])  # an outcome's exit code; never a signal
    assert b"Traceback" not in r.stderr
    out = json.loads(r.stdout)
    results = out["results"] if len(files) > 1 else [out]
    assert [x["file"] for x in results] == list(map(str, files)) and all(x["status"] for x in results)
    r = _cli(d, "wrap", *map(str, files), "--out", str(d / "out"))
    assert r.returncode in (0, 1), (r.returncode, r.stderr[-2000:])
    assert b"Traceback" not in r.stderr
    if r.returncode:
        assert r.stderr.startswith(b"certnet: ") and (b"doc-" in r.stderr or b"cannot wrap" in r.stderr), r.stderr
