"""Encrypted keystores (Web3 Secret Storage v3, scrypt) for admin, deployer and issuer keys.

Keys are never stored or logged in plain text. The passphrase comes from an environment variable
(`CERTNET_PASSPHRASE` by default) or a file (`CERTNET_PASSPHRASE_FILE`, or an explicit path).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

PASSPHRASE_ENV = "CERTNET_PASSPHRASE"
PASSPHRASE_FILE_ENV = "CERTNET_PASSPHRASE_FILE"
#: scrypt cost; 2**18 is the Web3 Secret Storage default (about a second per unlock on this machine).
SCRYPT_N = 2**15


class KeystoreError(RuntimeError):
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
        raise KeystoreError(
            f"no keystore passphrase: set {env} or {PASSPHRASE_FILE_ENV} (a file readable only by you)"
        )
    return value


def create_keystore(path: Path, secret: str, key: str | bytes | None = None) -> str:
    """Write an encrypted keystore (mode 0600) for `key` or a fresh key; return the address."""
    account = Account.from_key(key) if key is not None else Account.create()
    blob = Account.encrypt(account.key, secret, kdf="scrypt", iterations=SCRYPT_N)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as f:
        json.dump(blob, f)
    return account.address


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
        return Account.from_key(Account.decrypt(blob, secret))
    except ValueError:
        raise KeystoreError(f"wrong passphrase for keystore {p}") from None
