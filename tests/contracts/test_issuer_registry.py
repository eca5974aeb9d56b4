"""IssuerRegistry: members and their epochs, admins, customs keys, votes, issuing authorities (each with its
DocumentStore) and their signing keys, time-aware authorisation (embedded engine and anvil).

Tests marked "finding" pin down what issue 12 found wrong with the former contracts (git show
23bcf82:contracts/src/CertificateRegistry.sol and IssuerRegistry.sol there); each fails on them."""

from __future__ import annotations

import os

import pytest
from eth_account import Account

from certnet.node import errors
from certnet.node.contracts import KeyStatus, ProposalKind, ProposalState
from certnet.node.countries import to_bytes2
from certnet.node.deploy import DeployConfig, Member, _deploy_contract, deploy

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

DAY = 24 * 3600
VOTING_PERIOD = 30 * DAY


def now(net) -> int:
    return net.engine.w3.eth.get_block("latest")["timestamp"]


def fresh() -> str:
    return Account.create().address


def h() -> str:
    return os.urandom(32).hex()


def remove_country(net, country: str, proposer: str, voters: list[str]) -> int:
    pid = net.registry(proposer).propose_removal(country)
    for v in voters:
        net.registry(v).vote(pid, True)
    assert not net.registry().is_member(country)
    return pid


# ------------------------------------------------------------------ founding members and admins


def test_founding_members_and_admins(net):
    reg = net.registry()
    assert reg.countries() == ["VN", "TH", "MY"]
    assert reg.member_count() == 3
    assert reg.is_member("VN") and not reg.is_member("SG")
    assert reg.is_admin_of(net.addr("vn_admin"), "VN") and reg.is_admin_of(net.addr("vn_admin2"), "VN")
    assert not reg.is_admin_of(net.addr("vn_admin"), "TH")
    assert reg.admin_country_of(net.addr("th_admin")) == "TH"
    assert reg.admin_country_of(net.addr("outsider")) is None
    m = reg.member("VN")
    assert m["active"] and m["epoch"] == 1 and m["adminCount"] == 2 and m["joinedAt"] > 0
    assert reg.was_member_at("VN", now(net)) and not reg.was_member_at("SG", now(net))
    assert reg.proposal_count() == 0


def test_founding_events(engine, net):
    admin = fresh()
    art_deployer = net.actors["deployer"]
    from certnet.node.contracts import IssuerRegistryClient

    address, block = _deploy_contract(engine.w3, art_deployer, "IssuerRegistry", [b"SG"], [admin])
    receipt = engine.w3.eth.get_transaction_receipt(engine.w3.eth.get_block(block)["transactions"][0])
    reg = IssuerRegistryClient(engine.w3, address)
    added = reg.events(receipt, "MemberAdded")[0]
    assert (added["country"], added["epoch"], added["proposalId"]) == (b"SG", 1, 0)
    ev = reg.events(receipt, "AdminAdded")[0]
    assert (ev["country"], ev["admin"], ev["by"]) == (b"SG", admin, art_deployer.address)
    impl = reg.store_implementation()
    assert engine.w3.eth.get_code(impl) != b""


def test_constructor_refuses_bad_founders(engine, net):
    w3, deployer = engine.w3, net.actors["deployer"]
    with pytest.raises(errors.AccountInUse):
        deploy(
            w3,
            deployer,
            DeployConfig("x", [Member("VN", [net.addr("outsider")]), Member("TH", [net.addr("outsider")])]),
        )
    with pytest.raises(errors.InvalidCountry):
        _deploy_contract(w3, deployer, "IssuerRegistry", [b"vn"], [net.addr("outsider")])
    with pytest.raises(errors.NoFoundingMembers):
        _deploy_contract(w3, deployer, "IssuerRegistry", [], [])
    with pytest.raises(errors.ArrayLengthMismatch):
        _deploy_contract(w3, deployer, "IssuerRegistry", [b"VN"], [])
    with pytest.raises(errors.ZeroAddress):
        _deploy_contract(w3, deployer, "IssuerRegistry", [b"VN"], ["0x" + "00" * 20])


