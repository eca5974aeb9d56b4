"""The command line loads only what a command needs: `certnet --help` and `certnet verify --offline` import no
web3, eth-account, py_ecc, SQLAlchemy or FastAPI (they cost a second or more at every start), `--help` still
lists every command, every command still names a function that exists, and offline verdicts are unchanged:
the same document, signed and then tampered with, gives what the library's verifier gives."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from certnet.cli.main import command
from certnet.cli.parser import COMMANDS
from certnet.verifier.signing import sign_document
from certnet.verifier.verdict import EXIT_CODES
from certnet.verifier.verify import Verifier
from certnet.verifier.wrap import wrap_documents

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

HEAVY = ("web3", "eth_account", "eth_keyfile", "py_ecc", "sqlalchemy", "fastapi", "eth_utils", "httpx")

# runs `certnet ARGS...` in this process and writes the names of the loaded modules to the file named first
WRAPPER = """
import json, sys
from certnet.cli.main import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""


def run_certnet(tmp_path: Path, *args: str) -> tuple[int, set[str], str]:
    """(exit code, loaded modules, standard output) of `certnet ARGS` in a new process."""
    report = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTNET_")}
    env["CERTNET_HOME"] = str(tmp_path / "home")
    r = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(report), *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert report.exists(), r.stderr
    result = json.loads(report.read_text())
    return result["code"], set(result["modules"]), r.stdout


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_help_lists_every_command_and_loads_nothing_heavy(tmp_path):
    code, modules, out = run_certnet(tmp_path, "--help")
    assert code == 0
    assert heavy(modules) == []
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("    ") and line.split()}
    assert set(COMMANDS) <= listed, set(COMMANDS) - listed
    # the commands' implementations are not imported either
    assert {m for m in modules if m.startswith("certnet.cli.")} == {"certnet.cli.main", "certnet.cli.parser"}
    assert not any(m.startswith("certnet.api") for m in modules)


def test_every_command_names_a_function():
    for name, target in COMMANDS.items():
        assert callable(command(target)), name


def _documents(tmp_path: Path) -> dict[str, Path]:
    """Wrapped documents: one untouched, one signed by the issuer, one tampered with after signing."""
    raw = json.loads((Path(__file__).resolve().parents[2] / "api" / "examples" / "form-d.json").read_text())["raw"]
    _, wrapped = wrap_documents([raw[0], copy.deepcopy(raw[0])])
    signed = sign_document(wrapped[1], Account.create().key)
    tampered = copy.deepcopy(signed)
    tampered["data"]["referenceNumber"] = tampered["data"]["referenceNumber"][:-1] + "x"
    out = {}
    for name, doc in (("plain", wrapped[0]), ("signed", signed), ("tampered", tampered)):
        out[name] = tmp_path / f"{name}.json"
        out[name].write_text(json.dumps(doc))
    return out


def test_verify_offline_loads_nothing_heavy_and_judges_as_the_library(tmp_path):
    docs = _documents(tmp_path)
    for name, path in docs.items():
        code, modules, out = run_certnet(tmp_path, "verify", "--offline", "--json", str(path))
        assert heavy(modules) == [], name
        verdict = json.loads(out)
        expected = Verifier(None).verify_many([path.read_bytes()])[0]
        assert verdict["status"] == expected.status, name
        assert [c["status"] for c in verdict["checks"]] == [c.status for c in expected.checks], name
        assert code == EXIT_CODES[expected.status], name
    # what the library says of these documents, so that the comparison above compares something
    statuses = {n: Verifier(None).verify_many([p.read_bytes()])[0] for n, p in docs.items()}
    assert statuses["plain"].status == statuses["signed"].status == "INTEGRITY_ONLY"
    assert statuses["tampered"].status == "TAMPERED"
    assert any(c.type == "ISSUER_SIGNATURE" for c in statuses["signed"].checks)
