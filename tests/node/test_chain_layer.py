"""Chain layer: compile pipeline, anvil persistence across restarts, nonces under concurrency, deploy CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from eth_account import Account

from certnet.node import compiler, errors
from certnet.node.artifacts import load_artifact
from certnet.node.deploy import ConfigError, parse_config
from certnet.node.engines import AnvilEngine, anvil_binary
from certnet.node.tx import Transactor, signer_for
from tests.conftest import make_net

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)


def test_artifacts_are_current():
    """Recompile with the pinned compiler and settings; the committed artifacts must match."""
    fresh = compiler.compile_contracts()
    assert set(fresh) == {"IssuerRegistry", "DocumentStore", "CustomsRecord"}
    for name, art in fresh.items():
        committed = load_artifact(name)
        assert committed["compiler"] == art["compiler"], (
            f"{name}: compiler settings changed; run python -m certnet.node.compiler"
        )
        assert committed["abi"] == art["abi"], f"{name}: ABI is stale; run python -m certnet.node.compiler"
        assert committed["bytecode"] == art["bytecode"], (
            f"{name}: bytecode is stale; run python -m certnet.node.compiler"
        )


def test_compiler_is_the_pinned_version():
    settings = compiler.load_settings()
    version = subprocess.run(
        [compiler.solc_binary(settings["solc"]), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert f"Version: {settings['solc']}" in version


def test_anvil_is_installed():
    assert anvil_binary().is_file()


def test_anvil_restart_keeps_state(tmp_path: Path):
    engine = AnvilEngine(tmp_path / "node").start()
    try:
        net = make_net(engine)
        store = net.store("vn_issuer")
        roots = [os.urandom(32).hex() for _ in range(3)]
        for r in roots:
            store.anchor(r, "FORM_D", 1)
        store.revoke_root(roots[1], "FRAUDULENT")
        head = engine.w3.eth.block_number
    finally:
        engine.stop()
    assert engine.proc.returncode is not None  # the process really ended
    restarted = AnvilEngine(tmp_path / "node", port=engine.port).start()
    try:
        view = net.deployment.store_client(restarted.w3, net.stores["vn"])
        assert restarted.w3.eth.block_number >= head
        assert view.name() == "VCCI Ho Chi Minh City"
        assert net.deployment.issuer_registry_client(restarted.w3).stores_of("VN") == [
            net.stores["vn"],
            net.stores["vn2"],
        ]
        assert all(view.is_issued(r) for r in roots)
        assert view.is_revoked(roots[1]) and not view.is_revoked(roots[0])
        assert view.revocation_of(roots[1]).reason == 3
        # the restarted node keeps accepting transactions from the same accounts
        signer = Transactor(restarted.w3, net.actors["vn_issuer"].account)
        net.deployment.store_client(restarted.w3, net.stores["vn"], signer).anchor("ab" * 32, "FORM_D", 1)
        assert view.is_issued("ab" * 32)
    finally:
        restarted.stop()


def test_nonces_under_concurrency(engine):
    """Many threads sending through one account's Transactor: every transaction lands exactly once."""
    net = make_net(engine)
    sender = net.actors["vn_issuer"]
    store = net.store("vn_issuer")
    roots = [os.urandom(32).hex() for _ in range(24)]
    failures: list[BaseException] = []

    def work(chunk: list[str]) -> None:
        try:
            for r in chunk:
                store.anchor(r, "FORM_D", 1)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(roots[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert all(net.store().is_issued(r) for r in roots)
    assert engine.w3.eth.get_transaction_count(sender.address) == 24


def test_signer_for_shares_one_nonce_sequence(embedded_engine):
    key = Account.create().key
    assert signer_for(embedded_engine.w3, key) is signer_for(embedded_engine.w3, key)
    assert key.hex().removeprefix("0x") not in repr(signer_for(embedded_engine.w3, key))


def test_revert_names_error_and_arguments(embedded_net):
    with pytest.raises(errors.NotAuthorisedKey) as info:
        embedded_net.store("outsider", authority="vn").anchor("cd" * 32, "FORM_D", 1)
    assert info.value.args_ == {"key": embedded_net.addr("outsider"), "documentType": 1}
    assert "NotAuthorisedKey" in str(info.value) and "anchor" in str(info.value)


# ------------------------------------------------------------------ deploy configuration

GOOD = {
    "name": "certnet ASEAN",
    "members": [
        {"country": "VN", "admins": ["0x" + "11" * 20]},
        {"country": "TH", "admins": ["0x" + "22" * 20, "0x" + "33" * 20]},
    ],
}


def bad(mutate) -> dict:
    cfg = json.loads(json.dumps(GOOD))
    mutate(cfg)
    return cfg


@pytest.mark.parametrize(
    "cfg, field, words",
    [
        (bad(lambda c: c["members"][1].update(country="XX")), "members.1.country", "unknown ISO 3166-1"),
        (bad(lambda c: c["members"][0].update(country="vn")), "members.0.country", "unknown ISO 3166-1"),
        (bad(lambda c: c["members"][1].update(country="VN")), "members.1.country", "duplicate country"),
        (
            bad(lambda c: c["members"][1]["admins"].__setitem__(1, "0x" + "11" * 20)),
            "members.1.admins.1",
            "duplicate admin",
        ),
        (bad(lambda c: c["members"][0]["admins"].__setitem__(0, "0x1234")), "members.0.admins.0", "malformed address"),
        (
            bad(lambda c: c["members"][0]["admins"].__setitem__(0, "0x" + "zz" * 20)),
            "members.0.admins.0",
            "malformed address",
        ),
        (
            bad(lambda c: c["members"][0]["admins"].__setitem__(0, "0xAbCdEf" + "00" * 17)),
            "members.0.admins.0",
            "checksum",
        ),
        (
            bad(lambda c: c["members"][0]["admins"].__setitem__(0, "0x" + "00" * 20)),
            "members.0.admins.0",
            "zero address",
        ),
        (bad(lambda c: c["members"][0].pop("admins")), "members.0.admins", "required"),
        (bad(lambda c: c["members"][0].update(admins=[])), "members.0.admins", "non-empty"),
        (bad(lambda c: c["members"][0].pop("country")), "members.0.country", "required"),
        (bad(lambda c: c.pop("members")), "members", "required"),
        (bad(lambda c: c.update(members=[])), "members", "non-empty"),
        (bad(lambda c: c.update(extra=1)), "extra", "unknown field"),
        (bad(lambda c: c.update(name="")), "name", "non-empty"),
    ],
)
def test_deploy_config_errors_name_the_field(cfg, field, words):
    with pytest.raises(ConfigError) as info:
        parse_config(cfg)
    assert info.value.field == field
    assert words in str(info.value)


def test_deploy_config_accepts_good_config():
    cfg = parse_config(GOOD)
    assert [m.country for m in cfg.members] == ["VN", "TH"]


def run_cli(*args: str, env_home: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "CERTNET_HOME": str(env_home)}
    return subprocess.run(
        [sys.executable, "-m", "certnet.cli.main", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_deploy_cli_refuses_bad_input(tmp_path: Path, anvil_engine):
    missing = run_cli(
        "deploy", "--config", str(tmp_path / "nope.json"), "--rpc", anvil_engine.rpc_url, env_home=tmp_path
    )
    assert missing.returncode == 2 and "config: file" in missing.stderr and "not found" in missing.stderr
    f = tmp_path / "cfg.json"
    f.write_text("{not json")
    r = run_cli("deploy", "--config", str(f), "--rpc", anvil_engine.rpc_url, env_home=tmp_path)
    assert r.returncode == 2 and "not valid JSON" in r.stderr and "line 1" in r.stderr
    f.write_text(json.dumps(bad(lambda c: c["members"][1].update(country="ZZ"))))
    r = run_cli("deploy", "--config", str(f), "--rpc", anvil_engine.rpc_url, env_home=tmp_path)
    assert r.returncode == 2 and "members.1.country" in r.stderr and "'ZZ'" in r.stderr


def test_deploy_cli_deploys_and_writes_addresses(tmp_path: Path, anvil_engine):
    admin = Account.create()
    f = tmp_path / "cfg.json"
    f.write_text(json.dumps({"name": "certnet CLI test", "members": [{"country": "SG", "admins": [admin.address]}]}))
    r = run_cli("deploy", "--config", str(f), "--rpc", anvil_engine.rpc_url, env_home=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    written = json.loads((tmp_path / "deployment.json").read_text())
    assert written["issuer_registry"] == out["IssuerRegistry"] and "certificate_registry" not in written
    from certnet.node.deploy import Deployment

    d = Deployment.load(tmp_path / "deployment.json")
    reg = d.issuer_registry_client(anvil_engine.w3)
    assert reg.is_admin_of(admin.address, "SG") and d.name == "certnet CLI test"
    assert anvil_engine.w3.eth.get_code(reg.store_implementation()) != b""


def test_gas_report_runs():
    r = subprocess.run(
        [sys.executable, "-m", "certnet.scripts.gas_report", "--embedded", "--samples", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    for line in (
        "revokeDocument, proof depth 20",
        "registerAuthority with a first key",
        "goal anchor",
        "goal 10-step revocation",
        "goal store creation",
    ):
        assert line in r.stdout, r.stdout
    assert "MISSED" not in r.stdout, r.stdout


def test_sender_recovers_when_another_process_used_the_account(anvil_engine):
    """A second sender (another process, here another connection) takes nonces behind our back."""
    from certnet.node.engines import http_web3

    key = Account.create()
    fund_from = signer_for(anvil_engine.w3, anvil_engine.keys[0])
    fund_from.transfer(key.address, 10**18)
    ours = Transactor(anvil_engine.w3, key)
    theirs = Transactor(http_web3(anvil_engine.rpc_url), key)
    ours.transfer(Account.create().address, 1)
    theirs.transfer(Account.create().address, 1)  # takes the nonce `ours` would use next
    ours.transfer(Account.create().address, 1)
    assert anvil_engine.w3.eth.get_transaction_count(key.address) == 3