def test_admin_management_is_country_scoped(net):
    new = fresh()
    receipt = net.registry("vn_admin").add_admin(new)
    ev = net.registry().events(receipt, "AdminAdded")[0]
    assert ev["country"] == b"VN" and ev["admin"] == new and ev["by"] == net.addr("vn_admin")
    assert net.registry().is_admin_of(new, "VN") and net.registry().member("VN")["adminCount"] == 3
    with pytest.raises(errors.NotAdminOf):
        net.registry("th_admin").remove_admin(new)
    with pytest.raises(errors.NotAdmin):
        net.registry("outsider").add_admin(fresh())
    with pytest.raises(errors.NotAdmin):  # a signing key is no admin
        net.registry("vn_issuer").add_admin(fresh())
    with pytest.raises(errors.AccountInUse):
        net.registry("vn_admin").add_admin(net.addr("th_admin"))
    with pytest.raises(errors.AccountInUse):  # nor can a signing key become one
        net.registry("vn_admin").add_admin(net.addr("vn_issuer"))
    with pytest.raises(errors.ZeroAddress):
        net.registry("vn_admin").add_admin("0x" + "00" * 20)
    receipt = net.registry("vn_admin").remove_admin(new)
    ev = net.registry().events(receipt, "AdminRemoved")[0]
    assert (ev["country"], ev["admin"], ev["by"]) == (b"VN", new, net.addr("vn_admin"))
    assert not net.registry().is_admin_of(new, "VN")
    with pytest.raises(errors.NotAdminOf):  # removed already
        net.registry("vn_admin").remove_admin(new)
    net.registry("vn_admin").remove_admin(net.addr("vn_admin2"))
    with pytest.raises(errors.LastAdmin):
        net.registry("vn_admin").remove_admin(net.addr("vn_admin"))
    # a removed admin's account is free again (it holds no role that counts)
    net.registry("th_admin").add_admin(net.addr("vn_admin2"))
    assert net.registry().admin_country_of(net.addr("vn_admin2")) == "TH"


def test_customs_keys(net):
    key = fresh()
    reg = net.registry("vn_admin")
    receipt = reg.add_customs_key(key)
    ev = net.registry().events(receipt, "CustomsKeyAdded")[0]
    assert (ev["country"], ev["key"], ev["by"]) == (b"VN", key, net.addr("vn_admin"))
    view = net.registry()
    assert view.is_customs_key_of(key, "VN") and not view.is_customs_key_of(key, "TH")
    with pytest.raises(errors.AccountInUse):
        reg.add_customs_key(key)
    with pytest.raises(errors.AccountInUse):  # a customs key takes no other role
        net.registry("th_admin").add_admin(key)
    with pytest.raises(errors.AccountInUse):
        reg.add_key(net.stores["vn"], key)
    with pytest.raises(errors.NotCustomsKey):  # another country's admin cannot remove it
        net.registry("th_admin").remove_customs_key(key)
    with pytest.raises(errors.NotAdmin):
        net.registry("outsider").add_customs_key(fresh())
    receipt = net.registry("vn_admin2").remove_customs_key(key)
    ev = net.registry().events(receipt, "CustomsKeyRemoved")[0]
    assert (ev["country"], ev["key"], ev["by"]) == (b"VN", key, net.addr("vn_admin2"))
    assert not view.is_customs_key_of(key, "VN")
    with pytest.raises(errors.NotCustomsKey):
        reg.remove_customs_key(key)


# ------------------------------------------------------------------ votes


def test_member_joins_by_majority(net):
    sg_admin = net.new_actor("sg_admin")
    reg = net.registry()
    receipt = net.registry("vn_admin").propose_member_tx("SG", sg_admin.address)
    created = reg.events(receipt, "ProposalCreated")[0]
    pid = created["id"]
    assert created["kind"] == ProposalKind.ADD_MEMBER and created["country"] == b"SG"
    assert created["admin"] == sg_admin.address and created["proposer"] == b"VN"
    cast = reg.events(receipt, "VoteCast")[0]
    assert (cast["id"], cast["voter"], cast["support"], cast["yes"], cast["no"]) == (pid, b"VN", True, 1, 0)
    p = reg.proposal(pid)
    assert p.state == ProposalState.OPEN and p.yes == 1 and p.country == "SG" and p.admin == sg_admin.address
    assert p.deadline == created["deadline"] and p.kind == ProposalKind.ADD_MEMBER
    assert reg.has_voted(pid, "VN") and not reg.has_voted(pid, "TH")
    assert reg.proposal_count() == pid
    with pytest.raises(errors.AlreadyVoted):  # one vote per country
        net.registry("vn_admin2").vote(pid, True)
    with pytest.raises(errors.NotAdmin):
        net.registry("outsider").vote(pid, True)
    assert not reg.is_member("SG")
    receipt = net.registry("th_admin").vote(pid, True)  # 2 of 3 > half
    added = reg.events(receipt, "MemberAdded")[0]
    assert (added["country"], added["epoch"], added["proposalId"]) == (b"SG", 1, pid)
    assert reg.events(receipt, "ProposalClosedWith")[0]["state"] == ProposalState.PASSED
    assert reg.events(receipt, "AdminAdded")[0]["by"] == reg.address
    assert reg.proposal(pid).state == ProposalState.PASSED
    assert reg.is_member("SG") and reg.member_count() == 4 and reg.countries()[-1] == "SG"
    assert reg.is_admin_of(sg_admin.address, "SG")
    with pytest.raises(errors.ProposalClosed):
        net.registry("my_admin").vote(pid, True)
    with pytest.raises(errors.ProposalClosed):
        net.registry("my_admin").decide(pid)
    # the new member manages its own authorities
    store = net.registry("sg_admin").store_from(
        net.registry("sg_admin").register_authority("Singapore Customs", ["FORM_D"], first_key=fresh())
    )
    assert reg.country_of_store(store) == "SG" and reg.stores_of("SG") == [store]


