"""Keys out of the service: issuer and admin keys in a real Clef (go-ethereum v1.13.15), the service signing
through it on a real anvil — anchoring approved by Clef's attested rules with no one asked, an admin action
put before Clef's UI and confirmed there, a refusal answered clearly with nothing sent — and the signer
configuration refusing an account both local and in Clef."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import select

from certnet.issuer import samples
from certnet.issuer.envelope import issuer_block, network_block
from certnet.issuer.outbox import ANCHORED, BATCHED, Batch, open_database
from certnet.issuer.pipeline import Pipeline, PipelineConfig
from certnet.node.signers import (
    ClefClient,
    ClefSigner,
    LocalKeySigner,
    SignerAccount,
    SignerConfig,
    SignerConfigError,
    SignerRefused,
    SignerUnavailable,
    open_signers,
    rules_js,
)
from certnet.node.tx import Transactor
from tests.conftest import make_net
from tests.support.api_fixtures import form_ds, is_problem, start_api, stop_api, wait_anchored
from tests.support.clef_fixtures import Clef, write_keystore

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

#: passwords of the keys in Clef (what Clef's operator knows; never certnet's)
PASSWORDS = {
    "vn_issuer": "vn-issuer-clef-password",
    "vn_admin": "vn-admin-clef-password",
    "vn2_issuer": "vn2-issuer-clef-password",
}


@pytest.fixture(scope="module")
def clef_net(anvil_engine, tmp_path_factory):
    """A network whose VN issuer, VN admin and VN2 issuer keys are in Clef: rules approve the VN issuer's
    transactions to its store (its password stored with `clef setpw`); everything else goes to the UI."""
    net = make_net(anvil_engine)
    clef = Clef(tmp_path_factory.mktemp("clef"), anvil_engine.w3.eth.chain_id)
    clef.init()
    for actor, password in PASSWORDS.items():
        write_keystore(clef.keystore / f"{actor}.json", net.actors[actor].account.key, password)
    clef.attest(rules_js([net.addr("vn_issuer")], [net.stores["vn"]]))
    clef.setpw(net.addr("vn_issuer"), PASSWORDS["vn_issuer"])
    for actor in ("vn_admin", "vn2_issuer"):  # typed by the operator when Clef asks
        clef.passwords[net.addr(actor).lower()] = PASSWORDS[actor]
    clef.start()
    yield net, clef
    clef.stop()


@pytest.fixture(scope="module")
def api(clef_net, tmp_path_factory):
    net, clef = clef_net
    signer = SignerConfig(
        url=clef.url,
        timeout=60,
        accounts=[
            SignerAccount(net.addr("vn_issuer"), "issuer", "vn-issuer"),
            SignerAccount(net.addr("vn_admin"), "admin", "vn-admin"),
        ],
    )
    a, server, thread = start_api(net, tmp_path_factory.mktemp("api"), signer=signer)
    yield a
    stop_api(server, thread)


@pytest.fixture
def approve_all(clef_net):
    _, clef = clef_net
    yield clef
    clef.approve = lambda request: True


def _pending_nonce(net, actor: str) -> int:
    return net.engine.w3.eth.get_transaction_count(net.addr(actor), "pending")


def test_the_service_holds_no_key_of_the_accounts_in_clef(api, clef_net):
    net, _ = clef_net
    issuer = api.service.pipeline.signers[net.addr("vn_issuer")]
    admin = api.service.admins["VN"]
    assert isinstance(issuer.signer, ClefSigner) and isinstance(admin.signer, ClefSigner)
    assert admin.address == net.addr("vn_admin")
    with pytest.raises(TypeError, match="external signer"):
        _ = admin.account
    assert isinstance(api.service.admins["TH"].signer, LocalKeySigner)  # TH keeps a local keystore
    assert not (Path(api.service.settings.data_dir) / "keys" / "vn-issuer.json").exists()


def test_anchoring_through_the_service_is_signed_by_clef_under_its_rules(api, clef_net):
    net, clef = clef_net
    asked_before = len(clef.ui_transactions())
    states = []
    with api.client("issuer_vn") as c:
        r = c.post("/v1/documents", json={"documents": form_ds(api, 3, seed=301)})
        assert r.status_code == 202, r.text
        states = wait_anchored(api, "issuer_vn", [d["id"] for d in r.json()["documents"]])
    root = states[0]["wrapped"]["signature"]["merkleRoot"]
    anchor = net.store().anchor_of(root)
    assert anchor is not None and anchor.key == net.addr("vn_issuer")
    w3 = net.engine.w3
    with api.service.pipeline.sessions() as s:
        tx_hash = s.scalars(select(Batch.tx_hash).where(Batch.merkle_root == root)).one()
    tx = w3.eth.get_transaction(tx_hash)
    assert tx["from"] == net.addr("vn_issuer") and tx["to"] == net.stores["vn"]
    # the rules approved it: Clef's UI was not asked, and Clef's audit log records the signature
    assert len(clef.ui_transactions()) == asked_before
    audit = (clef.root / "audit.log").read_text()
    assert "SignTransaction" in audit and net.addr("vn_issuer")[2:].lower() in audit.lower()


def test_an_admin_action_through_the_api_is_confirmed_in_clefs_ui(api, clef_net, approve_all):
    net, clef = clef_net
    seen = []
    clef.approve = lambda request: seen.append(request) or True
    key = Account.create().address
    with api.client("admin_vn") as c:
        r = c.post("/v1/admin/customs-keys", json={"key": key})
    assert r.status_code == 201, r.text
    assert net.registry().is_customs_key_of(key, "VN")
    receipt = net.engine.w3.eth.get_transaction_receipt(r.json()["transactionHash"])
    assert receipt["from"] == net.addr("vn_admin") and receipt["blockNumber"] == r.json()["blockNumber"]
    # the person confirming saw the transaction with the method it calls, decoded by Clef
    assert len(seen) == 1
    shown = seen[0]
    assert shown["transaction"]["from"].lower() == net.addr("vn_admin").lower()
    assert shown["transaction"]["to"].lower() == net.deployment.issuer_registry.lower()
    assert any("addCustomsKey(address" in m.get("message", "") for m in (shown.get("call_info") or []))


def test_a_refused_signature_is_a_clear_error_and_nothing_is_sent(api, clef_net, approve_all):
    net, clef = clef_net
    clef.approve = lambda request: False
    key = Account.create().address
    nonce = _pending_nonce(net, "vn_admin")
    block = net.engine.w3.eth.block_number
    with api.client("admin_vn") as c:
        body = is_problem(c.post("/v1/admin/customs-keys", json={"key": key}), 403, "SIGNER_REFUSED")
    assert "refused" in body["detail"] and "nothing was sent" in body["detail"]
    assert _pending_nonce(net, "vn_admin") == nonce
    assert not net.registry().is_customs_key_of(key, "VN")
    for n in range(block + 1, net.engine.w3.eth.block_number + 1):  # no transaction of the admin since
        txs = net.engine.w3.eth.get_block(n, full_transactions=True)["transactions"]
        assert all(t["from"] != net.addr("vn_admin") for t in txs)
    # the nonce was not used up: the next confirmed action goes through with it
    clef.approve = lambda request: True
    with api.client("admin_vn") as c:
        r = c.post("/v1/admin/customs-keys", json={"key": key})
    assert r.status_code == 201, r.text
    assert net.engine.w3.eth.get_transaction(r.json()["transactionHash"])["nonce"] == nonce


def test_an_edited_transaction_is_refused(clef_net, approve_all):
    """Clef's UI may change a request before approving it; what comes back must be what was asked for."""
    net, clef = clef_net
    original = clef.approve

    def edit(request):
        request["transaction"]["gas"] = hex(int(request["transaction"]["gas"], 16) + 1)
        return True

    clef.approve = edit
    signer = Transactor(net.engine.w3, ClefSigner(clef.url, net.addr("vn_admin"), timeout=60))
    nonce = _pending_nonce(net, "vn_admin")
    with pytest.raises(SignerRefused, match="edited transaction.*gas"):
        signer.transfer(net.addr("outsider"), 1)
    assert _pending_nonce(net, "vn_admin") == nonce
    clef.approve = original


