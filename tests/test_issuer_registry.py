"""IssuerRegistry: members, admins, votes, issuers and time-aware authorisation (embedded and anvil)."""

from __future__ import annotations

import pytest
from eth_account import Account

from certnet.node import errors
from certnet.node.contracts import IssuerStatus, ProposalState
from certnet.node.countries import to_bytes2
from certnet.node.deploy import DeployConfig, Member, deploy


def now(net) -> int:
    return net.engine.w3.eth.get_block("latest")["timestamp"]


# ------------------------------------------------------------------ founding members and admins

def test_founding_members_and_admins(net):
    reg = net.registry()
    assert reg.countries() == ["VN", "TH", "MY"]
    assert reg.member_count() == 3
    assert reg.is_member("VN") and not reg.is_member("SG")
    assert reg.is_admin_of(net.addr("vn_admin"), "VN") and reg.is_admin_of(net.addr("vn_admin2"), "VN")
    assert not reg.is_admin_of(net.addr("vn_admin"), "TH")
    assert reg.admin_country_of(net.addr("th_admin")) == "TH"
    assert reg.member("VN")["adminCount"] == 2


def test_constructor_refuses_bad_founders(engine, net):
    w3, deployer = engine.w3, net.actors["deployer"]
    with pytest.raises(errors.AdminExists):
        deploy(w3, deployer, DeployConfig("x", [Member("VN", [net.addr("outsider")]),
                                                Member("TH", [net.addr("outsider")])]))
    from certnet.node.deploy import _deploy_contract

    with pytest.raises(errors.InvalidCountry):
        _deploy_contract(w3, deployer, "IssuerRegistry", [b"vn"], [net.addr("outsider")])
    with pytest.raises(errors.NoFoundingMembers):
        _deploy_contract(w3, deployer, "IssuerRegistry", [], [])
    with pytest.raises(errors.ArrayLengthMismatch):
        _deploy_contract(w3, deployer, "IssuerRegistry", [b"VN"], [])
    with pytest.raises(errors.ZeroAddress):
        _deploy_contract(w3, deployer, "IssuerRegistry", [b"VN"], ["0x" + "00" * 20])


def test_admin_management_is_country_scoped(net):
    new = Account.create().address
    receipt = net.registry("vn_admin").add_admin(new)
    ev = net.registry().events(receipt, "AdminAdded")[0]
    assert ev["country"] == b"VN" and ev["admin"] == new and ev["by"] == net.addr("vn_admin")
    assert net.registry().is_admin_of(new, "VN")
    with pytest.raises(errors.NotAdminOf):
        net.registry("th_admin").remove_admin(new)
    with pytest.raises(errors.NotAdmin):
        net.registry("outsider").add_admin(Account.create().address)
    with pytest.raises(errors.AdminExists):
        net.registry("vn_admin").add_admin(net.addr("th_admin"))
    net.registry("vn_admin").remove_admin(new)
    assert not net.registry().is_admin_of(new, "VN")
    net.registry("vn_admin").remove_admin(net.addr("vn_admin2"))
    with pytest.raises(errors.LastAdmin):
        net.registry("vn_admin").remove_admin(net.addr("vn_admin"))


# ------------------------------------------------------------------ votes

def test_member_joins_by_majority(net):
    sg_admin = net.new_actor("sg_admin")
    reg = net.registry()
    pid = net.registry("vn_admin").propose_member("SG", sg_admin.address)
    p = reg.proposal(pid)
    assert p.state == ProposalState.OPEN and p.yes == 1 and p.country == "SG"
    assert reg.has_voted(pid, "VN")
    # a second admin of the same country cannot vote again
    with pytest.raises(errors.AlreadyVoted):
        net.registry("vn_admin2").vote(pid, True)
    # non-members cannot vote
    with pytest.raises(errors.NotAdmin):
        net.registry("outsider").vote(pid, True)
    assert not reg.is_member("SG")
    receipt = net.registry("th_admin").vote(pid, True)  # 2 of 3 > half
    assert reg.events(receipt, "MemberAdded")[0]["country"] == b"SG"
    assert reg.proposal(pid).state == ProposalState.PASSED
    assert reg.is_member("SG") and reg.member_count() == 4
    assert reg.is_admin_of(sg_admin.address, "SG")
    with pytest.raises(errors.ProposalClosed):
        net.registry("my_admin").vote(pid, True)
    # the new member now manages its own issuers
    issuer = Account.create().address
    net.registry("sg_admin").register_issuer(issuer, "Singapore Customs", ["FORM_D"])
    assert reg.authorised_country(issuer, "FORM_D") == "SG"


