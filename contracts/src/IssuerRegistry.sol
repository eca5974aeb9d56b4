// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";

/// @title IssuerRegistry
/// @notice Who may issue on a certnet network. Members are countries (ISO 3166-1 alpha-2) with one or
/// more admin accounts; each member's admins manage only their own country's issuers. Members join and
/// leave by majority vote of the existing members (one vote per country). Issuer status and membership
/// are checkpointed over time so that authorisation can be judged at any past moment.
contract IssuerRegistry is ERC165 {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Lifecycle of an issuer account. Retired is final; accounts are never reused.
    enum IssuerStatus {
        None,
        Active,
        Suspended,
        Retired
    }

    enum ProposalKind {
        AddMember,
        RemoveMember
    }

    enum ProposalState {
        None,
        Open,
        Passed,
        Rejected,
        Expired
    }

    /// @dev The first six fields share one storage slot (2+1+5+5+5+8 bytes).
    struct Issuer {
        bytes2 country;
        IssuerStatus status;
        uint40 validFrom;
        uint40 validUntil;
        uint40 compromisedSince;
        uint64 documentTypes;
        address successor;
        string name;
    }

    struct Member {
        bool active;
        uint32 adminCount;
        uint40 joinedAt;
    }

    struct Proposal {
        ProposalKind kind;
        ProposalState state;
        bytes2 country;
        address admin;
        uint40 deadline;
        uint32 yes;
        uint32 no;
    }

    uint40 public constant VOTING_PERIOD = 30 days;
    uint256 public constant MAX_NAME_LENGTH = 128;
    uint8 public constant MAX_DOCUMENT_TYPE = 63;

    mapping(bytes2 => Member) private _members;
    mapping(bytes2 => Checkpoints.Trace208) private _membership;
    bytes2[] private _countries;
    uint256 public memberCount;
    mapping(address => bytes2) private _adminCountry;

    mapping(address => Issuer) private _issuers;
    mapping(address => Checkpoints.Trace208) private _issuerStatus;
    mapping(bytes2 => address[]) private _countryIssuers;

    mapping(uint256 => Proposal) private _proposals;
    mapping(uint256 => mapping(bytes2 => bool)) private _voted;
    uint256 public proposalCount;

    error InvalidCountry(bytes2 country);
    error DuplicateCountry(bytes2 country);
    error ZeroAddress();
    error AdminExists(address admin);
    error NotAdmin(address caller);
    error NotAdminOf(address caller, bytes2 country);
    error NotMember(bytes2 country);
    error AlreadyMember(bytes2 country);
    error LastAdmin(bytes2 country);
    error LastMember(bytes2 country);
    error ArrayLengthMismatch();
    error NoFoundingMembers();
    error IssuerExists(address account);
    error UnknownIssuer(address account);
    error InvalidIssuerStatus(address account, IssuerStatus status);
    error InvalidName();
    error InvalidDocumentTypes();
    error InvalidValidity(uint40 validFrom, uint40 validUntil);
    error InvalidCompromiseTime(uint40 since);
    error UnknownProposal(uint256 id);
    error ProposalClosed(uint256 id, ProposalState state);
    error AlreadyVoted(uint256 id, bytes2 country);

    event MemberAdded(bytes2 indexed country, address indexed admin, uint256 proposalId);
    event MemberRemoved(bytes2 indexed country, uint256 proposalId);
    event AdminAdded(bytes2 indexed country, address indexed admin, address indexed by);
    event AdminRemoved(bytes2 indexed country, address indexed admin, address indexed by);
    event ProposalCreated(
        uint256 indexed id, ProposalKind kind, bytes2 indexed country, address admin, bytes2 proposer, uint40 deadline
    );
    event VoteCast(uint256 indexed id, bytes2 indexed voter, bool support, uint32 yes, uint32 no);
    event ProposalClosedWith(uint256 indexed id, ProposalState state);
    event IssuerRegistered(
        address indexed account,
        bytes2 indexed country,
        string name,
        uint64 documentTypes,
        uint40 validFrom,
        uint40 validUntil,
        address by
    );
    event IssuerStatusChanged(address indexed account, bytes2 indexed country, IssuerStatus status, address by);
    event IssuerRotated(address indexed previous, address indexed successor, bytes2 indexed country, address by);
    event IssuerCompromised(address indexed account, bytes2 indexed country, uint40 since, address by);

    /// @param countries founding member country codes, one entry per admin (a country may repeat)
    /// @param admins the admin account for each entry of `countries`
    constructor(bytes2[] memory countries, address[] memory admins) {
        if (countries.length != admins.length) revert ArrayLengthMismatch();
        if (countries.length == 0) revert NoFoundingMembers();
        for (uint256 i = 0; i < countries.length; i++) {
            bytes2 c = countries[i];
            if (!_members[c].active) _admit(c, 0);
            _addAdmin(c, admins[i], msg.sender);
        }
    }

    // ---------------------------------------------------------------- modifiers and helpers

    modifier onlyAdminOf(bytes2 country) {
        if (!isAdminOf(msg.sender, country)) revert NotAdminOf(msg.sender, country);
        _;
    }

    function _callerCountry() private view returns (bytes2 c) {
        c = _adminCountry[msg.sender];
        if (c == bytes2(0) || !_members[c].active) revert NotAdmin(msg.sender);
    }

    function _checkCountry(bytes2 c) private pure {
        uint8 a = uint8(c[0]);
        uint8 b = uint8(c[1]);
        if (a < 0x41 || a > 0x5A || b < 0x41 || b > 0x5A) revert InvalidCountry(c);
    }

    function _admit(bytes2 c, uint256 proposalId) private {
        _checkCountry(c);
        Member storage m = _members[c];
        if (m.joinedAt == 0) _countries.push(c);
        // A re-admitted country keeps the admins it had (their records were never deleted).
        m.active = true;
        m.joinedAt = uint40(block.timestamp);
        _membership[c].push(uint48(block.timestamp), 1);
        memberCount += 1;
        emit MemberAdded(c, address(0), proposalId);
    }

    function _addAdmin(bytes2 c, address admin, address by) private {
        if (admin == address(0)) revert ZeroAddress();
        if (_adminCountry[admin] != bytes2(0)) revert AdminExists(admin);
        _adminCountry[admin] = c;
        _members[c].adminCount += 1;
        emit AdminAdded(c, admin, by);
    }

    function _issuer(address account) private view returns (Issuer storage i) {
        i = _issuers[account];
        if (i.status == IssuerStatus.None) revert UnknownIssuer(account);
    }

    function _setStatus(address account, Issuer storage i, IssuerStatus s) private {
        i.status = s;
        _issuerStatus[account].push(uint48(block.timestamp), uint208(uint8(s)));
        emit IssuerStatusChanged(account, i.country, s, msg.sender);
    }

    // ---------------------------------------------------------------- admins

    /// @notice Add another admin account to the caller's country.
    /// @param admin the new admin; must not be an admin of any country already
    function addAdmin(address admin) external {
        _addAdmin(_callerCountry(), admin, msg.sender);
    }

    /// @notice Remove an admin account of the caller's country; the last admin cannot be removed.
    /// @param admin an admin of the caller's country
    function removeAdmin(address admin) external {
        bytes2 c = _callerCountry();
        if (_adminCountry[admin] != c) revert NotAdminOf(admin, c);
        if (_members[c].adminCount == 1) revert LastAdmin(c);
        _members[c].adminCount -= 1;
        delete _adminCountry[admin];
        emit AdminRemoved(c, admin, msg.sender);
    }

    // ---------------------------------------------------------------- membership votes

    /// @notice Propose a new member country with its first admin; the proposer's country votes yes.
    /// @param country ISO 3166-1 alpha-2 code in upper case, e.g. "VN" as bytes2
    /// @param admin the new member's first admin account
    /// @return id the proposal id
    function proposeMember(bytes2 country, address admin) external returns (uint256 id) {
        _checkCountry(country);
        if (_members[country].active) revert AlreadyMember(country);
        if (admin == address(0)) revert ZeroAddress();
        if (_adminCountry[admin] != bytes2(0)) revert AdminExists(admin);
        id = _propose(ProposalKind.AddMember, country, admin);
    }

    /// @notice Propose removing a member country; the proposer's country votes yes.
    /// @param country a current member
    /// @return id the proposal id
    function proposeRemoval(bytes2 country) external returns (uint256 id) {
        if (!_members[country].active) revert NotMember(country);
        if (memberCount == 1) revert LastMember(country);
        id = _propose(ProposalKind.RemoveMember, country, address(0));
    }

    function _propose(ProposalKind kind, bytes2 country, address admin) private returns (uint256 id) {
        bytes2 voter = _callerCountry();
        id = ++proposalCount;
        uint40 deadline = uint40(block.timestamp) + VOTING_PERIOD;
        _proposals[id] = Proposal({
            kind: kind, state: ProposalState.Open, country: country, admin: admin, deadline: deadline, yes: 0, no: 0
        });
        emit ProposalCreated(id, kind, country, admin, voter, deadline);
        _vote(id, voter, true);
    }

    /// @notice Cast the caller's country's vote. A proposal passes (and takes effect) as soon as more than
    /// half of the current members have voted yes, and fails as soon as that can no longer happen.
    /// @param id the proposal id
    /// @param support true for yes
    function vote(uint256 id, bool support) external {
        _vote(id, _callerCountry(), support);
    }

    function _vote(uint256 id, bytes2 voter, bool support) private {
        Proposal storage p = _proposals[id];
        if (p.state == ProposalState.None) revert UnknownProposal(id);
        if (p.state != ProposalState.Open) revert ProposalClosed(id, p.state);
        if (block.timestamp > p.deadline) {
            p.state = ProposalState.Expired;
            emit ProposalClosedWith(id, ProposalState.Expired);
            return;
        }
        if (_voted[id][voter]) revert AlreadyVoted(id, voter);
        _voted[id][voter] = true;
        if (support) p.yes += 1;
        else p.no += 1;
        emit VoteCast(id, voter, support, p.yes, p.no);
        if (uint256(p.yes) * 2 > memberCount) {
            p.state = ProposalState.Passed;
            emit ProposalClosedWith(id, ProposalState.Passed);
            _execute(id, p);
        } else if (uint256(p.no) * 2 >= memberCount) {
            p.state = ProposalState.Rejected;
            emit ProposalClosedWith(id, ProposalState.Rejected);
        }
    }

    function _execute(uint256 id, Proposal storage p) private {
        bytes2 c = p.country;
        if (p.kind == ProposalKind.AddMember) {
            // The admin may have been taken by another country since the proposal was made.
            if (_members[c].active) revert AlreadyMember(c);
            if (_adminCountry[p.admin] != bytes2(0)) revert AdminExists(p.admin);
            _admit(c, id);
            _addAdmin(c, p.admin, address(this));
        } else {
            if (!_members[c].active) revert NotMember(c);
            if (memberCount == 1) revert LastMember(c);
            _members[c].active = false;
            _membership[c].push(uint48(block.timestamp), 0);
            memberCount -= 1;
            emit MemberRemoved(c, id);
        }
    }

    // ---------------------------------------------------------------- issuers

    /// @notice Register an issuer account for the caller's country.
    /// @param account the issuer's signing account; never registered before
    /// @param name the issuing authority's name (1..128 bytes)
    /// @param documentTypes bitmask of document types the issuer may anchor (bit t = type t)
    /// @param validFrom start of validity (unix seconds); 0 means now
    /// @param validUntil end of validity (unix seconds, inclusive); 0 means no end
    function registerIssuer(
        address account,
        string calldata name,
        uint64 documentTypes,
        uint40 validFrom,
        uint40 validUntil
    ) external {
        bytes2 c = _callerCountry();
        if (validFrom == 0) validFrom = uint40(block.timestamp);
        if (validUntil == 0) validUntil = type(uint40).max;
        _register(c, account, name, documentTypes, validFrom, validUntil);
    }

    function _register(
        bytes2 c,
        address account,
        string memory name,
        uint64 documentTypes,
        uint40 validFrom,
        uint40 validUntil
    ) private {
        if (account == address(0)) revert ZeroAddress();
        if (_issuers[account].status != IssuerStatus.None) revert IssuerExists(account);
        uint256 n = bytes(name).length;
        if (n == 0 || n > MAX_NAME_LENGTH) revert InvalidName();
        if (documentTypes == 0) revert InvalidDocumentTypes();
        if (validUntil <= validFrom) revert InvalidValidity(validFrom, validUntil);
        Issuer storage i = _issuers[account];
        i.country = c;
        i.validFrom = validFrom;
        i.validUntil = validUntil;
        i.documentTypes = documentTypes;
        i.name = name;
        _countryIssuers[c].push(account);
        emit IssuerRegistered(account, c, name, documentTypes, validFrom, validUntil, msg.sender);
        _setStatus(account, i, IssuerStatus.Active);
    }

    /// @notice Suspend an active issuer of the caller's country; it cannot anchor until reinstated.
    /// Anchors made before the suspension stay valid.
    /// @param account the issuer
    function suspendIssuer(address account) external {
        Issuer storage i = _managed(account);
        if (i.status != IssuerStatus.Active) revert InvalidIssuerStatus(account, i.status);
        _setStatus(account, i, IssuerStatus.Suspended);
    }

    /// @notice Reinstate a suspended issuer of the caller's country.
    /// @param account the issuer
    function reinstateIssuer(address account) external {
        Issuer storage i = _managed(account);
        if (i.status != IssuerStatus.Suspended) revert InvalidIssuerStatus(account, i.status);
        _setStatus(account, i, IssuerStatus.Active);
    }

    /// @notice Retire an issuer of the caller's country for good. Anchors made before stay valid.
    /// @param account the issuer
    function retireIssuer(address account) external {
        Issuer storage i = _managed(account);
        if (i.status == IssuerStatus.Retired) revert InvalidIssuerStatus(account, i.status);
        _setStatus(account, i, IssuerStatus.Retired);
    }

    /// @notice Replace an issuer's key: the successor inherits name, document types and the end of validity
    /// (valid from now); the previous account is retired.
    /// @param previous an active or suspended issuer of the caller's country
    /// @param successor a fresh account
    function rotateIssuer(address previous, address successor) external {
        Issuer storage i = _managed(previous);
        if (i.status == IssuerStatus.Retired) revert InvalidIssuerStatus(previous, i.status);
        uint40 from = uint40(block.timestamp);
        uint40 until = i.validUntil > from ? i.validUntil : type(uint40).max;
        _register(i.country, successor, i.name, i.documentTypes, from, until);
        i.successor = successor;
        emit IssuerRotated(previous, successor, i.country, msg.sender);
        _setStatus(previous, i, IssuerStatus.Retired);
    }

    /// @notice Mark an issuer's key compromised since `since`: anchors made at or after that time stop
    /// verifying and the key is retired. The time can later be moved earlier, never later.
    /// @param account an issuer of the caller's country
    /// @param since unix seconds, not in the future
    function markCompromised(address account, uint40 since) external {
        Issuer storage i = _managed(account);
        if (since == 0 || since > block.timestamp) revert InvalidCompromiseTime(since);
        if (i.compromisedSince != 0 && since >= i.compromisedSince) revert InvalidCompromiseTime(since);
        i.compromisedSince = since;
        emit IssuerCompromised(account, i.country, since, msg.sender);
        if (i.status != IssuerStatus.Retired) _setStatus(account, i, IssuerStatus.Retired);
    }

    function _managed(address account) private view returns (Issuer storage i) {
        i = _issuer(account);
        bytes2 c = _callerCountry();
        if (c != i.country) revert NotAdminOf(msg.sender, i.country);
    }

    // ---------------------------------------------------------------- views

    /// @notice Whether `account` may anchor documents of `documentType` now; returns its country if so,
    /// zero otherwise. Used by the CertificateRegistry on every anchor (one storage read per record).
    /// @param account the would-be issuer
    /// @param documentType the document type code
    /// @return country the issuer's country, or bytes2(0) when not authorised
    function authorisedCountry(address account, uint8 documentType) external view returns (bytes2 country) {
        Issuer storage i = _issuers[account];
        if (i.status != IssuerStatus.Active) return bytes2(0);
        if (documentType > MAX_DOCUMENT_TYPE || (i.documentTypes >> documentType) & 1 == 0) return bytes2(0);
        if (block.timestamp < i.validFrom || block.timestamp > i.validUntil) return bytes2(0);
        if (i.compromisedSince != 0 && block.timestamp >= i.compromisedSince) return bytes2(0);
        if (!_members[i.country].active) return bytes2(0);
        return i.country;
    }

    /// @notice Was `account` authorised to issue documents of `documentType` at unix time `time`: inside
    /// its validity window, allowed for the type, active (not suspended or retired), not compromised, and its
    /// country a member at that time.
    /// @param account the issuer account
    /// @param documentType the document type code
    /// @param time unix seconds
    /// @return true when authorised
    function isAuthorisedAt(address account, uint8 documentType, uint40 time) public view returns (bool) {
        Issuer storage i = _issuers[account];
        if (i.status == IssuerStatus.None) return false;
        if (documentType > MAX_DOCUMENT_TYPE || (i.documentTypes >> documentType) & 1 == 0) return false;
        if (time < i.validFrom || time > i.validUntil) return false;
        if (i.compromisedSince != 0 && time >= i.compromisedSince) return false;
        if (_issuerStatus[account].upperLookup(time) != uint208(uint8(IssuerStatus.Active))) return false;
        return _membership[i.country].upperLookup(time) == 1;
    }

    /// @notice The issuer record of `account` (status None when unknown).
    /// @param account the issuer account
    /// @return the record
    function issuer(address account) external view returns (Issuer memory) {
        return _issuers[account];
    }

    /// @notice The country an issuer account belongs to, or zero when unknown.
    /// @param account the issuer account
    /// @return the country code
    function countryOf(address account) external view returns (bytes2) {
        return _issuers[account].country;
    }

    /// @notice Whether `account` is a registered issuer whose key was marked compromised.
    /// @param account the issuer account
    /// @return true when compromised
    function isCompromised(address account) external view returns (bool) {
        return _issuers[account].compromisedSince != 0;
    }

    /// @notice The status an issuer had at unix time `time`.
    /// @param account the issuer account
    /// @param time unix seconds
    /// @return the status then
    function issuerStatusAt(address account, uint40 time) external view returns (IssuerStatus) {
        return IssuerStatus(uint8(_issuerStatus[account].upperLookup(time)));
    }

    /// @notice Every issuer account ever registered for `country`.
    /// @param country the member country
    /// @return the accounts
    function issuersOf(bytes2 country) external view returns (address[] memory) {
        return _countryIssuers[country];
    }

    /// @notice Whether `account` is an admin of the member `country` (false once the country was removed).
    /// @param account the account
    /// @param country the country
    /// @return true when it is
    function isAdminOf(address account, bytes2 country) public view returns (bool) {
        return country != bytes2(0) && _adminCountry[account] == country && _members[country].active;
    }

    /// @notice The country `account` is an admin of (zero when none).
    /// @param account the account
    /// @return the country
    function adminCountryOf(address account) external view returns (bytes2) {
        return _adminCountry[account];
    }

    /// @notice Whether `country` is a member now.
    /// @param country the country
    /// @return true when it is
    function isMember(bytes2 country) external view returns (bool) {
        return _members[country].active;
    }

    /// @notice Whether `country` was a member at unix time `time`.
    /// @param country the country
    /// @param time unix seconds
    /// @return true when it was
    function wasMemberAt(bytes2 country, uint40 time) external view returns (bool) {
        return _membership[country].upperLookup(time) == 1;
    }

    /// @notice The member record of `country`.
    /// @param country the country
    /// @return the record
    function member(bytes2 country) external view returns (Member memory) {
        return _members[country];
    }

    /// @notice Every country ever admitted, current members and removed ones.
    /// @return the country codes
    function countries() external view returns (bytes2[] memory) {
        return _countries;
    }

    /// @notice A membership proposal.
    /// @param id the proposal id
    /// @return the proposal
    function proposal(uint256 id) external view returns (Proposal memory) {
        return _proposals[id];
    }

    /// @notice Whether `country` has voted on proposal `id`.
    /// @param id the proposal id
    /// @param country the voter country
    /// @return true when it has
    function hasVoted(uint256 id, bytes2 country) external view returns (bool) {
        return _voted[id][country];
    }
}
