"""Who signs an account's transactions: a key the process holds (decrypted from its keystore), or an external
signer that holds the key itself — go-ethereum's Clef, asked over its JSON-RPC (HTTP or IPC) with
`account_signTransaction`. Clef approves each request by its attested rules (unattended: the issuance pipeline's
anchoring) or asks its operator in its UI (an admin action waits for a person's confirmation), and refuses
otherwise; the key never enters this process.

`Transactor` (certnet.node.tx) signs through a `Signer`, so nonces, fees and retries stay in one place.
Which accounts are in Clef is the signer configuration (`<data dir>/signer.json`, see `SignerConfig`); an
account is either there or in a local keystore, never both.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlparse

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, keccak, to_checksum_address

from certnet import CertnetError

#: The signer configuration in a data directory.
SIGNER_FILE = "signer.json"
#: Roles of the accounts the service signs for.
ROLES = ("issuer", "admin")
#: How long a signature may wait for Clef (a person confirming in its UI takes a while). Over HTTP Clef itself
#: drops the answer after its 30 s write timeout: confirmations by a person should go over IPC.
DEFAULT_TIMEOUT = 300.0


class SignerError(CertnetError, RuntimeError):
    """The external signer could not sign (misconfigured, or it answered with an error)."""


class SignerRefused(SignerError):
    """The external signer refused the request: its rules or its operator denied it. Nothing was signed."""


class SignerUnavailable(SignerError):
    """The external signer could not be reached (not running, wrong address) or did not answer in time."""


class SignerConfigError(CertnetError, ValueError):
    """The signer configuration is invalid (bad file, bad address, an account both local and external)."""


@runtime_checkable
class Signer(Protocol):
    """Signs transactions for one account."""

    address: str

    def sign_transaction(self, tx: dict[str, Any], method: str | None = None) -> bytes:
        """The raw signed transaction (its EIP-2718 envelope) for `tx` as web3 builds it (from, to, nonce, gas,
        fees, chainId, value, data). `method` is the called function's ABI signature, shown to a person asked to
        confirm (and needed by Clef to accept call data); None for a contract creation or a transfer."""
        ...


class LocalKeySigner:
    """A key held by this process (decrypted from an encrypted keystore)."""

    def __init__(self, account: LocalAccount) -> None:
        self.account = account
        self.address: str = account.address

    def __repr__(self) -> str:  # never show the key
        return f"LocalKeySigner({self.address})"

    def sign_transaction(self, tx: dict[str, Any], method: str | None = None) -> bytes:
        return bytes(self.account.sign_transaction(tx).raw_transaction)


# ---------------------------------------------------------------------------------------------- Clef


def _ipc_path(url: str) -> Path | None:
    """The socket path of an IPC endpoint (`ipc:///path/clef.ipc`, or a plain path), None for HTTP(S)."""
    if url.startswith(("http://", "https://")):
        return None
    if url.startswith("ipc://"):
        return Path(urlparse(url).path)
    return Path(url)


class ClefClient:
    """JSON-RPC to Clef's external API (`account_*`) over HTTP(S) or its IPC socket."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not url:
            raise SignerConfigError("no signer URL: give Clef's HTTP endpoint (http://127.0.0.1:8550) or IPC socket")
        self.url = url
        self.timeout = timeout
        self._ipc = _ipc_path(url)
        self._id = 0

    def __repr__(self) -> str:
        return f"ClefClient({self.url})"

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        """Call `method`; a JSON-RPC error is raised as SignerRefused (denied) or SignerError."""
        self._id += 1
        request = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": params or []}
        answer = self._ipc_call(request) if self._ipc is not None else self._http_call(request)
        if not isinstance(answer, dict):
            raise SignerError(f"Clef at {self.url} answered {method} with something that is not JSON-RPC")
        error = answer.get("error")
        if error:
            message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
            if "request denied" in message:
                raise SignerRefused(
                    f"Clef at {self.url} refused {method}: the request was denied by its rules or its operator"
                )
            raise SignerError(f"Clef at {self.url} could not do {method}: {message}")
        return answer.get("result")

    def _http_call(self, request: dict[str, Any]) -> Any:
        try:
            r = httpx.post(self.url, json=request, timeout=httpx.Timeout(self.timeout, connect=5.0))
        except httpx.TimeoutException:
            raise SignerUnavailable(
                f"Clef at {self.url} did not answer {request['method']} within {self.timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            raise SignerUnavailable(f"Clef at {self.url} is not reachable: {exc}") from None
        if r.status_code != 200:
            hint = " (start clef with --http.vhosts naming this host)" if "invalid host" in r.text else ""
            raise SignerUnavailable(f"Clef at {self.url} answered HTTP {r.status_code}: {r.text.strip()[:200]}{hint}")
        try:
            return r.json()
        except ValueError:
            raise SignerError(f"Clef at {self.url} answered with something that is not JSON") from None

    def _ipc_call(self, request: dict[str, Any]) -> Any:
        assert self._ipc is not None
        if not self._ipc.exists():
            raise SignerUnavailable(f"Clef's IPC socket {self._ipc} does not exist (is clef running?)")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(str(self._ipc))
                sock.sendall(json.dumps(request).encode() + b"\n")
                buf = b""
                decoder = json.JSONDecoder()
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise SignerUnavailable(f"Clef closed its IPC socket {self._ipc} before answering")
                    buf += chunk
                    try:
                        answer, _ = decoder.raw_decode(buf.decode().lstrip())
                        return answer
                    except ValueError:
                        continue  # not complete yet
        except TimeoutError:
            raise SignerUnavailable(
                f"Clef at {self._ipc} did not answer {request['method']} within {self.timeout:g}s"
            ) from None
        except OSError as exc:
            raise SignerUnavailable(f"Clef's IPC socket {self._ipc} is not reachable: {exc}") from None

    def version(self) -> str:
        return str(self.call("account_version"))

    def list_accounts(self) -> list[str]:
        """account_list: the accounts Clef holds (its rules or operator must approve the listing)."""
        return [to_checksum_address(a) for a in self.call("account_list") or []]

    def new_account(self) -> str:
        """account_new: Clef creates a key in its keystore; its operator approves and sets the password."""
        return to_checksum_address(self.call("account_new"))


def _hex(value: int) -> str:
    return hex(int(value))


def _clef_tx(tx: dict[str, Any]) -> dict[str, Any]:
    """web3's transaction dict as Clef's SendTxArgs: hex quantities, checksummed addresses (Clef warns, and
    refuses, on a lowercase recipient)."""
    out: dict[str, Any] = {
        "from": to_checksum_address(tx["from"]),
        "gas": _hex(tx["gas"]),
        "value": _hex(tx.get("value", 0)),
        "nonce": _hex(tx["nonce"]),
    }
    if tx.get("to"):
        out["to"] = to_checksum_address(tx["to"])
    data = tx.get("data") or tx.get("input")
    if data:
        out["data"] = data if isinstance(data, str) else "0x" + bytes(data).hex()
    for key in ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas"):
        if tx.get(key) is not None:
            out[key] = _hex(tx[key])
    if tx.get("chainId") is not None:
        out["chainId"] = _hex(tx["chainId"])
    return out


def _same(asked: dict[str, Any], signed: dict[str, Any]) -> list[str]:
    """The fields in which the transaction Clef signed differs from the one asked for (Clef's UI may edit a
    request before approving it; the caller has recorded what it asked for, so an edit is refused)."""

    def num(v: Any) -> int | None:
        return None if v is None else int(v, 16) if isinstance(v, str) else int(v)

    def addr(v: Any) -> str | None:
        return None if not v else str(v).lower()

    differs: list[str] = []
    for key in ("nonce", "gas", "value", "maxFeePerGas", "maxPriorityFeePerGas", "gasPrice", "chainId"):
        if key in asked and num(asked[key]) != num(signed.get(key)):
            differs.append(key)
    if addr(asked.get("to")) != addr(signed.get("to")):
        differs.append("to")
    if (asked.get("data") or "0x").lower() != (signed.get("input") or signed.get("data") or "0x").lower():
        differs.append("data")
    return differs


class ClefSigner:
    """An account whose key is in Clef. Each signature is one `account_signTransaction` request."""

    def __init__(
        self, url: str, address: str, timeout: float = DEFAULT_TIMEOUT, client: ClefClient | None = None
    ) -> None:
        if not is_address(address):
            raise SignerConfigError(f"{address!r} is not an account address")
        self.address: str = to_checksum_address(address)
        self.client = client or ClefClient(url, timeout)

    def __repr__(self) -> str:
        return f"ClefSigner({self.address} at {self.client.url})"

    def sign_transaction(self, tx: dict[str, Any], method: str | None = None) -> bytes:
        if to_checksum_address(tx["from"]) != self.address:
            raise SignerError(f"{self!r} was asked to sign for {tx['from']}")
        args = _clef_tx(tx)
        result = self.client.call("account_signTransaction", [args, method] if method else [args])
        try:
            raw = bytes.fromhex(str(result["raw"]).removeprefix("0x"))
        except (TypeError, KeyError, ValueError):
            raise SignerError(
                f"Clef at {self.client.url} answered account_signTransaction without a raw transaction"
            ) from None
        sender = Account.recover_transaction(raw)
        if sender != self.address:
            raise SignerError(f"Clef at {self.client.url} signed with {sender}, not {self.address}")
        differs = _same(args, result.get("tx") or {})
        if differs:
            raise SignerRefused(
                f"Clef at {self.client.url} signed an edited transaction (changed: "
                f"{', '.join(differs)}); it is not sent — approve the request unchanged"
            )
        return raw


def tx_hash(raw: bytes) -> str:
    """The hash of a signed transaction (keccak of its envelope)."""
    return "0x" + keccak(raw).hex()


# ---------------------------------------------------------------------------------------------- configuration


@dataclass
class SignerAccount:
    address: str
    role: str
    name: str = ""


@dataclass
class SignerConfig:
    """Which accounts the service signs for through Clef, and where Clef answers. Stored as
    `<data dir>/signer.json`: {"url": ..., "timeout": 300, "accounts": [{"address", "role", "name"}]}."""

    url: str
    accounts: list[SignerAccount] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def load(cls, path: Path) -> SignerConfig:
        try:
            raw = json.loads(Path(path).read_text())
        except OSError as exc:
            raise SignerConfigError(f"signer configuration {path} is unreadable: {exc}") from None
        except ValueError as exc:
            raise SignerConfigError(f"signer configuration {path} is not JSON: {exc}") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str) or not raw["url"]:
            raise SignerConfigError(f"signer configuration {path}: `url` (Clef's endpoint) is missing")
        accounts = []
        for i, a in enumerate(raw.get("accounts") or []):
            where = f"signer configuration {path}: accounts[{i}]"
            if not isinstance(a, dict) or not is_address(a.get("address", "")):
                raise SignerConfigError(f"{where}: `address` is not an account address")
            if a.get("role") not in ROLES:
                raise SignerConfigError(f"{where}: `role` must be one of {', '.join(ROLES)}, got {a.get('role')!r}")
            accounts.append(SignerAccount(to_checksum_address(a["address"]), a["role"], str(a.get("name", ""))))
        seen: set[str] = set()
        for a in accounts:
            if a.address in seen:
                raise SignerConfigError(f"signer configuration {path}: {a.address} is listed twice")
            seen.add(a.address)
        timeout = raw.get("timeout", DEFAULT_TIMEOUT)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise SignerConfigError(f"signer configuration {path}: `timeout` must be a positive number of seconds")
        return cls(url=raw["url"], accounts=accounts, timeout=float(timeout))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "url": self.url,
                    "timeout": self.timeout,
                    "accounts": [{"address": a.address, "role": a.role, "name": a.name} for a in self.accounts],
                },
                indent=2,
            )
            + "\n"
        )
        os.replace(tmp, path)

    def addresses(self, role: str) -> list[str]:
        return [a.address for a in self.accounts if a.role == role]

    def find(self, address: str) -> SignerAccount | None:
        address = to_checksum_address(address)
        return next((a for a in self.accounts if a.address == address), None)

    def add(self, address: str, role: str, name: str = "") -> SignerAccount:
        if role not in ROLES:
            raise SignerConfigError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        account = SignerAccount(to_checksum_address(address), role, name)
        if self.find(account.address) is None:
            self.accounts.append(account)
        return account

    def signer(self, address: str) -> ClefSigner:
        return ClefSigner(self.url, address, self.timeout)

    def check_separate(self, local: dict[str, Path]) -> None:
        """Refuse an account that is both in Clef and in a local keystore (`local`: address -> keystore)."""
        for a in self.accounts:
            ks = local.get(a.address)
            if ks is not None:
                raise SignerConfigError(
                    f"account {a.address} is both in the external signer and in the local "
                    f"keystore {ks}: keep it in one place (move the keystore away, or remove "
                    f"the account from {SIGNER_FILE})"
                )


