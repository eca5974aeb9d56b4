"""`certnet key create|list|import|fund`: the service's signing keys, in encrypted keystores in the data directory
(`<data dir>/keys/NAME.json`; the service signs with `*-issuer.json` and `*-admin.json`) or in an external
signer, Clef (the accounts listed in `<data dir>/signer.json`; Clef keeps the keys and asks its rules or its
operator before each signature). An account is in one place, never both.

Keystore passphrases come from $CERTNET_PASSPHRASE or $CERTNET_PASSPHRASE_FILE (the local demo: the data
directory's generated passphrase file), never from an argument; nothing secret is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from eth_utils import is_address, to_checksum_address

from certnet import CertnetError
from certnet.cli.parser import IMPORT_PASSPHRASE_ENV
from certnet.node import keys
from certnet.node.paths import data_dir
from certnet.node.signers import (
    SIGNER_FILE,
    ClefClient,
    SignerConfig,
    SignerConfigError,
    SignerError,
    load_signer_config,
)

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress
    from web3.types import TxReceipt

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class KeyCommandError(CertnetError):
    """A user-facing error of `certnet key` (printed as one line, exit code 2 for bad input)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _home(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if getattr(args, "data_dir", None) else data_dir()


def role_of(name: str) -> str | None:
    """The service's role for a key named NAME: `*-issuer` and `*-admin` (None: not used by the service)."""
    for role in ("issuer", "admin"):
        if name.endswith(f"-{role}"):
            return role
    return None


def _check_name(name: str) -> str:
    if not NAME.match(name):
        raise KeyCommandError(f"key name {name!r}: use letters, digits, '.', '_' and '-' (at most 64), e.g. vn-issuer")
    return name


def _local_keystores(home: Path) -> dict[str, Path]:
    """address -> keystore file, for every keystore in <data dir>/keys."""
    out = {}
    for f in sorted((home / "keys").glob("*.json")):
        try:
            out[keys.keystore_address(f)] = f
        except keys.KeystoreError:
            continue
    return out


def _signer_config(home: Path, url: str | None) -> SignerConfig:
    """The data directory's signer configuration, created for `url` when there is none."""
    try:
        config = load_signer_config(home)
    except SignerConfigError as exc:
        raise KeyCommandError(str(exc)) from None
    if config is None:
        if not url:
            raise KeyCommandError(f"no external signer configured ({home / SIGNER_FILE}): pass --clef URL")
        return SignerConfig(url=url)
    if url and url != config.url:
        raise KeyCommandError(
            f"{home / SIGNER_FILE} names Clef at {config.url}, not {url}: one signer per data "
            "directory (edit the file to move)"
        )
    return config


def _secret(home: Path) -> str:
    from certnet.system.local import local_passphrase

    return local_passphrase(home)


def _role(args: argparse.Namespace, name: str) -> str:
    role = args.role or role_of(name)
    if role is None:
        raise KeyCommandError(f"key {name!r} in Clef needs --role issuer|admin (or a name ending in -issuer or -admin)")
    return role


# ------------------------------------------------------------------ create


def cmd_create(args: argparse.Namespace) -> int:
    home = _home(args)
    name = _check_name(args.name)
    path = home / "keys" / f"{name}.json"
    if args.clef:
        role = _role(args, name)
        config = _signer_config(home, args.clef)
        if path.exists():
            raise KeyCommandError(f"a local keystore {path} already has the name {name}: an account lives in one place")
        try:  # Clef asks its operator to approve and to set the new key's password
            address = ClefClient(config.url, config.timeout).new_account()
        except SignerError as exc:
            raise KeyCommandError(str(exc), 1) from None
        config.add(address, role, name)
        config.check_separate(_local_keystores(home))
        config.save(home / SIGNER_FILE)
        print(f"{address}\t{role}\tin Clef at {config.url} (recorded in {home / SIGNER_FILE})")
        return 0
    if path.exists():
        raise KeyCommandError(f"keystore {path} already exists (address {keys.keystore_address(path)})")
    address = keys.create_keystore(path, _secret(home))
    _refuse_if_in_clef(home, address, path)
    print(f"{address}\t{role_of(name) or '-'}\tkeystore {path}")
    return 0


def _refuse_if_in_clef(home: Path, address: str, written: Path | None = None) -> None:
    try:
        config = load_signer_config(home)
    except SignerConfigError:
        config = None
    if config is not None and config.find(address) is not None:
        if written is not None:
            written.unlink()
        raise KeyCommandError(
            f"account {address} is in the external signer ({home / SIGNER_FILE}): an account lives in one place"
        )


# ------------------------------------------------------------------ list


def cmd_list(args: argparse.Namespace) -> int:
    home = _home(args)
    rows: list[dict[str, Any]] = []
    for f in sorted((home / "keys").glob("*.json")):
        try:
            blob = json.loads(f.read_text())
            address = keys.keystore_address(f)
        except (OSError, ValueError, keys.KeystoreError):
            rows.append({"name": f.stem, "address": None, "role": role_of(f.stem), "where": f"unreadable {f}"})
            continue
        n = (blob.get("crypto") or blob.get("Crypto") or {}).get("kdfparams", {}).get("n")
        rows.append(
            {"name": f.stem, "address": address, "role": role_of(f.stem), "where": f"keystore {f}", "scryptN": n}
        )
    try:
        config = load_signer_config(home)
    except SignerConfigError as exc:
        raise KeyCommandError(str(exc)) from None
    held: set[str] | None = None
    note = ""
    if config is not None:
        if args.ask_clef:
            try:
                held = set(ClefClient(config.url, config.timeout).list_accounts())
            except SignerError as exc:
                note = f" (not confirmed: {exc})"
        for a in config.accounts:
            where = f"Clef at {config.url}"
            if held is not None:
                where += "" if a.address in held else " — NOT among Clef's accounts"
            rows.append({"name": a.name, "address": a.address, "role": a.role, "where": where + note})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            cost = f" (scrypt n={r['scryptN']})" if r.get("scryptN") else ""
            print(f"{r['name'] or '-'}\t{r['address'] or '-'}\t{r['role'] or '-'}\t{r['where']}{cost}")
    return 0


# ------------------------------------------------------------------ import


def _read_source(src: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(keystore JSON, None) or (None, hex private key) from the file `src`."""
    try:
        text = src.read_text().strip()
    except OSError as exc:
        raise KeyCommandError(f"{src}: {exc.strerror or exc}") from None
    if text.startswith("{"):
        try:
            blob = json.loads(text)
        except ValueError as exc:
            raise KeyCommandError(f"{src} is not a keystore (bad JSON: {exc})") from None
        crypto = blob.get("crypto") or blob.get("Crypto")
        if not isinstance(crypto, dict) or not is_address("0x" + str(blob.get("address", "")).removeprefix("0x")):
            raise KeyCommandError(f"{src} is not a keystore (Web3 Secret Storage v3: `address` and `crypto`)")
        return blob, None
    if re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", text):
        return None, text
    raise KeyCommandError(f"{src} holds neither an encrypted keystore (JSON) nor a private key (64 hex digits)")


def _import_passphrase(args: argparse.Namespace, home: Path) -> str:
    if args.source_passphrase_file:
        return keys.passphrase(file=args.source_passphrase_file)
    if os.environ.get(IMPORT_PASSPHRASE_ENV):
        return os.environ[IMPORT_PASSPHRASE_ENV]
    return _secret(home)


def cmd_import(args: argparse.Namespace) -> int:
    home = _home(args)
    name = _check_name(args.name)
    src = Path(args.source)
    blob, raw = _read_source(src)
    if args.clef_keystore:
        if blob is None:
            raise KeyCommandError(
                "Clef imports encrypted keystores only: encrypt the key first (`certnet key import` "
                "into the data directory), or use `clef importraw` on the Clef host"
            )
        role = _role(args, name)
        config = _signer_config(home, args.clef)
        address: str = to_checksum_address("0x" + str(blob["address"]).removeprefix("0x"))
        config.add(address, role, name)
        config.check_separate(_local_keystores(home))  # checked before Clef gets the file
        dest_dir = Path(args.clef_keystore)
        dest_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S.%fZ")
        dest = dest_dir / f"UTC--{stamp}--{address[2:].lower()}"
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as f:
            json.dump(blob, f)
        config.save(home / SIGNER_FILE)
        print(
            f"{address}\t{role}\tin Clef's keystore {dest} (recorded in {home / SIGNER_FILE}); Clef asks for its "
            "password, or stores it with `clef setpw`"
        )
        return 0
    path = home / "keys" / f"{name}.json"
    if path.exists():
        raise KeyCommandError(f"keystore {path} already exists (address {keys.keystore_address(path)})")
    key: bytes
    if blob is not None:
        try:
            from eth_account import Account

            key = Account.decrypt(blob, _import_passphrase(args, home))
        except ValueError:
            raise KeyCommandError(
                f"{src}: wrong passphrase (give the keystore's own with --source-passphrase-file or "
                f"${IMPORT_PASSPHRASE_ENV}; default: the certnet passphrase)",
                1,
            ) from None
    else:
        key = bytes.fromhex(raw.removeprefix("0x"))  # type: ignore[union-attr]
    address = keys.create_keystore(path, _secret(home), key)
    _refuse_if_in_clef(home, address, path)
    print(
        f"{address}\t{role_of(name) or '-'}\tkeystore {path} (re-encrypted with the certnet passphrase, "
        f"scrypt n={keys.SCRYPT_N})"
    )
    return 0


# ------------------------------------------------------------------ fund


def cmd_fund(args: argparse.Namespace) -> int:
    from decimal import Decimal, InvalidOperation

    from certnet.node.engines import connect, dev_keys
    from certnet.node.tx import Transactor

    if not is_address(args.address):
        raise KeyCommandError(f"{args.address!r} is not an account address")
    to = to_checksum_address(args.address)
    try:
        wei = int(Decimal(args.ether) * 10**18)
    except InvalidOperation:
        raise KeyCommandError(f"--ether {args.ether!r} is not a number") from None
    if wei <= 0:
        raise KeyCommandError("--ether must be more than 0")
    rpc = args.rpc
    if args.network:
        from certnet.node.network import NetworkError, load_network

        try:
            net = load_network(args.network)
        except (NetworkError, FileNotFoundError, ValueError) as exc:
            raise KeyCommandError(f"network {args.network}: {exc}") from None
        if not 0 <= args.node < len(net.nodes):
            raise KeyCommandError(f"network {args.network} has no node {args.node}")
        rpc = rpc or net.nodes[args.node].rpc_url
        secret = keys.passphrase(file=Path(args.network) / net.passphrase_file)
        funder: Any = keys.load_key(Path(args.network) / net.deployer_keystore, secret)
        who = f"the deployer of {args.network}"
    elif args.keystore:
        if not rpc:
            raise KeyCommandError("--keystore needs --rpc URL (the node to send through)")
        funder = keys.load_key(Path(args.keystore), keys.passphrase(args.passphrase_file))
        who = f"keystore {args.keystore}"
    else:
        from certnet.node import local

        info, block = local.status(_home(args))
        rpc = rpc or (info.rpc_url if info and block is not None else None)
        if not rpc:
            raise KeyCommandError(
                "no node: pass --network DIR (a consortium network's deployer) or --rpc URL "
                "--keystore FILE, or start the local node"
            )
        funder = None
        who = "the local development account"
    w3 = connect(rpc)
    if funder is None:
        if w3.eth.chain_id != 31337 or not rpc.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise KeyCommandError(f"{rpc} is not the local development node: pass --network DIR or --keystore FILE")
        funder = dev_keys(1)[0]
    sender = Transactor(w3, funder)
    if w3.eth.get_balance(cast("ChecksumAddress", sender.address)) < wei + 21_000 * w3.eth.gas_price:
        raise KeyCommandError(f"{who} ({sender.address}) holds too little to send {args.ether} ether", 1)
    started = time.monotonic()
    receipt = cast("TxReceipt", sender.transfer(to, wei))  # wait=True: the receipt
    print(
        f"sent {args.ether} ether to {to} from {who} ({sender.address}): transaction "
        f"{receipt['transactionHash'].to_0x_hex()} in block {receipt['blockNumber']} "
        f"({time.monotonic() - started:.1f}s); balance now {Decimal(w3.eth.get_balance(to)) / 10**18} ether"
    )
    return 0


# ------------------------------------------------------------------ parser


def cmd_key(args: argparse.Namespace) -> int:
    handlers = {"create": cmd_create, "list": cmd_list, "import": cmd_import, "fund": cmd_fund}
    try:
        return handlers[args.key_action](args)
    except KeyCommandError as exc:
        print(f"certnet: {exc}", file=sys.stderr)
        return exc.code
    except (SignerConfigError, keys.KeystoreError) as exc:
        print(f"certnet: {exc}", file=sys.stderr)
        return 1
