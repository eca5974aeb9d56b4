"""A real Clef (go-ethereum v1.13.15's external signer) for tests, set up without a terminal:

* `clef init` creates the master seed (its password piped on stdin, as to any program without a terminal);
* `clef setpw ADDRESS` stores an account's password so that attested rules can sign for it unattended;
* `clef attest SHA256` attests a rules file (certnet.node.signers.rules_js);
* the signer runs with `--stdio-ui`: the UI is this harness, a thread speaking Clef's UI JSON-RPC on its
  stdin/stdout — it gives the master password, answers `ui_approveTx` by `approve(request)` (a person's
  decision in production) and an account's password when Clef asks for one; every request is recorded.

Clef serves its external API over HTTP on 127.0.0.1 (a free port it picks; the harness learns it from
`ui_onSignerStartup`) and IPC.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account

ROOT = Path(__file__).resolve().parents[2]
MASTER = "clef-master-password-for-tests"


def clef_binary() -> Path:
    """The clef the set-up built (.tools/bin/clef, or $CERTNET_CLEF); a missing one fails the test."""
    path = Path(os.environ.get("CERTNET_CLEF") or ROOT / ".tools" / "bin" / "clef")
    if not path.is_file():
        raise AssertionError(f"clef not found at {path}: run scripts/setup.sh (scripts/setup.d/clef.sh)")
    return path


def write_keystore(path: Path, key: bytes, password: str) -> str:
    """A keystore Clef can read (cheap scrypt: tests sign often); returns the address."""
    blob = Account.encrypt(key, password, kdf="scrypt", iterations=2**12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(blob))
    return Account.from_key(key).address


class Clef:
    """One clef process with a scripted UI. `approve` decides each transaction the rules pass to the UI."""

    def __init__(self, root: Path, chain_id: int) -> None:
        self.root = root
        self.chain_id = chain_id
        self.configdir = root / "config"
        self.keystore = root / "keystore"
        self.keystore.mkdir(parents=True, exist_ok=True)
        self.rules: Path | None = None
        self.passwords: dict[str, str] = {}  # lowercase address -> password the "operator" types
        self.approve: Callable[[dict[str, Any]], bool] = lambda request: True
        self.new_account_password = "new-account-password-1"
        self.requests: list[dict[str, Any]] = []  # every UI request (method, params)
        self.proc: subprocess.Popen[str] | None = None
        self.url: str | None = None
        self.ipc: str | None = None
        self._ready = threading.Event()
        self._write = threading.Lock()

    # -- set-up commands (no terminal: passwords piped on stdin)
    def _run(self, *args: str, stdin: str) -> str:
        r = subprocess.run(
            [
                str(clef_binary()),
                "--suppress-bootwarn",
                "--configdir",
                str(self.configdir),
                "--keystore",
                str(self.keystore),
                "--lightkdf",
                *args,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if r.returncode != 0:
            raise AssertionError(f"clef {args[0]} failed ({r.returncode}): {r.stdout}\n{r.stderr}")
        return r.stdout + r.stderr

    def init(self) -> None:
        self._run("init", stdin=f"{MASTER}\n{MASTER}\n")

    def setpw(self, address: str, password: str) -> None:
        self._run("setpw", address, stdin=f"{password}\n{password}\n{MASTER}\n")

    def attest(self, rules_text: str) -> Path:
        self.rules = self.root / "rules.js"
        self.rules.write_text(rules_text)
        self._run("attest", hashlib.sha256(rules_text.encode()).hexdigest(), stdin=f"{MASTER}\n")
        return self.rules

    # -- the signer with this harness as its UI
    def start(self, timeout: float = 60.0) -> Clef:
        cmd = [
            str(clef_binary()),
            "--suppress-bootwarn",
            "--stdio-ui",
            "--configdir",
            str(self.configdir),
            "--keystore",
            str(self.keystore),
            "--chainid",
            str(self.chain_id),
            "--nousb",
            "--http",
            "--http.addr",
            "127.0.0.1",
            "--http.port",
            "0",
            "--http.vhosts",
            "127.0.0.1,localhost",
            "--ipcpath",
            str(self.root / "ipc"),
            "--4bytedb-custom",
            str(self.root / "4byte-custom.json"),
            "--auditlog",
            str(self.root / "audit.log"),
        ]
        if self.rules is not None:
            cmd += ["--rules", str(self.rules)]
        self.stderr = open(self.root / "clef.log", "w")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True, bufsize=1
        )
        threading.Thread(target=self._ui, name="clef-ui", daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"clef did not start: {self.log()}")
        return self

    def log(self) -> str:
        return (self.root / "clef.log").read_text() if (self.root / "clef.log").exists() else ""

    def _reply(self, msg_id: Any, result: Any) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        with self._write:
            self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": msg_id, "result": result}) + "\n")
            self.proc.stdin.flush()

    def _ui(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            method, params = msg.get("method"), (msg.get("params") or [{}])[0]
            self.requests.append({"method": method, "params": params})
            result: Any = None
            if method == "ui_onInputRequired":
                if params.get("title") == "Master Password":
                    result = {"text": MASTER}
                elif params.get("title") == "New account password":
                    result = {"text": self.new_account_password}
                else:  # "Please enter the password for account 0x..."
                    address = params.get("prompt", "").rsplit(" ", 1)[-1].lower()
                    result = {"text": self.passwords.get(address, "")}
            elif method == "ui_onSignerStartup":
                info = params.get("info", {})
                self.url, self.ipc = info.get("extapi_http"), info.get("extapi_ipc")
                self._ready.set()
            elif method == "ui_approveTx":
                ok = bool(self.approve(params))
                result = {"transaction": params["transaction"], "approved": ok}
            elif method == "ui_approveNewAccount":
                result = {"approved": True}
            elif method == "ui_approveListing":
                result = {"accounts": params.get("accounts", [])}
            elif method == "ui_approveSignData":
                result = {"approved": False}
            if "id" in msg:
                self._reply(msg["id"], result)

    def ui_transactions(self) -> list[dict[str, Any]]:
        """The transactions Clef put before its UI (those its rules did not decide)."""
        return [r["params"]["transaction"] for r in self.requests if r["method"] == "ui_approveTx"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "stderr", None):
            self.stderr.close()
