"""The README's main command end to end: `certnet up` brings up node, contracts, keys, issuers, service and
sample certificates; it is idempotent; `certnet down` stops everything and a second `up` keeps the chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from certnet.node.engines import free_port


def certnet(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTNET_")}
    env["CERTNET_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "certnet.cli.main", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_up_down_up(tmp_path):
    home = tmp_path / "home"
    node_port, api_port = free_port(), free_port()
    try:
        r = certnet(home, "up", "--port", str(node_port), "--api-port", str(api_port))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "certnet is up" in r.stdout
        url = f"http://127.0.0.1:{api_port}"
        pid = json.loads((home / "service.json").read_text())["pid"]
        workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert len(workers) == (2 if (os.cpu_count() or 1) > 1 else 0)  # `certnet serve --workers N`: one per core
        keys = json.loads((home / "api-keys.json").read_text())
        assert oct((home / "api-keys.json").stat().st_mode & 0o777) == "0o600"
        assert oct((home / "passphrase").stat().st_mode & 0o777) == "0o600"
        for f in (home / "keys").glob("*.json"):  # keystores are encrypted, never plain keys
            blob = json.loads(f.read_text())
            assert "crypto" in blob and "privateKey" not in f.read_text()
        issuer = {"authorization": f"Bearer {keys['issuer-VN']}"}
        deadline = time.monotonic() + 60
        while True:
            docs = httpx.get(f"{url}/v1/documents?limit=100", headers=issuer, timeout=10).json()
            if len(docs) == 12 and all(d["state"] == "ANCHORED" for d in docs):
                break
            assert time.monotonic() < deadline, docs
            time.sleep(0.5)
        wrapped = httpx.get(f"{url}/v1/documents/{docs[0]['id']}", headers=issuer, timeout=10).json()["wrapped"]
        customs = {"authorization": f"Bearer {keys['customs-TH']}"}
        v = httpx.post(f"{url}/v1/verify", json={"document": wrapped}, headers=customs, timeout=30).json()
        assert v["status"] == "VALID" and v["issuer"]["country"] == "VN"
        assert httpx.get(f"{url}/portal", timeout=10).status_code == 200
        # the TH customs key the service holds was registered by TH's admin: TH records a decision on chain
        from certnet.verifier.salting import unsalt_data

        for_th = next(
            w
            for w in (
                httpx.get(f"{url}/v1/documents/{d['id']}", headers=issuer, timeout=10).json()["wrapped"] for d in docs
            )
            if unsalt_data(w["data"])["importingCountry"] == "TH"
        )
        entry = httpx.post(f"{url}/v1/inbox", json={"document": for_th}, headers=customs, timeout=30).json()
        d = httpx.post(
            f"{url}/v1/decisions",
            json={"certificate": {"inboxId": entry["id"]}, "preference": "GIVEN"},
            headers=customs,
            timeout=60,
        )
        assert d.status_code == 201 and d.json()["version"] == 1, d.text
        r = certnet(home, "node", "status")
        assert r.returncode == 0 and f"127.0.0.1:{node_port}" in r.stdout

        again = certnet(home, "up", "--port", str(node_port), "--api-port", str(api_port))  # idempotent
        assert again.returncode == 0, again.stderr
        assert "contracts already at" in again.stdout
        assert len(httpx.get(f"{url}/v1/documents?limit=100", headers=issuer, timeout=10).json()) == 12

        down = certnet(home, "down")
        assert down.returncode == 0 and "service: stopped" in down.stdout and "node: stopped" in down.stdout
        assert certnet(home, "node", "status").returncode == 3

        up = certnet(home, "up", "--port", str(node_port), "--api-port", str(api_port))  # state was kept
        assert up.returncode == 0, up.stderr
        assert "contracts already at" in up.stdout
        v = httpx.post(f"{url}/v1/verify", json={"document": wrapped}, headers=customs, timeout=30).json()
        assert v["status"] == "VALID"
    finally:
        certnet(home, "down")