def test_member_rejected(net):
    pid = net.registry("vn_admin").propose_member("SG", fresh())
    receipt = net.registry("th_admin").vote(pid, False)
    assert net.registry().events(receipt, "VoteCast")[0]["no"] == 1
    assert net.registry().proposal(pid).state == ProposalState.OPEN  # 1 yes, 1 no of 3
    receipt = net.registry("my_admin").vote(pid, False)
    assert net.registry().events(receipt, "ProposalClosedWith")[0]["state"] == ProposalState.REJECTED
    assert net.registry().proposal(pid).state == ProposalState.REJECTED
    assert not net.registry().is_member("SG")


def test_proposal_validation(net):
    with pytest.raises(errors.AlreadyMember):
        net.registry("vn_admin").propose_member("TH", fresh())
    with pytest.raises(errors.InvalidCountry):
        net.registry("vn_admin")._send("proposeMember", b"s1", fresh())
    with pytest.raises(errors.AccountInUse):
        net.registry("vn_admin").propose_member("SG", net.addr("th_admin"))
    with pytest.raises(errors.AccountInUse):
        net.registry("vn_admin").propose_member("SG", net.addr("th_issuer"))
    with pytest.raises(errors.ZeroAddress):
        net.registry("vn_admin").propose_member("SG", "0x" + "00" * 20)
    with pytest.raises(errors.NotMember):
        net.registry("vn_admin").propose_removal("SG")
    with pytest.raises(errors.UnknownProposal):
        net.registry("vn_admin").vote(99, True)
    with pytest.raises(errors.UnknownProposal):
        net.registry("vn_admin").decide(99)
    with pytest.raises(errors.NotAdmin):
        net.registry("outsider").propose_member("SG", fresh())
    with pytest.raises(errors.NotAdmin):
        net.registry("vn_issuer").propose_removal("TH")


def test_proposal_view_reads_expired_after_deadline(net):
    """Finding: a proposal's view stayed OPEN after its deadline."""
    pid = net.registry("vn_admin").propose_member("SG", fresh())
    deadline = net.registry().proposal(pid).deadline
    assert deadline == now(net) + VOTING_PERIOD or deadline <= now(net) + VOTING_PERIOD
    net.engine.advance_time(VOTING_PERIOD + 10)
    p = net.registry().proposal(pid)
    assert p.state == ProposalState.EXPIRED and p.yes == 1  # without any transaction
    receipt = net.registry("outsider").decide(pid)  # anyone may close it
    assert net.registry().events(receipt, "ProposalClosedWith")[0]["state"] == ProposalState.EXPIRED
    assert net.registry().proposal(pid).state == ProposalState.EXPIRED
    with pytest.raises(errors.ProposalClosed):
        net.registry("th_admin").vote(pid, True)
    assert not net.registry().is_member("SG")


def test_vote_after_deadline_closes_as_expired(net):
    pid = net.registry("vn_admin").propose_member("SG", fresh())
    net.engine.advance_time(VOTING_PERIOD + 10)
    receipt = net.registry("th_admin").vote(pid, True)  # would pass, but too late
    assert net.registry().events(receipt, "ProposalClosedWith")[0]["state"] == ProposalState.EXPIRED
    assert not net.registry().events(receipt, "VoteCast")
    assert not net.registry().is_member("SG")


def test_removed_countrys_earlier_yes_vote_no_longer_counts(net):
    """Finding: with 5 members, a removed country's yes vote still counted, so 2 of the 4 remaining decided."""
    for c in ("SG", "ID"):
        admin = net.new_actor(f"{c.lower()}_admin")
        pid = net.registry("vn_admin").propose_member(c, admin.address)
        for v in ("th_admin", "my_admin", "sg_admin")[: 2 if c == "SG" else 3]:
            if net.registry().proposal(pid).state == ProposalState.OPEN:
                net.registry(v).vote(pid, True)
        assert net.registry().is_member(c)
    assert net.registry().member_count() == 5
    # a proposal to admit LA: MY votes yes early, then MY is removed
    target = fresh()
    pid = net.registry("vn_admin").propose_member("LA", target)
    net.registry("my_admin").vote(pid, True)  # VN, MY: 2 of 5
    assert net.registry().proposal(pid).yes == 2
    rid = net.registry("th_admin").propose_removal("MY")
    for v in ("vn_admin", "sg_admin"):
        net.registry(v).vote(rid, True)  # TH, VN, SG: 3 of 5
    assert not net.registry().is_member("MY") and net.registry().member_count() == 4
    assert tuple(net.registry()._call("tally", pid)) == (1, 0)
    p = net.registry().proposal(pid)
    assert p.yes == 1 and p.state == ProposalState.OPEN  # MY's vote no longer counts
    assert not net.registry().has_voted(pid, "MY")
    receipt = net.registry("outsider").decide(pid)  # deciding again does not pass it
    assert net.registry().proposal(pid).state == ProposalState.OPEN
    assert not net.registry().events(receipt, "MemberAdded")
    net.registry("th_admin").vote(pid, True)  # VN, TH: 2 of 4 is not more than half
    assert net.registry().proposal(pid).state == ProposalState.OPEN and not net.registry().is_member("LA")
    net.registry("sg_admin").vote(pid, True)  # 3 of 4
    assert net.registry().is_member("LA")


