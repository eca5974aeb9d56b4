"""Encrypted keystores (Web3 Secret Storage v3, scrypt) for admin, deployer and issuer keys.

Keys are never stored or logged in plain text. The passphrase comes from an environment variable
(`CERTNET_PASSPHRASE` by default) or a file (`CERTNET_PASSPHRASE_FILE`, or an explicit path). A production
start refuses the file (:func:`service_passphrase`): only the local demo chain may keep its passphrase beside
its keys.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from certnet import CertnetError

PASSPHRASE_ENV = "CERTNET_PASSPHRASE"
PASSPHRASE_FILE_ENV = "CERTNET_PASSPHRASE_FILE"
#: scrypt cost of new keystores: 2**18, the Web3 Secret Storage standard (about a second and 256 MiB per unlock on
#: this machine). Keystores written at another cost (certnet wrote 2**15 before) open as they are: the cost is in
#: the file.
SCRYPT_N = 2**18
#: the lowest cost :func:`create_keystore` accepts when asked explicitly (tests, throwaway keys)
MIN_SCRYPT_N = 2**10
#: the local demo chain: anvil's chain id, which `certnet up` and `certnet node up` use, served on loopback
LOCAL_DEMO_CHAIN_ID = 31337
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class KeystoreError(CertnetError, RuntimeError):
    """A keystore is missing, unreadable, or the passphrase is wrong or absent."""


def passphrase(file: str | Path | None = None, env: str = PASSPHRASE_ENV) -> str:
    """The keystore passphrase: from `file`, else $CERTNET_PASSPHRASE_FILE, else $CERTNET_PASSPHRASE."""
    path = file or os.environ.get(PASSPHRASE_FILE_ENV)
    if path:
        p = Path(path)
        if not p.is_file():
            raise KeystoreError(f"passphrase file {p} not found")
        value = p.read_text().rstrip("\n")
    else:
        value = os.environ.get(env, "")
    if not value:
        raise KeystoreError(f"no keystore passphrase: set {env} or {PASSPHRASE_FILE_ENV} (a file readable only by you)")
    return value


def create_keystore(path: Path, secret: str, key: str | bytes | None = None, scrypt_n: int = SCRYPT_N) -> str:
    """Write an encrypted keystore (mode 0600) for `key` or a fresh key; return the address. `scrypt_n` lower
    than the standard only when asked for (tests: creating and unlocking keys a second each adds up)."""
    if scrypt_n < MIN_SCRYPT_N or scrypt_n & (scrypt_n - 1):
        raise ValueError(f"scrypt cost n must be a power of two of at least {MIN_SCRYPT_N}, not {scrypt_n}")
    account = Account.from_key(key) if key is not None else Account.create()
    blob = Account.encrypt(account.key, secret, kdf="scrypt", iterations=scrypt_n)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as f:
        json.dump(blob, f)
    return cast("str", account.address)


def keystore_address(path: Path) -> str:
    """The address a keystore holds, read without decrypting."""
    try:
        return to_checksum_address("0x" + json.loads(Path(path).read_text())["address"].removeprefix("0x"))
    except (OSError, KeyError, ValueError) as exc:
        raise KeystoreError(f"keystore {path} is unreadable: {exc}") from None


def load_key(path: Path, secret: str) -> LocalAccount:
    """Decrypt a keystore."""
    p = Path(path)
    if not p.is_file():
        raise KeystoreError(f"keystore {p} not found")
    try:
        blob = json.loads(p.read_text())
    except ValueError as exc:
        raise KeystoreError(f"keystore {p} is not JSON: {exc}") from None
    try:
        return cast("LocalAccount", Account.from_key(Account.decrypt(blob, secret)))
    except ValueError:
        raise KeystoreError(f"wrong passphrase for keystore {p}") from None


def is_local_demo(chain_id: int, rpc_url: str | None) -> bool:
    """The rule for what is not a production start: the local demo chain, i.e. chain id 31337 (anvil's, the one
    `certnet up` runs) read through a loopback address. Every other chain — a consortium network, Besu, geth,
    an anvil with another chain id or on another host — is production. (A production chain must not use 31337.)"""
    host = urlsplit(rpc_url or "").hostname or ""
    return chain_id == LOCAL_DEMO_CHAIN_ID and host in _LOOPBACK_HOSTS


class PassphrasePolicyError(KeystoreError):
    """A production start was given its keystore passphrase in a file."""


def local_passphrase(data_dir: Path) -> str:
    """The keystore passphrase from the environment, else the local one (created on first use)."""
    if os.environ.get(PASSPHRASE_ENV) or os.environ.get(PASSPHRASE_FILE_ENV):
        return passphrase()
    f = data_dir / "passphrase"
    if not f.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24) + "\n")
    return passphrase(file=f)


def service_passphrase(data_dir: Path, chain_id: int, rpc_url: str | None) -> str:
    """The passphrase that unlocks the service's keystores. On the local demo chain (:func:`is_local_demo`) from
    $CERTNET_PASSPHRASE, $CERTNET_PASSPHRASE_FILE or `<data dir>/passphrase` (created on first use); in
    production only from $CERTNET_PASSPHRASE, and never while a passphrase file is configured or lies in the
    data directory (a plain passphrase beside the keys it opens protects nothing)."""
    if is_local_demo(chain_id, rpc_url):
        return local_passphrase(data_dir)
    where = f"chain {chain_id} at {rpc_url or 'an unknown address'} is not the local demo chain"
    file_env = os.environ.get(PASSPHRASE_FILE_ENV)
    if file_env:
        raise PassphrasePolicyError(
            f"{PASSPHRASE_FILE_ENV}={file_env}: a production start ({where}) does not read the keystore passphrase "
            f"from a file; unset it and give the passphrase in {PASSPHRASE_ENV} (from the service manager's "
            "credential store, for instance)"
        )
    local_file = Path(data_dir) / "passphrase"
    if local_file.exists():
        raise PassphrasePolicyError(
            f"{local_file}: a production start ({where}) refuses a plain passphrase file beside the keys; remove "
            f"it and give the passphrase in {PASSPHRASE_ENV}"
        )
    if not os.environ.get(PASSPHRASE_ENV):
        raise PassphrasePolicyError(
            f"no keystore passphrase: a production start ({where}) takes it from {PASSPHRASE_ENV} only"
        )
    return os.environ[PASSPHRASE_ENV]