def load_signer_config(data_dir: Path) -> SignerConfig | None:
    """The data directory's signer configuration, None when it has none."""
    path = Path(data_dir) / SIGNER_FILE
    return SignerConfig.load(path) if path.is_file() else None


def open_signers(keystores: Iterable[Path], secret: str, config: SignerConfig | None, role: str) -> list[Signer]:
    """The signers of one role: each local keystore decrypted, then each account of that role in Clef. An
    account both local and in Clef is refused (SignerConfigError) before any key is decrypted."""
    from certnet.node.keys import keystore_address, load_key

    keystores = list(keystores)
    if config is not None:
        config.check_separate({keystore_address(ks): ks for ks in keystores})
    signers: list[Signer] = [LocalKeySigner(load_key(ks, secret)) for ks in keystores]
    if config is not None:
        signers += [config.signer(a) for a in config.addresses(role)]
    return signers


def rules_js(accounts: Iterable[str], stores: Iterable[str] = ()) -> str:
    """Clef rules (JavaScript) that approve without asking: value-free transactions of `accounts` (the issuers'
    keys: anchoring, revoking, superseding) — to one of `stores` when given — and account listings. Every
    other request (admin actions among them) goes to Clef's UI for a person to confirm. Clef runs the rules only
    once attested (`clef attest <sha256 of the file>`) and signs unattended only for accounts whose password
    it stores (`clef setpw ADDRESS`)."""
    accs = sorted({to_checksum_address(a).lower() for a in accounts})
    to = sorted({to_checksum_address(s).lower() for s in stores})
    return f"""// certnet: Clef rules for issuers' keys (generated; attest with `clef attest $(sha256sum FILE)`)
var ACCOUNTS = {json.dumps(accs)};
var STORES = {json.dumps(to)};

function ApproveTx(req) {{
  var tx = req.transaction;
  if (ACCOUNTS.indexOf(String(tx.from).toLowerCase()) < 0) {{ return; }}  // ask the UI
  if (tx.value && new BigNumber(String(tx.value).slice(2), 16).gt(0)) {{ return "Reject"; }}
  if (!tx.to) {{ return "Reject"; }}
  if (STORES.length > 0 && STORES.indexOf(String(tx.to).toLowerCase()) < 0) {{ return; }}
  return "Approve";
}}

function ApproveListing(req) {{ return "Approve"; }}

function OnApprovedTx(res) {{}}
function OnSignerStartup(info) {{}}
"""