def test_decide_after_a_removal_can_pass_a_proposal(net):
    """A proposal that has enough yes votes once the member count drops passes when decided again."""
    pid = net.registry("vn_admin").propose_member("SG", fresh())  # 1 of 3
    net.engine.advance_time(5)
    rid = net.registry("vn_admin").propose_removal("MY")
    net.registry("th_admin").vote(rid, True)
    assert net.registry().member_count() == 2 and net.registry().proposal(pid).state == ProposalState.OPEN
    receipt = net.registry("outsider").decide(pid)  # 1 of 2 is not more than half
    assert net.registry().proposal(pid).state == ProposalState.OPEN and not net.registry().events(
        receipt, "MemberAdded"
    )
    net.registry("th_admin").vote(pid, True)
    assert net.registry().is_member("SG")


def test_passed_proposal_that_cannot_take_effect_closes_as_failed(net):
    """Finding: a proposal whose deciding vote reverted got stuck. Now the vote goes through and the proposal closes
    as Failed."""
    taken = fresh()
    pid = net.registry("vn_admin").propose_member("SG", taken)
    net.registry("th_admin").add_admin(taken)  # the proposed admin takes a role meanwhile
    receipt = net.registry("my_admin").vote(pid, True)  # passes, cannot take effect: does not revert
    assert net.registry().events(receipt, "ProposalClosedWith")[0]["state"] == ProposalState.FAILED
    assert net.registry().events(receipt, "VoteCast")[0]["yes"] == 2
    assert net.registry().proposal(pid).state == ProposalState.FAILED and not net.registry().is_member("SG")
    # a removal passed after the country was removed by another proposal
    r1 = net.registry("vn_admin").propose_removal("MY")
    r2 = net.registry("vn_admin").propose_removal("MY")
    net.registry("th_admin").vote(r1, True)
    assert not net.registry().is_member("MY")
    receipt = net.registry("th_admin").vote(r2, True)
    assert net.registry().events(receipt, "ProposalClosedWith")[0]["state"] == ProposalState.FAILED
    # and a proposal to admit a country admitted meanwhile
    a1 = net.registry("vn_admin").propose_member("SG", fresh())
    a2 = net.registry("th_admin").propose_member("SG", fresh())
    net.registry("th_admin").vote(a1, True)
    assert net.registry().is_member("SG")
    receipt = net.registry("vn_admin").vote(a2, True)
    assert net.registry().proposal(a2).state == ProposalState.FAILED


def test_member_removed_by_majority_loses_every_right_at_once(net):
    th_key, th_store = net.addr("th_issuer"), net.stores["th"]
    root = h()
    net.store("th_issuer").anchor(root, "FORM_D", 1)
    t_before = now(net)
    customs = fresh()
    net.registry("th_admin").add_customs_key(customs)
    net.engine.advance_time(5)
    pid = net.registry("vn_admin").propose_removal("TH")
    receipt = net.registry("my_admin").vote(pid, True)
    ev = net.registry().events(receipt, "MemberRemoved")[0]
    assert (ev["country"], ev["epoch"], ev["proposalId"]) == (b"TH", 1, pid)
    reg = net.registry()
    assert not reg.is_member("TH") and reg.member_count() == 2 and reg.countries() == ["VN", "TH", "MY"]
    assert not reg.is_admin_of(net.addr("th_admin"), "TH") and reg.admin_country_of(net.addr("th_admin")) is None
    assert not reg.is_customs_key_of(customs, "TH")
    with pytest.raises(errors.NotAuthorisedKey):
        net.store("th_issuer").anchor(h(), "FORM_D", 1)
    with pytest.raises(errors.NotRevoker):
        net.store("th_issuer").revoke_root(root, 1)
    with pytest.raises(errors.NotRevoker):
        net.store("th_admin", authority="th").revoke_root(root, 1)
    with pytest.raises(errors.NotAdmin):
        net.registry("th_admin").register_authority("x", ["FORM_D"])
    with pytest.raises(errors.NotAdmin):
        net.registry("th_admin").add_key(th_store, fresh())
    with pytest.raises(errors.NotAdmin):
        net.registry("th_admin").vote(pid, True)
    # history: TH was a member before and its key was authorised then; its anchors stay valid
    assert reg.was_member_at("TH", t_before) and not reg.was_member_at("TH", now(net))
    assert reg.is_authorised_at(th_key, th_store, "FORM_D", t_before)
    assert not reg.is_authorised_at(th_key, th_store, "FORM_D", now(net))
    assert net.store(authority="th").is_active(root)
    # the last member cannot be removed
    pid = net.registry("vn_admin").propose_removal("MY")
    net.registry("my_admin").vote(pid, True)
    with pytest.raises(errors.LastMember):
        net.registry("vn_admin").propose_removal("VN")