def test_member_rejected_and_tie_rules(net):
    sg = Account.create().address
    pid = net.registry("vn_admin").propose_member("SG", sg)
    net.registry("th_admin").vote(pid, False)
    assert net.registry().proposal(pid).state == ProposalState.OPEN  # 1 yes, 1 no of 3
    net.registry("my_admin").vote(pid, False)
    assert net.registry().proposal(pid).state == ProposalState.REJECTED
    assert not net.registry().is_member("SG")


def test_proposal_validation(net):
    with pytest.raises(errors.AlreadyMember):
        net.registry("vn_admin").propose_member("TH", Account.create().address)
    with pytest.raises(errors.InvalidCountry):
        net.registry("vn_admin").propose_member.__self__._send("proposeMember", b"s1", Account.create().address)
    with pytest.raises(errors.AdminExists):
        net.registry("vn_admin").propose_member("SG", net.addr("th_admin"))
    with pytest.raises(errors.NotMember):
        net.registry("vn_admin").propose_removal("SG")
    with pytest.raises(errors.UnknownProposal):
        net.registry("vn_admin").vote(99, True)
    with pytest.raises(errors.NotAdmin):
        net.registry("outsider").propose_member("SG", Account.create().address)


def test_proposal_expires(net):
    pid = net.registry("vn_admin").propose_member("SG", Account.create().address)
    net.engine.advance_time(31 * 24 * 3600)
    receipt = net.registry("th_admin").vote(pid, True)
    assert net.registry().events(receipt, "ProposalClosedWith")[0]["state"] == ProposalState.EXPIRED
    assert net.registry().proposal(pid).state == ProposalState.EXPIRED
    assert not net.registry().is_member("SG")


def test_member_removed_by_majority_loses_powers(net):
    issuer = net.addr("th_issuer")
    t_before = now(net)
    net.engine.advance_time(5)  # the removal happens strictly later than t_before
    pid = net.registry("vn_admin").propose_removal("TH")
    receipt = net.registry("my_admin").vote(pid, True)
    assert net.registry().events(receipt, "MemberRemoved")[0]["country"] == b"TH"
    reg = net.registry()
    assert not reg.is_member("TH") and reg.member_count() == 2
    assert not reg.is_admin_of(net.addr("th_admin"), "TH")
    assert reg.authorised_country(issuer, "FORM_D") is None
    with pytest.raises(errors.NotAuthorisedIssuer):
        net.store("th_issuer").anchor("ab" * 32, "FORM_D", 1)
    with pytest.raises(errors.NotAdmin):
        net.registry("th_admin").register_issuer(Account.create().address, "x", ["FORM_D"])
    # history: TH was a member before, its issuer was authorised then
    assert reg.was_member_at("TH", t_before)
    assert reg.is_authorised_at(issuer, "FORM_D", t_before)
    assert not reg.is_authorised_at(issuer, "FORM_D", now(net))
    # the last members cannot remove everyone
    pid = net.registry("vn_admin").propose_removal("MY")
    net.registry("my_admin").vote(pid, True)
    with pytest.raises(errors.LastMember):
        net.registry("vn_admin").propose_removal("VN")


# ------------------------------------------------------------------ issuers

