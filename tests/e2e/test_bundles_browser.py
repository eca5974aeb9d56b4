"""Verification without a node in the browser (/portal/offline): in Debian's Chromium, with every request outside
127.0.0.1 blocked and every request recorded, the page verifies documents against a bundle and a trust root and
gives, case by case, the verdicts and codes `certnet verify --bundle` gives on the same files (the cases of
tests/verifier/test_bundles_geth.py, on the session's geth Clique network: tests/support/bundle_fixtures.py) -- and
it makes no request at all once loaded. Byte flips of the headers and proof nodes, Clique votes and QBFT seals built
here, and the mixed corpus get the Python verifier's verdicts; the page also works saved to files and opened with
no server. The vendored ethers is the pinned one.

FAILS (never skips) when geth, Chromium or Playwright is missing."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from eth_account import Account
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from certnet.verifier.bundle import Bundle, BundleError, TrustRoot, verify_with_bundle
from certnet.verifier.bundle_maker import queries_for
from certnet.verifier.chainproof import (
    ChainProofError,
    Header,
    QbftExtra,
    check_clique_chain,
    check_qbft_chain,
    clique_seal,
    clique_signer,
    qbft_block_hash,
    qbft_seal,
)
from certnet.verifier.verify import Verifier
from tests.conftest import make_net
from tests.support.api_fixtures import start_api, stop_api
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.bundle_fixtures import BundleCase, clique_chain, flip, target_index
from tests.support.corpus import build_corpus
from tests.support.qbft import qbft_chain, qbft_keys
from tests.support.state import proven, queries
from tests.support.state import source as state_source

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "api" / "portal" / "static"
pytestmark = pytest.mark.timeout(600)


def test_vendored_ethers_is_the_pinned_one() -> None:
    vendored = STATIC / "ethers-umd-min.js"
    installed = ROOT / "node_modules" / "ethers" / "dist" / "ethers.umd.min.js"
    assert vendored.read_bytes() == installed.read_bytes(), "refresh api/portal/static/ethers-umd-min.js"
    assert json.loads((ROOT / "node_modules" / "ethers" / "package.json").read_text())["version"] == "5.8.0"
    assert json.loads((ROOT / "package.json").read_text())["dependencies"]["ethers"] == "5.8.0"
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"]["ethers"] == "5.8.0"
    assert lock["packages"]["node_modules/ethers"]["version"] == "5.8.0"
    assert b"sourceMappingURL" not in vendored.read_bytes()  # nothing the page would fetch


@pytest.fixture(scope="module")
def portal_url(anvil_engine, tmp_path_factory) -> str:
    api, server, thread = start_api(make_net(anvil_engine), tmp_path_factory.mktemp("offline-portal"))
    yield api.url
    stop_api(server, thread)


@pytest.fixture(scope="module")
def browser() -> Browser:
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: run scripts/setup.d/chromium.sh"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class OfflinePage:
    """The page, loaded once with the internet cut; every request after the load is recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)

    def load(self, url: str) -> None:
        def only_loopback(route: Route) -> None:
            host = urlparse(route.request.url).hostname
            if host in ("127.0.0.1", None, ""):
                route.continue_()
            else:
                self.blocked.append(route.request.url)
                route.abort()

        self.page.route("**/*", only_loopback)
        self.page.goto(url)
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_function("() => window.certnetOffline !== undefined")
        self.page.on("request", lambda r: self.requests.append(r.url))

    def verify(self, folder: Path, case: BundleCase, hours: str | None = None) -> list[tuple[str, str]]:
        """(status, DOCUMENT_STATUS code) per document as the page shows them; [("REFUSED", "")] when it refuses."""
        pg = self.page
        pg.set_input_files("#offline-documents", [str(p) for p in sorted(folder.glob("doc-*.json"))])
        pg.set_input_files("#offline-bundle", str(folder / "bundle.json"))
        pg.set_input_files("#offline-trust", str(folder / "trust.json"))
        if hours is None:
            hours = str(case.max_age / 3600) if case.max_age is not None else "24"
        pg.fill("#offline-max-age", hours)
        pg.evaluate("() => { document.getElementById('offline-results').dataset.done = ''; }")
        pg.click("#offline-verify")
        pg.wait_for_function("() => document.getElementById('offline-results').dataset.done")
        if pg.locator("#offline-refused").count():
            return [("REFUSED", "")]
        cards = pg.locator(".offline-verdict")
        return [
            (cards.nth(i).get_attribute("data-status") or "", cards.nth(i).get_attribute("data-code") or "")
            for i in range(cards.count())
        ]