def test_readmission_restores_no_old_admins_authorities_or_customs_keys(net):
    """Finding: re-admitting a removed country silently restored its old admins and issuers (no events)."""
    customs = fresh()
    net.registry("th_admin").add_customs_key(customs)
    th_key, th_store = net.addr("th_issuer"), net.stores["th"]
    old_root = h()
    net.store("th_issuer").anchor(old_root, "FORM_D", 1)
    net.engine.advance_time(5)
    remove_country(net, "TH", "vn_admin", ["my_admin"])
    new_admin = net.new_actor("th_admin_new")
    pid = net.registry("vn_admin").propose_member("TH", new_admin.address)
    receipt = net.registry("my_admin").vote(pid, True)
    ev = net.registry().events(receipt, "MemberAdded")[0]
    assert ev["country"] == b"TH" and ev["epoch"] == 2
    [added] = net.registry().events(receipt, "AdminAdded")  # only the proposed admin
    assert added["admin"] == new_admin.address
    reg = net.registry()
    assert reg.is_member("TH") and reg.member("TH")["epoch"] == 2 and reg.member("TH")["adminCount"] == 1
    assert not reg.is_admin_of(net.addr("th_admin"), "TH")  # the old admin is not restored
    assert reg.is_admin_of(new_admin.address, "TH")
    assert not reg.is_customs_key_of(customs, "TH")  # nor the old customs key
    with pytest.raises(errors.NotAdmin):
        net.registry("th_admin").register_authority("x", ["FORM_D"])
    # nor the old authority and its key
    assert reg.authority(th_store).epoch == 1
    with pytest.raises(errors.NotAuthorisedKey):
        net.store("th_issuer").anchor(h(), "FORM_D", 1)
    with pytest.raises(errors.NotRevoker):
        net.store("th_issuer").revoke_root(old_root, 1)
    assert not reg.is_authorised_at(th_key, th_store, "FORM_D", now(net))
    k = net.new_actor("th_old_store_key")
    net.registry("th_admin_new").add_key(th_store, k.address)
    with pytest.raises(errors.NotAuthorisedKey):  # a key added to an old authority's store cannot anchor either
        net.store("th_old_store_key", authority="th").anchor(h(), "FORM_D", 1)
    with pytest.raises(errors.NotRevoker):
        net.store("th_old_store_key", authority="th").revoke_root(old_root, 1)
    # an old admin account may be given a role again, explicitly
    net.registry("th_admin_new").add_admin(net.addr("th_admin"))
    assert reg.is_admin_of(net.addr("th_admin"), "TH")
    # the documents anchored in the first membership stay valid
    assert net.store(authority="th").is_active(old_root)


# ------------------------------------------------------------------ authorities


def test_register_authority_creates_its_store(net):
    reg_vn = net.registry("vn_admin")
    key = fresh()
    receipt = reg_vn.register_authority("VCCI Da Nang", ["FORM_D", "EPHYTO"], first_key=key)
    view = net.registry()
    ev = view.events(receipt, "AuthorityRegistered")[0]
    store = ev["store"]
    assert ev["country"] == b"VN" and ev["name"] == "VCCI Da Nang" and ev["documentTypes"] == 0b110
    assert ev["by"] == net.addr("vn_admin") and ev["validUntil"] == 2**40 - 1
    assert ev["validFrom"] == net.engine.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    k = view.events(receipt, "KeyAdded")[0]
    assert (k["key"], k["store"], k["validFrom"], k["validUntil"], k["by"]) == (
        key,
        store,
        ev["validFrom"],
        ev["validUntil"],
        net.addr("vn_admin"),
    )
    s = view.events(receipt, "KeyStatusChanged")[0]
    assert (s["key"], s["store"], s["status"]) == (key, store, KeyStatus.ACTIVE)
    rec = view.authority(store)
    assert rec.country == "VN" and rec.epoch == 1 and rec.document_types == ["FORM_D", "EPHYTO"]
    assert rec.name == "VCCI Da Nang" and rec.valid_from == ev["validFrom"]
    assert view.stores_of("VN") == [net.stores["vn"], net.stores["vn2"], store]
    assert view.country_of_store(store) == "VN"
    info = view.key_info(key)
    assert info.store == store and info.status == KeyStatus.ACTIVE and info.successor is None
    # the store is a minimal clone of the implementation, named after the authority, asking this registry
    code = net.engine.w3.eth.get_code(store)
    assert len(code) == 45 and view.store_implementation()[2:].lower() in code.hex().lower()
    client = net.store(authority="vn")
    client = type(client)(net.engine.w3, store)
    assert client.name() == "VCCI Da Nang" and client.registry() == view.address
    # unknown stores
    assert view.authority(fresh()) is None and view.country_of_store(fresh()) is None
    assert view.stores_of("SG") == []