def test_register_issuer_rules(net):
    reg_vn = net.registry("vn_admin")
    acct = Account.create().address
    receipt = reg_vn.register_issuer(acct, "VCCI Hanoi", ["FORM_D", "EPHYTO"])
    ev = net.registry().events(receipt, "IssuerRegistered")[0]
    assert ev["account"] == acct and ev["country"] == b"VN" and ev["name"] == "VCCI Hanoi"
    assert ev["documentTypes"] == 0b110 and ev["by"] == net.addr("vn_admin")
    rec = net.registry().issuer(acct)
    assert rec.country == "VN" and rec.status == IssuerStatus.ACTIVE and rec.document_types == ["FORM_D", "EPHYTO"]
    assert net.registry().issuers_of("VN") == [net.addr("vn_issuer"), acct]
    with pytest.raises(errors.IssuerExists):
        reg_vn.register_issuer(acct, "again", ["FORM_D"])
    with pytest.raises(errors.IssuerExists):  # accounts are never shared between countries
        net.registry("th_admin").register_issuer(acct, "again", ["FORM_D"])
    with pytest.raises(errors.InvalidName):
        reg_vn.register_issuer(Account.create().address, "", ["FORM_D"])
    with pytest.raises(errors.InvalidName):
        reg_vn.register_issuer(Account.create().address, "x" * 129, ["FORM_D"])
    with pytest.raises(errors.InvalidDocumentTypes):
        reg_vn.register_issuer(Account.create().address, "x", [])
    with pytest.raises(errors.InvalidValidity):
        reg_vn.register_issuer(Account.create().address, "x", ["FORM_D"], 2_000_000_000, 1_900_000_000)
    with pytest.raises(errors.ZeroAddress):
        reg_vn.register_issuer("0x" + "00" * 20, "x", ["FORM_D"])
    with pytest.raises(errors.NotAdmin):
        net.registry("outsider").register_issuer(Account.create().address, "x", ["FORM_D"])
    with pytest.raises(errors.NotAdmin):
        net.registry("vn_issuer").register_issuer(Account.create().address, "x", ["FORM_D"])


def test_other_countries_admins_cannot_manage_issuers(net):
    th = net.registry("th_admin")
    vn_issuer = net.addr("vn_issuer")
    for action in (lambda: th.suspend_issuer(vn_issuer), lambda: th.retire_issuer(vn_issuer),
                   lambda: th.rotate_issuer(vn_issuer, Account.create().address),
                   lambda: th.mark_compromised(vn_issuer, now(net))):
        with pytest.raises(errors.NotAdminOf):
            action()
    with pytest.raises(errors.UnknownIssuer):
        th.suspend_issuer(Account.create().address)


def test_suspend_reinstate_retire(net):
    reg, store = net.registry("vn_admin"), net.store("vn_issuer")
    acct = net.addr("vn_issuer")
    store.anchor("01" * 32, "FORM_D", 1)
    t_active = now(net)
    net.engine.advance_time(5)
    receipt = reg.suspend_issuer(acct)
    ev = net.registry().events(receipt, "IssuerStatusChanged")[0]
    assert ev["status"] == IssuerStatus.SUSPENDED and ev["account"] == acct
    with pytest.raises(errors.NotAuthorisedIssuer):
        store.anchor("02" * 32, "FORM_D", 1)
    with pytest.raises(errors.InvalidIssuerStatus):
        reg.suspend_issuer(acct)
    t_suspended = now(net)
    net.engine.advance_time(10)
    reg.reinstate_issuer(acct)
    store.anchor("03" * 32, "FORM_D", 1)
    view = net.registry()
    assert view.is_authorised_at(acct, "FORM_D", t_active)
    assert not view.is_authorised_at(acct, "FORM_D", t_suspended)
    assert view.issuer_status_at(acct, t_suspended) == IssuerStatus.SUSPENDED
    with pytest.raises(errors.InvalidIssuerStatus):
        reg.reinstate_issuer(acct)
    reg.retire_issuer(acct)
    with pytest.raises(errors.NotAuthorisedIssuer):
        store.anchor("04" * 32, "FORM_D", 1)
    with pytest.raises(errors.InvalidIssuerStatus):
        reg.retire_issuer(acct)
    with pytest.raises(errors.InvalidIssuerStatus):
        reg.reinstate_issuer(acct)
    assert view.is_authorised_at(acct, "FORM_D", t_active)  # history keeps earlier anchors valid


