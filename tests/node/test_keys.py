"""Keys: new keystores at the standard scrypt cost (2**18), older ones (2**15) still open; a production start — any
chain but the local demo's (chain id 31337 on a loopback address) — refuses a plain passphrase file and takes the
passphrase from the environment only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from certnet.node.engines import AnvilEngine, free_port
from certnet.node.keys import (
    SCRYPT_N,
    KeystoreError,
    PassphrasePolicyError,
    create_keystore,
    is_local_demo,
    load_key,
    service_passphrase,
)
from tests.conftest import TEST_SCRYPT_N, make_net

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]


def kdf_n(path: Path) -> int:
    return json.loads(path.read_text())["crypto"]["kdfparams"]["n"]


def test_new_keystores_use_the_standard_scrypt_cost_and_old_ones_open(tmp_path):
    key = Account.create().key
    assert SCRYPT_N == 2**18
    address = create_keystore(tmp_path / "new.json", "pass", key)
    assert kdf_n(tmp_path / "new.json") == 2**18 and oct((tmp_path / "new.json").stat().st_mode & 0o777) == "0o600"
    assert load_key(tmp_path / "new.json", "pass").address == address
    # a keystore written before, at 2**15, opens as it is
    create_keystore(tmp_path / "old.json", "pass", key, scrypt_n=2**15)
    assert kdf_n(tmp_path / "old.json") == 2**15
    assert load_key(tmp_path / "old.json", "pass").address == address
    with pytest.raises(KeystoreError, match="wrong passphrase"):
        load_key(tmp_path / "old.json", "nope")
    # a lower cost only when asked for, and only a sensible one
    create_keystore(tmp_path / "test.json", "pass", key, scrypt_n=TEST_SCRYPT_N)
    assert kdf_n(tmp_path / "test.json") == TEST_SCRYPT_N
    for bad in (2**8, 3000):
        with pytest.raises(ValueError, match="power of two"):
            create_keystore(tmp_path / "bad.json", "pass", key, scrypt_n=bad)


def test_what_counts_as_the_local_demo():
    assert is_local_demo(31337, "http://127.0.0.1:8545") and is_local_demo(31337, "http://localhost:8545")
    assert is_local_demo(31337, "http://[::1]:8545")
    assert not is_local_demo(31337, "http://10.0.0.5:8545")  # anvil's id on another host: production
    assert not is_local_demo(31337, "http://127.0.0.1.example.org:8545")
    assert not is_local_demo(1337, "http://127.0.0.1:8545")  # a geth/Besu network on this host: production
    assert not is_local_demo(31337, None)


def test_service_passphrase_policy(tmp_path, monkeypatch):
    monkeypatch.delenv("CERTNET_PASSPHRASE", raising=False)
    monkeypatch.delenv("CERTNET_PASSPHRASE_FILE", raising=False)
    local, prod = (31337, "http://127.0.0.1:8545"), (4242, "http://127.0.0.1:8545")
    # the local demo creates and reads <data dir>/passphrase
    secret = service_passphrase(tmp_path, *local)
    assert (tmp_path / "passphrase").read_text().strip() == secret
    with pytest.raises(PassphrasePolicyError, match="refuses a plain passphrase file beside the keys"):
        service_passphrase(tmp_path, *prod)
    (tmp_path / "passphrase").unlink()
    with pytest.raises(PassphrasePolicyError, match="takes it from CERTNET_PASSPHRASE only"):
        service_passphrase(tmp_path, *prod)
    other = tmp_path / "elsewhere"
    other.write_text("from-a-file\n")
    monkeypatch.setenv("CERTNET_PASSPHRASE_FILE", str(other))
    with pytest.raises(PassphrasePolicyError, match="does not read the keystore passphrase from a file"):
        service_passphrase(tmp_path, *prod)
    assert service_passphrase(tmp_path, *local) == "from-a-file"  # the demo still may
    monkeypatch.delenv("CERTNET_PASSPHRASE_FILE")
    monkeypatch.setenv("CERTNET_PASSPHRASE", "from-the-environment")
    assert service_passphrase(tmp_path, *prod) == "from-the-environment"
    assert not (tmp_path / "passphrase").exists()  # production never writes one


def _serve(home: Path, port: int, **env: str) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CERTNET_")}
    return subprocess.Popen(
        [sys.executable, "-m", "certnet.cli.main", "--data-dir", str(home), "serve", "--port", str(port)],
        env={**base, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_production_start_refuses_a_passphrase_file(tmp_path):
    """`certnet serve` against a chain that is not the local demo's (here an anvil with chain id 4242): a passphrase
    file (beside the keys or named by CERTNET_PASSPHRASE_FILE) stops it before any process starts; the passphrase
    in CERTNET_PASSPHRASE serves."""
    engine = AnvilEngine(tmp_path / "node", chain_id=4242).start()
    try:
        net = make_net(engine)
        home = tmp_path / "home"
        net.deployment.rpc_url = engine.rpc_url
        net.deployment.save(home / "deployment.json")
        create_keystore(
            home / "keys" / "vn-issuer.json", "prod-pass", net.actors["vn_issuer"].account.key, scrypt_n=TEST_SCRYPT_N
        )
        (home / "passphrase").write_text("prod-pass\n")
        proc = _serve(home, free_port())
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 2, out
        assert "refuses a plain passphrase file beside the keys" in out and "chain 4242" in out
        assert "Traceback" not in out
        (home / "passphrase").unlink()
        (tmp_path / "secret").write_text("prod-pass\n")
        proc = _serve(home, free_port(), CERTNET_PASSPHRASE_FILE=str(tmp_path / "secret"))
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 2 and "does not read the keystore passphrase from a file" in out, out
        proc = _serve(home, free_port())
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 2 and "CERTNET_PASSPHRASE only" in out, out

        port = free_port()
        proc = _serve(home, port, CERTNET_PASSPHRASE="prod-pass")
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the service did not come up"
                time.sleep(0.2)
            assert not (home / "passphrase").exists()
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        engine.stop()