def test_register_authority_without_a_first_key(net):
    reg = net.registry("vn_admin")
    receipt = reg.register_authority("VCCI Can Tho", ["FORM_D"])
    store = reg.store_from(receipt)
    assert not net.registry().events(receipt, "KeyAdded")
    key = net.new_actor("cantho_key")
    with pytest.raises(errors.NotAuthorisedKey):
        net.store("cantho_key", authority="vn").anchor(h(), "FORM_D", 1)  # not a key of this store
    receipt = reg.add_key(store, key.address)
    ev = net.registry().events(receipt, "KeyAdded")[0]
    assert ev["store"] == store and ev["key"] == key.address
    net.stores["cantho"] = store
    net.store("cantho_key", authority="cantho").anchor(h(), "FORM_D", 1)
    with pytest.raises(errors.NotAuthorisedKey):  # a key serves its own store only
        net.store("cantho_key", authority="vn").anchor(h(), "FORM_D", 1)


def test_register_authority_refusals(net):
    reg = net.registry("vn_admin")
    with pytest.raises(errors.InvalidName):
        reg.register_authority("", ["FORM_D"])
    with pytest.raises(errors.InvalidName):
        reg.register_authority("x" * 129, ["FORM_D"])
    reg.register_authority("x" * 128, ["FORM_D"])
    with pytest.raises(errors.InvalidDocumentTypes):
        reg.register_authority("x", [])
    with pytest.raises(errors.InvalidValidity):
        reg.register_authority("x", ["FORM_D"], 2_000_000_000, 1_900_000_000)
    with pytest.raises(errors.AccountInUse):  # keys are never shared between authorities or countries
        reg.register_authority("x", ["FORM_D"], first_key=net.addr("th_issuer"))
    with pytest.raises(errors.AccountInUse):
        reg.register_authority("x", ["FORM_D"], first_key=net.addr("vn_admin2"))
    with pytest.raises(errors.NotAdmin):
        net.registry("outsider").register_authority("x", ["FORM_D"])
    with pytest.raises(errors.NotAdmin):
        net.registry("vn_issuer").register_authority("x", ["FORM_D"])


def test_add_key_rules(net):
    reg = net.registry("vn_admin")
    vn_store = net.stores["vn"]
    with pytest.raises(errors.UnknownStore):
        reg.add_key(fresh(), fresh())
    with pytest.raises(errors.NotAdminOf):  # another country's admin
        net.registry("th_admin").add_key(vn_store, fresh())
    with pytest.raises(errors.NotAdmin):
        net.registry("vn_issuer").add_key(vn_store, fresh())
    with pytest.raises(errors.AccountInUse):
        reg.add_key(vn_store, net.addr("vn2_issuer"))
    with pytest.raises(errors.ZeroAddress):
        reg.add_key(vn_store, "0x" + "00" * 20)
    with pytest.raises(errors.InvalidValidity):
        reg.add_key(vn_store, fresh(), now(net) + 100, now(net) + 50)
    key = fresh()
    start = now(net) + 100
    reg.add_key(vn_store, key, start)  # validUntil 0: the authority's end
    info = net.registry().key_info(key)
    assert info.valid_from == start and info.valid_until == net.registry().authority(vn_store).valid_until


def test_other_countries_admins_cannot_manage_keys(net):
    th = net.registry("th_admin")
    vn_key = net.addr("vn_issuer")
    for action in (
        lambda: th.suspend_key(vn_key),
        lambda: th.retire_key(vn_key),
        lambda: th.reinstate_key(vn_key),
        lambda: th.rotate_key(vn_key, fresh()),
        lambda: th.mark_compromised(vn_key, now(net)),
    ):
        with pytest.raises(errors.NotAdminOf):
            action()
    with pytest.raises(errors.UnknownKey):
        th.suspend_key(fresh())
    with pytest.raises(errors.NotAdmin):
        net.registry("vn2_issuer").suspend_key(vn_key)  # another authority's key of the same country
    assert net.registry().key_info(vn_key).status == KeyStatus.ACTIVE