def test_pipeline_refused_by_the_signer_keeps_the_batch_then_anchors_it(clef_net, tmp_path, approve_all):
    """An issuer key in Clef with no rule for it: each anchoring waits for the UI. Refused, the batch stays
    BATCHED and nothing is sent; approved on a later pass, it is anchored."""
    net, clef = clef_net
    issuer = net.addr("vn2_issuer")
    p = Pipeline(
        open_database(f"sqlite:///{tmp_path / 'outbox.db'}"),
        net.engine.w3,
        net.deployment,
        {issuer: Transactor(net.engine.w3, ClefSigner(clef.url, issuer, timeout=60))},
        PipelineConfig(),
    )
    d = net.deployment
    p.submit(
        issuer,
        list(
            samples.generate(
                2,
                seed=77,
                issuer_block=issuer_block(d, "VCCI Hanoi", net.stores["vn2"]),
                network=network_block(d),
                issuing_country="VN",
            )
        ),
    )
    clef.approve = lambda request: False
    nonce = _pending_nonce(net, "vn2_issuer")
    p.run_once(force=True)
    with p.sessions() as s:
        assert [b.state for b in s.scalars(select(Batch))] == [BATCHED]
    assert _pending_nonce(net, "vn2_issuer") == nonce
    clef.approve = lambda request: True
    p.run_until_idle()
    with p.sessions() as s:
        batch = s.scalars(select(Batch)).one()
    assert batch.state == ANCHORED
    assert net.engine.w3.eth.get_transaction(batch.tx_hash)["from"] == issuer