def test_rotation(net):
    reg = net.registry("vn_admin")
    old = net.addr("vn_issuer")
    new = net.new_actor("vn_issuer_new")
    t_old = now(net)
    net.engine.advance_time(5)
    receipt = reg.rotate_issuer(old, new.address)
    ev = net.registry().events(receipt, "IssuerRotated")[0]
    assert ev["previous"] == old and ev["successor"] == new.address and ev["country"] == b"VN"
    view = net.registry()
    assert view.issuer(old).status == IssuerStatus.RETIRED and view.issuer(old).successor == new.address
    rec = view.issuer(new.address)
    assert rec.name == "VCCI Ho Chi Minh City" and rec.document_types == ["ECERT", "FORM_D"]
    assert view.is_authorised_at(old, "FORM_D", t_old)
    with pytest.raises(errors.NotAuthorisedIssuer):
        net.store("vn_issuer").anchor("05" * 32, "FORM_D", 1)
    net.store("vn_issuer_new").anchor("05" * 32, "FORM_D", 1)
    with pytest.raises(errors.InvalidIssuerStatus):
        reg.rotate_issuer(old, Account.create().address)
    with pytest.raises(errors.IssuerExists):
        reg.rotate_issuer(new.address, net.addr("th_issuer"))


def test_compromised_since(net):
    reg, store = net.registry("vn_admin"), net.store("vn_issuer")
    acct = net.addr("vn_issuer")
    store.anchor("06" * 32, "FORM_D", 1)
    t_good = store.anchor_of("06" * 32).anchored_at
    net.engine.advance_time(100)
    store.anchor("07" * 32, "FORM_D", 1)
    t_bad = store.anchor_of("07" * 32).anchored_at
    since = t_good + 50
    with pytest.raises(errors.InvalidCompromiseTime):
        reg.mark_compromised(acct, now(net) + 1000)
    with pytest.raises(errors.InvalidCompromiseTime):
        reg.mark_compromised(acct, 0)
    receipt = reg.mark_compromised(acct, since)
    ev = net.registry().events(receipt, "IssuerCompromised")[0]
    assert ev["since"] == since and ev["account"] == acct
    view = net.registry()
    assert view.is_compromised(acct)
    assert view.is_authorised_at(acct, "FORM_D", t_good)
    assert not view.is_authorised_at(acct, "FORM_D", t_bad)
    assert view.issuer(acct).status == IssuerStatus.RETIRED
    with pytest.raises(errors.NotAuthorisedIssuer):
        store.anchor("08" * 32, "FORM_D", 1)
    with pytest.raises(errors.InvalidCompromiseTime):  # may only move earlier
        reg.mark_compromised(acct, since + 10)
    reg.mark_compromised(acct, t_good)
    assert not view.is_authorised_at(acct, "FORM_D", t_good)


def test_validity_window_and_types(net):
    reg = net.registry("vn_admin")
    start = now(net) + 1000
    acct = net.new_actor("future_issuer")
    reg.register_issuer(acct.address, "Future office", ["FORM_D"], start, start + 1000)
    store = net.store("future_issuer")
    with pytest.raises(errors.NotAuthorisedIssuer):
        store.anchor("09" * 32, "FORM_D", 1)  # not yet valid
    net.engine.advance_time(1100)
    with pytest.raises(errors.NotAuthorisedIssuer):
        store.anchor("0a" * 32, "EPHYTO", 1)  # type not allowed
    store.anchor("0a" * 32, "FORM_D", 1)
    view = net.registry()
    assert view.is_authorised_at(acct.address, "FORM_D", start)
    assert view.is_authorised_at(acct.address, "FORM_D", start + 1000)
    assert not view.is_authorised_at(acct.address, "FORM_D", start - 1)
    assert not view.is_authorised_at(acct.address, "FORM_D", start + 1001)
    assert not view.is_authorised_at(acct.address, 64, start + 10)
    net.engine.advance_time(1000)
    with pytest.raises(errors.NotAuthorisedIssuer):
        store.anchor("0b" * 32, "FORM_D", 1)  # expired
    assert not view.is_authorised_at(Account.create().address, "FORM_D", start)


def test_country_code_encoding():
    assert to_bytes2("VN") == b"VN"
    with pytest.raises(ValueError):
        to_bytes2("XX")