def test_suspend_reinstate_retire(net):
    reg, store = net.registry("vn_admin"), net.store("vn_issuer")
    key, vn_store = net.addr("vn_issuer"), net.stores["vn"]
    store.anchor(h(), "FORM_D", 1)
    t_active = now(net)
    net.engine.advance_time(5)
    receipt = reg.suspend_key(key)
    ev = net.registry().events(receipt, "KeyStatusChanged")[0]
    assert (ev["key"], ev["store"], ev["status"], ev["by"]) == (
        key,
        vn_store,
        KeyStatus.SUSPENDED,
        net.addr("vn_admin"),
    )
    with pytest.raises(errors.NotAuthorisedKey):
        store.anchor(h(), "FORM_D", 1)
    with pytest.raises(errors.InvalidKeyStatus):
        reg.suspend_key(key)
    t_suspended = now(net)
    net.engine.advance_time(10)
    reg.reinstate_key(key)
    store.anchor(h(), "FORM_D", 1)
    view = net.registry()
    assert view.is_authorised_at(key, vn_store, "FORM_D", t_active)
    assert not view.is_authorised_at(key, vn_store, "FORM_D", t_suspended)
    assert view.key_status_at(key, t_suspended) == KeyStatus.SUSPENDED
    assert view.key_status_at(key, t_active) == KeyStatus.ACTIVE
    assert view.key_status_at(key, 1) == KeyStatus.NONE
    with pytest.raises(errors.InvalidKeyStatus):
        reg.reinstate_key(key)
    net.engine.advance_time(5)
    reg.retire_key(key)
    with pytest.raises(errors.NotAuthorisedKey):
        store.anchor(h(), "FORM_D", 1)
    for action in (reg.retire_key, reg.reinstate_key, reg.suspend_key):
        with pytest.raises(errors.InvalidKeyStatus):
            action(key)
    with pytest.raises(errors.InvalidKeyStatus):
        reg.rotate_key(key, fresh())
    assert view.is_authorised_at(key, vn_store, "FORM_D", t_active)  # history keeps earlier anchors valid
    with pytest.raises(errors.AccountInUse):  # a retired key is never reused
        reg.add_key(vn_store, key)


def test_rotation(net):
    reg = net.registry("vn_admin")
    old, vn_store = net.addr("vn_issuer"), net.stores["vn"]
    new = net.new_actor("vn_issuer_new")
    t_old = now(net)
    net.engine.advance_time(5)
    receipt = reg.rotate_key(old, new.address)
    view = net.registry()
    ev = view.events(receipt, "KeyRotated")[0]
    assert (ev["previous"], ev["successor"], ev["store"], ev["by"]) == (
        old,
        new.address,
        vn_store,
        net.addr("vn_admin"),
    )
    at = net.engine.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    added = view.events(receipt, "KeyAdded")[0]
    assert added["key"] == new.address and added["validFrom"] == at
    assert view.key_info(old).status == KeyStatus.RETIRED and view.key_info(old).successor == new.address
    rec = view.key_info(new.address)
    assert rec.store == vn_store and rec.status == KeyStatus.ACTIVE
    assert rec.valid_until == view.key_info(old).valid_until
    assert view.is_authorised_at(old, vn_store, "FORM_D", t_old)
    with pytest.raises(errors.NotAuthorisedKey):
        net.store("vn_issuer").anchor(h(), "FORM_D", 1)
    net.store("vn_issuer_new", authority="vn").anchor(h(), "FORM_D", 1)
    with pytest.raises(errors.InvalidKeyStatus):
        reg.rotate_key(old, fresh())
    with pytest.raises(errors.AccountInUse):
        reg.rotate_key(new.address, net.addr("th_issuer"))
    # a suspended key may be rotated (its successor is active)
    reg.suspend_key(new.address)
    newer = fresh()
    reg.rotate_key(new.address, newer)
    assert view.key_info(newer).status == KeyStatus.ACTIVE


def test_rotating_an_expired_key_reverts_and_rotation_never_extends_validity(net):
    """Finding: rotating an expired issuer gave the successor unlimited validity."""
    reg, vn_store = net.registry("vn_admin"), net.stores["vn"]
    key = net.new_actor("short_key")
    until = now(net) + 100
    reg.add_key(vn_store, key.address, 0, until)
    successor = fresh()
    reg.rotate_key(key.address, successor)  # before expiry: the successor ends when the key would have
    assert net.registry().key_info(successor).valid_until == until
    net.engine.advance_time(200)
    with pytest.raises(errors.KeyExpired) as info:
        reg.rotate_key(successor, fresh())
    assert info.value.args_["validUntil"] == until
    assert not net.registry().is_authorised_at(successor, vn_store, "FORM_D", now(net))
    # a key not yet valid: its successor starts now but still ends no later
    later = fresh()
    start = now(net) + 1000
    reg.add_key(vn_store, later, start, start + 50)
    succ2 = fresh()
    reg.rotate_key(later, succ2)
    assert net.registry().key_info(succ2).valid_until == start + 50