def test_signing_over_ipc(clef_net, approve_all):
    net, clef = clef_net
    assert clef.ipc and Path(clef.ipc).exists()
    signer = Transactor(net.engine.w3, ClefSigner(clef.ipc, net.addr("vn_admin"), timeout=60))
    before = net.engine.w3.eth.get_balance(net.addr("outsider"))
    receipt = signer.transfer(net.addr("outsider"), 12345)
    assert receipt["status"] == 1 and receipt["from"] == net.addr("vn_admin")
    assert net.engine.w3.eth.get_balance(net.addr("outsider")) == before + 12345
    assert net.addr("vn_admin") in ClefClient(clef.ipc).list_accounts()


def test_an_unreachable_signer_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as s:  # a port on loopback where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SignerUnavailable, match=f"127.0.0.1:{port}.*not reachable"):
        ClefClient(f"http://127.0.0.1:{port}/", timeout=5).version()
    with pytest.raises(SignerUnavailable, match="does not exist"):
        ClefClient(str(tmp_path / "clef.ipc")).version()


def test_an_account_both_local_and_in_clef_is_refused(tmp_path):
    from certnet.node.keys import create_keystore

    key = Account.create()
    ks = tmp_path / "vn-admin.json"
    create_keystore(ks, "a-local-passphrase", key.key)
    config = SignerConfig(url="http://127.0.0.1:8550", accounts=[SignerAccount(key.address, "admin", "vn-admin")])
    with pytest.raises(
        SignerConfigError, match=f"{key.address} is both in the external signer and in the local keystore {ks}"
    ):
        open_signers([ks], "a-local-passphrase", config, "admin")


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "is not JSON"),
        (json.dumps({"accounts": []}), "`url`"),
        (
            json.dumps({"url": "http://127.0.0.1:8550", "accounts": [{"address": "0x12", "role": "admin"}]}),
            r"accounts\[0\]: `address`",
        ),
        (
            json.dumps(
                {"url": "http://127.0.0.1:8550", "accounts": [{"address": "0x" + "ab" * 20, "role": "deployer"}]}
            ),
            r"accounts\[0\]: `role`",
        ),
    ],
)
def test_a_bad_signer_configuration_names_what_and_where(tmp_path, content, message):
    f = tmp_path / "signer.json"
    f.write_text(content)
    with pytest.raises(SignerConfigError, match=f"{f}.*{message}"):
        SignerConfig.load(f)