def write_case(folder: Path, case: BundleCase) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, d in enumerate(case.docs):
        (folder / f"doc-{i}.json").write_text(json.dumps(d))
    (folder / "bundle.json").write_text(json.dumps(case.bundle))
    (folder / "trust.json").write_text(json.dumps(case.trust))
    return folder


def cli_verdicts(folder: Path, case: BundleCase) -> list[tuple[str, str]]:
    """What `certnet verify --bundle` says on the files (run in this process: the same argv as a shell's)."""
    from certnet.cli.main import main

    argv = ["verify", *[str(p) for p in sorted(folder.glob("doc-*.json"))], "--bundle", str(folder / "bundle.json")]
    argv += ["--trust-root", str(folder / "trust.json"), "--json", "--deployment", str(folder / "none.json")]
    argv += ["--rpc", "http://127.0.0.1:9"]
    if case.max_age is not None:
        argv += ["--max-age", str(case.max_age)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    if code == 1 and not out.getvalue():  # the bundle or trust root cannot be used
        assert "bundle" in err.getvalue() or "trust root" in err.getvalue(), err.getvalue()
        return [("REFUSED", "")]
    result = json.loads(out.getvalue())
    results = result["results"] if "results" in result else [result]
    return [(r["status"], next(c["code"] for c in r["checks"] if c["type"] == "DOCUMENT_STATUS")) for r in results]


@pytest.fixture
def offline(browser: Browser, portal_url: str) -> OfflinePage:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    op = OfflinePage(context.new_page())
    yield op
    context.close()
    assert not op.errors, op.errors


def test_page_agrees_with_the_cli_and_asks_no_server(
    offline: OfflinePage, portal_url: str, bundle_cases: dict[str, BundleCase], tmp_path: Path
) -> None:
    offline.load(portal_url + "/portal/offline")
    seen: dict[str, list[tuple[str, str]]] = {}
    for name, case in bundle_cases.items():
        if name == "old":
            continue  # below, with the clock an hour on
        folder = write_case(tmp_path / name, case)
        page, cli = offline.verify(folder, case), cli_verdicts(folder, case)
        assert page == cli, name
        statuses = [s for s, _ in page]
        if case.expect is not None:
            assert statuses == case.expect, name
        if name.startswith("proof-node"):  # a node only some documents' proofs go through: those are not VALID
            assert statuses.count("VALID") < len(statuses), name
        else:
            assert "VALID" not in statuses or name in ("valid", "revoked"), name
        seen[name] = page
    assert seen["revoked"][1] == ("REVOKED", "REVOKED")
    assert seen["old-too-old"][0] == ("ERROR", "BUNDLE_TOO_OLD")
    assert seen["non-validator-seal"] == [("ERROR", "STATUS_UNREADABLE")]
    assert seen["other-network"][0] == ("WRONG_NETWORK", "BUNDLE_OTHER_NETWORK")
    # the revoked document's card says why and when
    offline.verify(write_case(tmp_path / "revoked-again", bundle_cases["revoked"]), bundle_cases["revoked"])
    expect(offline.page.locator('.offline-verdict[data-status="REVOKED"]')).to_contain_text("fraudulent")
    # the old bundle an hour later: still VALID as of its (older) block, with its age
    old = bundle_cases["old"]
    offline.page.clock.set_fixed_time(time.time() + 3600)
    folder = write_case(tmp_path / "old", old)
    assert offline.verify(folder, old) == [("VALID", "ISSUED")] * 3 == cli_verdicts(folder, old)
    info = offline.page.locator(".offline-verdict .bundle-info").first
    assert int(info.get_attribute("data-block") or 0) == old.bundle["block"] < old.extra["newer"]
    assert int(info.get_attribute("data-age") or 0) >= 3600
    expect(info).to_contain_text(re.compile(r"\b6\d min ago"))  # the CLI's wording: 60 to 69 min
    assert offline.requests == [], f"the page made requests after loading: {offline.requests}"
    assert offline.blocked == []


def _python_statuses(bundle: dict, trust: dict, docs: list) -> list[str]:
    try:
        b, t = Bundle.from_json(bundle), TrustRoot.from_json(trust)
    except BundleError:
        return ["REFUSED"]
    return [v.status for v in verify_with_bundle(docs, b, t)]


def test_byte_flips_get_the_python_statuses(
    offline: OfflinePage, portal_url: str, bundle_cases: dict[str, BundleCase]
) -> None:
    """Every third byte of the target header and every seventh byte of every proof node flipped: the page's
    statuses are the Python verifier's, and the documents whose proofs the byte belongs to are never VALID."""
    offline.load(portal_url + "/portal/offline")
    valid = bundle_cases["valid"]
    docs, trust = valid.docs, valid.trust  # the bundle's documents: each node proves something one of them needs
    variants: list[dict[str, Any]] = []
    t = target_index(valid.bundle)
    h = valid.bundle["headers"][t]
    for i in range(0, len(h) // 2 - 1, 3):
        b = copy.deepcopy(valid.bundle)
        b["headers"][t] = flip(h, i)
        variants.append(b)
    for ni, node in enumerate(valid.bundle["nodes"]):
        for i in range(0, len(node) // 2 - 1, 7):
            b = copy.deepcopy(valid.bundle)
            b["nodes"][ni] = flip(node, i)
            variants.append(b)
    assert Header.decode(bytes.fromhex(h[2:])).number == valid.bundle["block"]
    in_page = offline.page.evaluate(
        """([docs, bundles, trust]) => bundles.map((b) => {
             const r = window.certnetOffline.verifyWithBundle(docs, b, trust);
             return r.refused ? ['REFUSED'] : r.verdicts.map((v) => v.status);
           })""",
        [docs, variants, trust],
    )
    python = [_python_statuses(b, trust, docs) for b in variants]
    differ = [(i, p, j) for i, (p, j) in enumerate(zip(python, in_page, strict=True)) if p != j]
    assert not differ, differ[:10]
    # a flipped node is one a document's verdict needs: that document (at least) is never VALID
    valid_ones = [i for i, s in enumerate(in_page) if s == ["VALID"] * len(docs)]
    assert not valid_ones, (len(variants), valid_ones)
    assert {s for ss in in_page for s in ss} <= {"VALID", "ERROR", "REFUSED"}
    # a key twice in one object: JSON.parse keeps the last value, Python refuses the document; so does the page
    text = json.dumps(valid.docs[0])
    twice = text.replace('"data": {', '"data": {"referenceNumber": "forged", ', 1)
    assert twice != text
    b, t = Bundle.from_json(valid.bundle), TrustRoot.from_json(trust)
    python_text = [v.status for v in verify_with_bundle([text, twice], b, t)]
    page_text = offline.page.evaluate(
        "([docs, b, t]) => window.certnetOffline.verifyWithBundle(docs, b, t).verdicts.map((v) => v.status)",
        [[text, twice], valid.bundle, trust],
    )
    assert page_text == python_text == ["VALID", "MALFORMED"]
    assert offline.requests == []


def test_saved_page_works_from_files(browser: Browser, portal_url: str, bundle_cases, tmp_path: Path) -> None:
    """The inspector carries the page: saved with its three files, opened from disk with no server, it verifies."""
    site = tmp_path / "site"
    (site / "static").mkdir(parents=True)
    with httpx.Client(base_url=portal_url, timeout=30) as http:
        html = http.get("/portal/offline")
        assert html.status_code == 200 and "script-src 'self'" in html.headers["content-security-policy"]
        (site / "offline.html").write_text(html.text)
        for name in ("ethers-umd-min.js", "offline.js", "portal.css"):
            r = http.get(f"/portal/static/{name}")
            assert r.status_code == 200, name
            (site / "static" / name).write_bytes(r.content)
    context = browser.new_context()
    context.set_default_timeout(60_000)
    try:
        op = OfflinePage(context.new_page())
        op.load((site / "offline.html").as_uri())
        case = bundle_cases["valid"]
        folder = write_case(tmp_path / "valid", case)
        assert op.verify(folder, case, hours="") == [("VALID", "ISSUED")] * 3  # an empty limit: the default 24 h
        assert op.verify(folder, case, hours="0") == [("ERROR", "BUNDLE_TOO_OLD")] * 3
        assert op.requests == [] and op.blocked == [] and op.errors == []
    finally:
        context.close()


def _python_chain(headers: list[Header], genesis: bytes, validators: list[bytes], target: int) -> dict[str, Any]:
    try:
        c = check_qbft_chain(headers, genesis, validators, target)
    except ChainProofError as exc:
        return {"error": str(exc)}
    return {
        "ok": {
            "validators": c.validators,
            "endorsedBy": c.endorsed_by,
            "hash": "0x" + qbft_block_hash(c.target).hex(),
            "number": c.number,
        }
    }


def test_qbft_commit_seals_as_the_python_verifier(offline: OfflinePage, portal_url: str) -> None:
    """QBFT headers built here (a validator set changed on the way; too few, foreign and tampered seals): the page's
    JavaScript accepts and refuses exactly what chainproof.check_qbft_chain does, with the same messages."""
    offline.load(portal_url + "/portal/offline")
    keys = qbft_keys(4)
    new = keys[:3]  # from block 4 on, one validator fewer
    genesis, headers = qbft_chain(keys, 6, change_at=4, new=new)
    validators = [bytes.fromhex(a.address[2:]) for a in keys]
    cases: list[tuple[list[Header], int]] = [(headers, 6), (headers, 3), (headers[:3], 3), (headers, 9)]
    few = list(headers)
    extra = QbftExtra.decode(few[2].extra, "x")
    few[2] = few[2].replace(
        extraData=QbftExtra(extra.vanity, extra.validators, extra.vote, extra.round, extra.seals[:2]).encode()
    )
    cases.append((few, 6))
    foreign = list(headers)
    foreign[4] = qbft_seal(foreign[4], [a.key for a in new] + [qbft_keys(1)[0].key])
    cases.append((foreign, 6))
    for i in (40, 200, len(headers[5].raw) - 30):
        forged = list(headers)
        raw = bytearray(forged[5].raw)
        raw[i] ^= 1
        try:
            forged[5] = Header.decode(bytes(raw))
        except ChainProofError:
            continue
        cases.append((forged, 6))
    gone = list(headers)
    del gone[1]
    cases.append((gone, 6))
    in_page = offline.page.evaluate(
        """([cases, genesis, validators]) => cases.map(([headers, target]) =>
             window.certnetOffline.checkChain('qbft', headers, genesis, validators, target))""",
        [
            [[["0x" + h.raw.hex() for h in hs], target] for hs, target in cases],
            "0x" + genesis.hex(),
            ["0x" + v.hex() for v in validators],
        ],
    )
    python = [_python_chain(hs, genesis, validators, target) for hs, target in cases]
    assert in_page == python
    assert "ok" in python[0] and len(python[0]["ok"]["validators"]) == 3 and "ok" in python[1]
    assert sum("error" in p for p in python) >= 4
    assert offline.requests == []


def _python_clique(headers: list[Header], genesis: bytes, validators: list[bytes], target: int) -> dict[str, Any]:
    try:
        c = check_clique_chain(headers, genesis, validators, CLIQUE_EPOCH, 0, target)
    except ChainProofError as exc:
        return {"error": str(exc)}
    return {
        "ok": {
            "validators": c.validators,
            "endorsedBy": c.endorsed_by,
            "hash": "0x" + c.target.hash.hex(),
            "number": c.number,
        }
    }


CLIQUE_EPOCH = 8


def test_clique_votes_and_checkpoints_as_the_python_verifier(offline: OfflinePage, portal_url: str) -> None:
    """Clique headers built here, with a validator voted out by a majority and checkpoints after it: the page's
    JavaScript follows the validator set exactly as chainproof.check_clique_chain does -- the votes replayed, a jump
    landing on a checkpoint, a vote after a gap, a header sealed by the voted-out validator, a validator sealing
    twice too soon, a wrong difficulty -- with the same messages."""
    offline.load(portal_url + "/portal/offline")
    keys = [Account.create() for _ in range(4)]
    by_address = {bytes.fromhex(a.address[2:]): a.key for a in keys}
    genesis, headers = clique_chain(keys, 16, epoch=CLIQUE_EPOCH, drop_at=3)
    validators = [bytes.fromhex(a.address[2:]) for a in keys]
    dropped = sorted(validators)[-1]

    def resealed(index: int, key: bytes, **changes: bytes) -> list[Header]:
        out = headers[:index] + [clique_seal(headers[index].replace(**changes) if changes else headers[index], key)]
        for h in headers[index + 1 :]:
            out.append(clique_seal(h.replace(parentHash=out[-1].hash), by_address[clique_signer(h)]))
        return out

    cases: list[tuple[list[Header], list[bytes], int]] = [
        (headers, validators, 12),
        (headers, validators, 16),  # too few seal over it
        (headers[7:], validators, 12),  # a jump to the checkpoint after the vote
        (headers[4:], validators, 12),  # a jump into the middle of the votes
        (headers, validators[:3], 12),  # a trust root without one validator
        (resealed(9, by_address[dropped]), validators, 12),  # the voted-out validator seals block 10
        (resealed(10, by_address[clique_signer(headers[9])], difficulty=b"\x01"), validators, 12),  # twice in a row
        (resealed(10, by_address[clique_signer(headers[10])], difficulty=b"\x01"), validators, 12),
    ]
    in_page = offline.page.evaluate(
        """([cases, genesis, epoch]) => cases.map(([headers, validators, target]) =>
             window.certnetOffline.checkChain('clique', headers, genesis, validators, target, epoch, 0))""",
        [
            [[["0x" + h.raw.hex() for h in hs], ["0x" + v.hex() for v in vs], t] for hs, vs, t in cases],
            "0x" + genesis.hex(),
            CLIQUE_EPOCH,
        ],
    )
    python = [_python_clique(hs, genesis, vs, t) for hs, vs, t in cases]
    assert in_page == python
    assert "ok" in python[0] and "0x" + dropped.hex() not in [v.lower() for v in python[0]["ok"]["validators"]]
    assert len(python[0]["ok"]["validators"]) == 3 and "ok" in python[2]
    assert "not a validator at that block" in python[5]["error"] and "signed recently" in python[6]["error"]
    assert "difficulty" in python[7]["error"]
    assert offline.requests == []


def test_mixed_corpus_gets_the_python_verdicts(offline: OfflinePage, portal_url: str, anvil_engine, tmp_path) -> None:
    """The state part over the mixed corpus on anvil (revoked alone, with a proof node or the batch, superseded,
    compromised key, country mismatch, signed by the issuer or by another key, another network, unissued, tampered,
    malformed): from the same proof nodes, the page's verdicts are the Python verifier's check by check, message by
    message (anvil seals nothing: the header is taken as checked on both sides, as tests/verifier/test_bundles_state.py
    does)."""
    net = make_net(anvil_engine)
    corpus = build_corpus(net, tmp_path)
    names = list(corpus)
    docs = [corpus[n][0] for n in names]
    _, signers, _ = queries_for(docs)
    block, state, nodes = proven(net, queries(net, docs), signers)
    source = state_source(net, state, block)
    python = Verifier(source).verify_many(docs)
    offline.load(portal_url + "/portal/offline")
    in_page = offline.page.evaluate(
        """([docs, root, nodes, trust, block, hash]) =>
             window.certnetOffline.verifyWithState(docs, root, nodes, trust, block, hash)""",
        [docs, "0x" + state.state_root.hex(), nodes, source.trust.to_json(), block, source._checked.block_hash.hex()],
    )
    for name, p, j in zip(names, python, in_page, strict=True):
        assert j["status"] == p.status == corpus[name][1], name
        assert [(c["type"], c["status"], c["code"], c["message"]) for c in j["checks"]] == [
            (c.type, c.status, c.code, c.message) for c in p.checks
        ], name
        assert (j["issuer"], j["revocation"], j["successor"], j["message"]) == (
            p.issuer,
            p.revocation,
            p.successor,
            p.message,
        ), name
        assert (j["blockNumber"], j["chainId"]) == (p.block_number, p.chain_id), name
    assert offline.requests == []
