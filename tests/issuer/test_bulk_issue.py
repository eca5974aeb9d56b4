"""`certnet issue-bulk`: an NDJSON file wrapped in batches and anchored on a real anvil node, and finished by
running again after the process is killed (SIGKILL) at every point or stopped by a bad line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from certnet.issuer.faults import BULK_POINTS
from tests.support.cli import BATCH, COUNT, bulk, check_output, source
from tests.support.consortium_fixtures import processes_using

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)


def test_issue_bulk(anvil_net, home, tmp_path):
    src, docs = source(tmp_path, seed=61)
    r = bulk(home, str(src), "--out", str(tmp_path / "out"), "--batch", str(BATCH), "--type", "form-d")
    assert r.returncode == 0, r.stderr
    assert f"{COUNT} documents in 3 batches anchored" in r.stdout
    roots = check_output(anvil_net, tmp_path / "out", docs)
    # running it again issues nothing new
    r = bulk(home, str(src), "--out", str(tmp_path / "out"), "--batch", str(BATCH))
    assert r.returncode == 0 and "(3 written by an earlier run)" in r.stdout
    assert check_output(anvil_net, tmp_path / "out", docs) == roots


@pytest.mark.parametrize("point", BULK_POINTS)
def test_issue_bulk_killed_then_run_again(anvil_net, home, tmp_path, point):
    src, docs = source(tmp_path, seed=62 + BULK_POINTS.index(point))
    out = tmp_path / "out"
    r = bulk(home, str(src), "--out", str(out), "--batch", str(BATCH), crash_at=point)
    assert r.returncode == -9, r.stderr  # killed after the first batch's file / transaction
    assert processes_using(out) == []  # its reader processes went with it (else they hold the pipes for ever)
    assert len(list(out.glob("batch-*.ndjson"))) == 1
    r = bulk(home, str(src), "--out", str(out), "--batch", str(BATCH))
    assert r.returncode == 0, r.stderr
    assert "(1 written by an earlier run)" in r.stdout
    roots = check_output(anvil_net, out, docs)
    events = anvil_net.store().contract.events.RootAnchored().get_logs(from_block=0)
    anchored = [e["args"]["root"].hex() for e in events]
    assert all(anchored.count(root) == 1 for root in roots)  # none anchored twice


def test_issue_bulk_bad_line_named_then_finished(anvil_net, home, tmp_path):
    src, docs = source(tmp_path, seed=70)
    lines = src.read_text().splitlines(keepends=True)
    good = lines[12]
    lines[12] = '{"referenceNumber": "broken"\n'
    src.write_text("".join(lines))
    out = tmp_path / "out"
    r = bulk(home, str(src), "--out", str(out), "--batch", str(BATCH))
    assert r.returncode == 1 and f"{src}:13: not valid JSON" in r.stderr
    assert len(list(out.glob("batch-*.ndjson"))) == 1  # the batch before the bad line is issued
    lines[12] = json.dumps(dict(json.loads(good), issuingCountry="TH")) + "\n"
    src.write_text("".join(lines))
    r = bulk(home, str(src), "--out", str(out), "--batch", str(BATCH))
    assert r.returncode == 1 and f"{src}:13: issuingCountry 'TH'" in r.stderr
    lines[12] = good
    src.write_text("".join(lines))
    r = bulk(home, str(src), "--out", str(out), "--batch", str(BATCH))
    assert r.returncode == 0, r.stderr
    check_output(anvil_net, out, docs)


@pytest.mark.parametrize(
    "line",
    [
        b'{"a": 18446744073709551616, "b": "x"}',
        b'{"n": 9007199254740993}',
        b'{"s": "\\ud800"}',
        b'{"f": NaN}',
        b'{"f": 1.5e300, "z": -0.0, "e": 1E-7}',
        b'{"a": 1, "a": 2}',
        '{"v": "Công ty TNHH 🚢 \\"q\\""}'.encode(),
        b'{"ref": "1234567890123456789", "n": 12345678901234567}',
    ],
)
def test_parse_line_reads_as_the_standard_library(line):
    from certnet.issuer.bulk import parse_line

    got, want = parse_line(line), json.loads(line)
    assert json.dumps(got) == json.dumps(want)
    assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


def test_a_reader_that_dies_without_a_word_is_an_error_not_a_wait():
    import multiprocessing

    from certnet.issuer.bulk import BulkInputError, _next

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue(maxsize=1)
    reader = ctx.Process(target=os._exit, args=(3,))
    reader.start()
    reader.join()
    with pytest.raises(BulkInputError, match="exit code 3"):
        _next(queue, reader)


def test_samples_as_ndjson_then_issue_bulk(anvil_net, home, tmp_path):
    """The README's way: `certnet samples --out day.ndjson`, then `certnet issue-bulk day.ndjson --type form-d`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTNET_")}
    env["CERTNET_HOME"] = str(home)
    day = tmp_path / "day.ndjson"
    r = subprocess.run(
        [sys.executable, "-m", "certnet.cli.main", "samples", "--count", "12", "--out", str(day)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert len(day.read_text().splitlines()) == 12
    r = bulk(home, str(day), "--out", str(tmp_path / "day"), "--type", "form-d", "--batch", "5")
    assert r.returncode == 0, r.stderr
    assert "12 documents in 3 batches anchored" in r.stdout
