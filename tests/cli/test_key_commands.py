"""`certnet key create|list|import|fund`: keystores in the data directory, accounts in a real Clef, funding
from a funded keystore on anvil and from a real geth consortium network's deployer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from certnet.cli.main import main
from certnet.node.keys import create_keystore, keystore_address, load_key
from certnet.node.signers import SIGNER_FILE, SignerConfig
from tests.support.clef_fixtures import Clef, write_keystore

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

PASS = "key-command-test-pass"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("CERTNET_PASSPHRASE", raising=False)
    monkeypatch.delenv("CERTNET_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("CERTNET_IMPORT_PASSPHRASE", raising=False)
    h = tmp_path / "home"
    h.mkdir()
    (h / "passphrase").write_text(PASS + "\n")
    return h


@pytest.fixture(scope="module")
def clef(anvil_engine, tmp_path_factory):
    c = Clef(tmp_path_factory.mktemp("clef-keys"), anvil_engine.w3.eth.chain_id)
    c.init()
    c.start()
    yield c
    c.stop()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_and_list_keystores(home, capsys):
    code, out, _ = run(capsys, "--data-dir", str(home), "key", "create", "vn-admin")
    assert code == 0
    address, role, where = out.strip().split("\t")
    path = home / "keys" / "vn-admin.json"
    assert role == "admin" and where == f"keystore {path}" and keystore_address(path) == address
    assert load_key(path, PASS).address == address  # encrypted with the data directory's passphrase
    assert PASS not in out
    code, _, err = run(capsys, "--data-dir", str(home), "key", "create", "vn-admin")
    assert code == 2 and f"keystore {path} already exists (address {address})" in err
    code, _, err = run(capsys, "--data-dir", str(home), "key", "create", "../escape")
    assert code == 2 and "key name '../escape'" in err
    code, out, _ = run(capsys, "--data-dir", str(home), "key", "list", "--json")
    rows = json.loads(out)
    assert [(r["name"], r["address"], r["role"]) for r in rows] == [("vn-admin", address, "admin")]
    assert rows[0]["scryptN"] >= 2**15


def test_import_a_private_key_and_a_keystore(home, tmp_path, capsys):
    raw = Account.create()
    src = tmp_path / "key.hex"
    src.write_text(raw.key.hex() + "\n")
    code, out, _ = run(capsys, "--data-dir", str(home), "key", "import", str(src), "--name", "th-issuer")
    assert code == 0 and out.startswith(f"{raw.address}\tissuer\tkeystore {home / 'keys' / 'th-issuer.json'}")
    assert load_key(home / "keys" / "th-issuer.json", PASS).key == raw.key
    assert raw.key.hex() not in out

    other = Account.create()  # a keystore under its own passphrase, re-encrypted with certnet's
    ks = tmp_path / "wallet.json"
    write_keystore(ks, other.key, "the-wallets-own-passphrase")
    code, _, err = run(capsys, "--data-dir", str(home), "key", "import", str(ks), "--name", "my-admin")
    assert code == 1 and f"{ks}: wrong passphrase" in err and not (home / "keys" / "my-admin.json").exists()
    (tmp_path / "wallet.pass").write_text("the-wallets-own-passphrase\n")
    code, out, _ = run(
        capsys,
        "--data-dir",
        str(home),
        "key",
        "import",
        str(ks),
        "--name",
        "my-admin",
        "--source-passphrase-file",
        str(tmp_path / "wallet.pass"),
    )
    assert code == 0 and load_key(home / "keys" / "my-admin.json", PASS).address == other.address

    bad = tmp_path / "bad.txt"
    bad.write_text("not a key")
    code, _, err = run(capsys, "--data-dir", str(home), "key", "import", str(bad), "--name", "x-admin")
    assert code == 2 and f"{bad} holds neither an encrypted keystore" in err


def test_create_list_and_import_accounts_in_clef(home, tmp_path, clef, capsys):
    code, out, err = run(capsys, "--data-dir", str(home), "key", "create", "vn-issuer", "--clef", clef.url)
    assert code == 0, err
    address = out.split("\t")[0]
    assert [r["method"] for r in clef.requests].count("ui_approveNewAccount") >= 1  # Clef's operator confirmed
    assert not (home / "keys" / "vn-issuer.json").exists()  # the key is in Clef only
    config = SignerConfig.load(home / SIGNER_FILE)
    assert config.url == clef.url and [(a.address, a.role, a.name) for a in config.accounts] == [
        (address, "issuer", "vn-issuer")
    ]
    # Clef really holds it (the key file in its keystore, under the password its operator set)
    files = [f for f in clef.keystore.iterdir() if address[2:].lower() in f.name.lower()]
    assert len(files) == 1 and load_key(files[0], clef.new_account_password).address == address

    other = Account.create()  # a keystore imported into Clef's keystore directory
    ks = tmp_path / "admin-wallet.json"
    write_keystore(ks, other.key, "admin-wallet-passphrase")
    code, out, err = run(
        capsys,
        "--data-dir",
        str(home),
        "key",
        "import",
        str(ks),
        "--name",
        "vn-admin",
        "--clef-keystore",
        str(clef.keystore),
    )
    assert code == 0, err
    assert out.startswith(f"{other.address}\tadmin\tin Clef's keystore {clef.keystore}")

    def listed() -> list[dict]:
        code, out, _ = run(capsys, "--data-dir", str(home), "key", "list", "--ask-clef", "--json")
        assert code == 0
        return json.loads(out)

    import time

    deadline = time.monotonic() + 30  # Clef notices a new file in its keystore directory within seconds
    rows = listed()
    while any("NOT among Clef's accounts" in r["where"] for r in rows):
        assert time.monotonic() < deadline, rows
        time.sleep(0.3)
        rows = listed()
    assert {(r["name"], r["address"], r["role"]) for r in rows} == {
        ("vn-issuer", address, "issuer"),
        ("vn-admin", other.address, "admin"),
    }
    assert all(r["where"].startswith(f"Clef at {clef.url}") for r in rows)

    # one place per account: a local keystore of an account in Clef is refused, and the other way round
    code, _, err = run(
        capsys,
        "--data-dir",
        str(home),
        "key",
        "import",
        str(ks),
        "--name",
        "th-admin",
        "--source-passphrase-file",
        str(_write(tmp_path / "p", "admin-wallet-passphrase")),
    )
    assert code == 2 and f"account {other.address} is in the external signer" in err
    assert not (home / "keys" / "th-admin.json").exists()
    local = Account.create()
    create_keystore(home / "keys" / "sg-admin.json", PASS, local.key)
    ks2 = tmp_path / "sg.json"
    write_keystore(ks2, local.key, "whatever-passphrase")
    code, _, err = run(
        capsys,
        "--data-dir",
        str(home),
        "key",
        "import",
        str(ks2),
        "--name",
        "sg-admin2",
        "--role",
        "admin",
        "--clef-keystore",
        str(clef.keystore),
    )
    assert code == 1 and f"{local.address} is both in the external signer and in the local keystore" in err
    assert not any(local.address[2:].lower() in f.name.lower() for f in clef.keystore.iterdir())


def _write(path: Path, text: str) -> Path:
    path.write_text(text + "\n")
    return path


def test_fund_from_a_keystore_on_anvil(home, tmp_path, anvil_engine, capsys, monkeypatch):
    from certnet.node.tx import signer_for

    funder = Account.create()
    signer_for(anvil_engine.w3, anvil_engine.keys[0]).transfer(funder.address, 5 * 10**18)
    ks = tmp_path / "funder.json"
    create_keystore(ks, "funder-passphrase", funder.key)
    monkeypatch.setenv("CERTNET_PASSPHRASE", "funder-passphrase")
    to = Account.create().address
    code, out, err = run(
        capsys,
        "--data-dir",
        str(home),
        "key",
        "fund",
        to,
        "--ether",
        "2.5",
        "--rpc",
        anvil_engine.rpc_url,
        "--keystore",
        str(ks),
    )
    assert code == 0, err
    assert anvil_engine.w3.eth.get_balance(to) == 25 * 10**17
    assert f"sent 2.5 ether to {to} from keystore {ks} ({funder.address})" in out
    code, _, err = run(
        capsys,
        "--data-dir",
        str(home),
        "key",
        "fund",
        to,
        "--ether",
        "100",
        "--rpc",
        anvil_engine.rpc_url,
        "--keystore",
        str(ks),
    )
    assert code == 1 and "holds too little to send 100 ether" in err
    code, _, err = run(capsys, "--data-dir", str(home), "key", "fund", "0x1234", "--ether", "1")
    assert code == 2 and "'0x1234' is not an account address" in err
    code, _, err = run(
        capsys,
        "--data-dir",
        str(home),
        "key",
        "fund",
        to,
        "--ether",
        "lots",
        "--rpc",
        anvil_engine.rpc_url,
        "--keystore",
        str(ks),
    )
    assert code == 2 and "--ether 'lots' is not a number" in err


@pytest.mark.timeout(180)
def test_fund_from_a_consortium_networks_deployer(home, tmp_path, capsys):
    from certnet.node.network import GethNetwork, init_network
    from certnet.node.network.geth import geth_binary

    geth_binary()  # a missing geth fails the test
    directory = tmp_path / "net"
    init_network(directory, validators=1, engine="geth", period=1)
    net = GethNetwork(directory)
    try:
        net.up(timeout=90, wait_peers=False)
        to = Account.create().address
        code, out, err = run(
            capsys, "--data-dir", str(home), "key", "fund", to, "--ether", "3", "--network", str(directory)
        )
        assert code == 0, err
        assert net.w3(0).eth.get_balance(to) == 3 * 10**18
        assert f"from the deployer of {directory} ({net.config.deployer})" in out
    finally:
        net.down()