def test_compromised_since(net):
    reg, store = net.registry("vn_admin"), net.store("vn_issuer")
    key, vn_store = net.addr("vn_issuer"), net.stores["vn"]
    good, bad = h(), h()
    store.anchor(good, "FORM_D", 1)
    t_good = store.anchor_of(good).anchored_at
    net.engine.advance_time(100)
    store.anchor(bad, "FORM_D", 1)
    t_bad = store.anchor_of(bad).anchored_at
    since = t_good + 50
    with pytest.raises(errors.InvalidCompromiseTime):
        reg.mark_compromised(key, now(net) + 1000)
    with pytest.raises(errors.InvalidCompromiseTime):
        reg.mark_compromised(key, 0)
    with pytest.raises(errors.UnknownKey):
        reg.mark_compromised(fresh(), since)
    receipt = reg.mark_compromised(key, since)
    view = net.registry()
    ev = view.events(receipt, "KeyCompromised")[0]
    assert (ev["key"], ev["store"], ev["since"], ev["by"]) == (key, vn_store, since, net.addr("vn_admin"))
    assert view.events(receipt, "KeyStatusChanged")[0]["status"] == KeyStatus.RETIRED
    assert view.key_info(key).compromised_since == since and view.key_info(key).status == KeyStatus.RETIRED
    assert view.is_authorised_at(key, vn_store, "FORM_D", t_good)
    assert not view.is_authorised_at(key, vn_store, "FORM_D", t_bad)
    assert view.counts_at(key, since - 1) and not view.counts_at(key, since) and not view.counts_at(key, t_bad)
    assert view.counts_at(net.addr("vn_admin"), t_bad)  # admins' records always count
    with pytest.raises(errors.NotAuthorisedKey):
        store.anchor(h(), "FORM_D", 1)
    with pytest.raises(errors.InvalidCompromiseTime):  # may only move earlier
        reg.mark_compromised(key, since + 10)
    with pytest.raises(errors.InvalidCompromiseTime):
        reg.mark_compromised(key, since)
    receipt = reg.mark_compromised(key, t_good)  # already retired: no second status change
    assert not view.events(receipt, "KeyStatusChanged")
    assert not view.is_authorised_at(key, vn_store, "FORM_D", t_good)


def test_validity_window_and_types(net):
    reg = net.registry("vn_admin")
    start = now(net) + 1000
    key = net.new_actor("future_key")
    store_addr = reg.store_from(
        reg.register_authority("Future office", ["FORM_D"], start, start + 1000, first_key=key.address)
    )
    net.stores["future"] = store_addr
    store = net.store("future_key", authority="future")
    with pytest.raises(errors.NotAuthorisedKey):
        store.anchor(h(), "FORM_D", 1)  # not yet valid
    net.engine.advance_time(1100)
    with pytest.raises(errors.NotAuthorisedKey):
        store.anchor(h(), "EPHYTO", 1)  # type not allowed
    with pytest.raises(errors.NotAuthorisedKey):
        store._send("anchor", os.urandom(32), 64, 1)  # no such type
    store.anchor(h(), "FORM_D", 1)
    view = net.registry()
    assert view.is_authorised_at(key.address, store_addr, "FORM_D", start)
    assert view.is_authorised_at(key.address, store_addr, "FORM_D", start + 1000)
    assert not view.is_authorised_at(key.address, store_addr, "FORM_D", start - 1)
    assert not view.is_authorised_at(key.address, store_addr, "FORM_D", start + 1001)
    assert not view.is_authorised_at(key.address, store_addr, 64, start + 10)
    assert not view.is_authorised_at(key.address, net.stores["vn"], "FORM_D", start + 10)  # another store
    net.engine.advance_time(1000)
    with pytest.raises(errors.NotAuthorisedKey):
        store.anchor(h(), "FORM_D", 1)  # expired
    assert not view.is_authorised_at(fresh(), store_addr, "FORM_D", start)
    # a key valid longer than its authority is still bounded by the authority's window
    long_key = net.new_actor("long_key")
    with pytest.raises(errors.KeyExpired):
        reg.rotate_key(key.address, long_key.address)


def test_erc165(net):
    from tests.support.chain import selector_xor

    view = net.registry()
    assert view.supports_interface(selector_xor("supportsInterface(bytes4)"))
    assert not view.supports_interface("0xffffffff")


def test_country_code_encoding():
    assert to_bytes2("VN") == b"VN"
    with pytest.raises(ValueError):
        to_bytes2("XX")
