// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";
import {IIssuerRegistry} from "./interfaces/IIssuerRegistry.sol";
import {DocumentStore} from "./DocumentStore.sol";

/// @title IssuerRegistry
/// @notice Who may issue on a certnet network, one per network. Members are countries (ISO 3166-1 alpha-2), each
/// with admin accounts. A country joins or leaves by majority vote of the current members (one vote per country);
/// only votes of countries that are members when a proposal is decided count, and a removed country loses every
/// right at once (re-admission starts from nothing: a new membership epoch). A member's admins manage only their
/// own country: its issuing authorities — each with its own DocumentStore, a minimal clone created here — and
/// their signing keys (add, rotate, suspend, reinstate, retire, mark compromised since a time), and its customs
/// keys. Key status and membership are checkpointed, so authorisation is judged at any past moment.
contract IssuerRegistry is ERC165, IIssuerRegistry {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Lifecycle of a signing key. Retired is final; keys are never reused.
    enum KeyStatus {
        None,
        Active,
        Suspended,
        Retired
    }

    enum ProposalKind {
        AddMember,
        RemoveMember
    }

    /// @notice Failed: passed, but could not take effect (e.g. the admin was taken by another country since).
    enum ProposalState {
        None,
        Open,
        Passed,
        Rejected,
        Expired,
        Failed
    }

    /// @dev One slot. `epoch` counts admissions: rights granted in an earlier epoch never count again.
    struct Member {
        bool active;
        uint32 epoch;
        uint32 adminCount;
        uint40 joinedAt;
    }

    /// @dev An account's role in a country: admin or customs key, valid while the country is a member in `epoch`.
    struct Role {
        bytes2 country;
        uint32 epoch;
    }

    /// @dev One slot: 2 + 4 + 8 + 5 + 5 bytes.
    struct Authority {
        bytes2 country;
        uint32 epoch;
        uint64 documentTypes;
        uint40 validFrom;
        uint40 validUntil;
    }

    /// @dev The first slot holds what anchoring reads: 20 + 1 + 5 + 5 bytes.
    struct Key {
        address store;
        KeyStatus status;
        uint40 validFrom;
        uint40 validUntil;
        uint40 compromisedSince;
        address successor;
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
    uint256 public constant MAX_STATUS_QUERIES = 1000;

    /// @notice The DocumentStore implementation every authority's store is a clone of.
    address public immutable storeImplementation;

    mapping(bytes2 => Member) private _members;
    mapping(bytes2 => Checkpoints.Trace208) private _membership; // epoch while a member, 0 otherwise
    bytes2[] private _countries;
    uint256 public memberCount;
    mapping(address => Role) private _admins;
    mapping(address => Role) private _customs;

    mapping(address => Authority) private _authorities; // by store
    mapping(bytes2 => address[]) private _countryStores;
    mapping(address => Key) private _keys;
    mapping(address => Checkpoints.Trace208) private _keyStatus;

    mapping(uint256 => Proposal) private _proposals;
    mapping(uint256 => mapping(bytes2 => uint256)) private _votes; // epoch << 2 | (1 yes, 2 no)
    mapping(uint256 => bytes2[]) private _voters;
    uint256 public proposalCount;

    error InvalidCountry(bytes2 country);
    error ZeroAddress();
    error AccountInUse(address account);
    error NotAdmin(address caller);
    error NotAdminOf(address caller, bytes2 country);
    error NotMember(bytes2 country);
    error AlreadyMember(bytes2 country);
    error LastAdmin(bytes2 country);
    error LastMember(bytes2 country);
    error ArrayLengthMismatch();
    error NoFoundingMembers();
    error UnknownStore(address store);
    error UnknownKey(address key);
    error NotCustomsKey(address key);
    error InvalidKeyStatus(address key, KeyStatus status);
    error KeyExpired(address key, uint40 validUntil);
    error InvalidName();
    error InvalidDocumentTypes();
    error InvalidValidity(uint40 validFrom, uint40 validUntil);
    error InvalidCompromiseTime(address key, uint40 since);
    error UnknownProposal(uint256 id);
    error ProposalClosed(uint256 id, ProposalState state);
    error AlreadyVoted(uint256 id, bytes2 country);
    error TooManyQueries(uint256 count, uint256 max);

    event MemberAdded(bytes2 indexed country, uint32 epoch, uint256 proposalId);
    event MemberRemoved(bytes2 indexed country, uint32 epoch, uint256 proposalId);
    event AdminAdded(bytes2 indexed country, address indexed admin, address indexed by);
    event AdminRemoved(bytes2 indexed country, address indexed admin, address indexed by);
    event CustomsKeyAdded(bytes2 indexed country, address indexed key, address indexed by);
    event CustomsKeyRemoved(bytes2 indexed country, address indexed key, address indexed by);
    event ProposalCreated(
        uint256 indexed id, ProposalKind kind, bytes2 indexed country, address admin, bytes2 proposer, uint40 deadline
    );
    event VoteCast(uint256 indexed id, bytes2 indexed voter, bool support, uint32 yes, uint32 no);
    event ProposalClosedWith(uint256 indexed id, ProposalState state);
    event AuthorityRegistered(
        address indexed store,
        bytes2 indexed country,
        string name,
        uint64 documentTypes,
        uint40 validFrom,
        uint40 validUntil,
        address by
    );
    event KeyAdded(address indexed key, address indexed store, uint40 validFrom, uint40 validUntil, address by);
    event KeyStatusChanged(address indexed key, address indexed store, KeyStatus status, address by);
    event KeyRotated(address indexed previous, address indexed successor, address indexed store, address by);
    event KeyCompromised(address indexed key, address indexed store, uint40 since, address by);

    /// @param countries founding member country codes, one entry per admin (a country may repeat)
    /// @param admins the admin account for each entry of `countries`
    constructor(bytes2[] memory countries, address[] memory admins) {
        if (countries.length != admins.length) revert ArrayLengthMismatch();
        if (countries.length == 0) revert NoFoundingMembers();
        storeImplementation = address(new DocumentStore(IIssuerRegistry(address(this))));
        for (uint256 i = 0; i < countries.length; i++) {
            bytes2 c = countries[i];
            if (!_members[c].active) _admit(c, 0);
            _addAdmin(c, admins[i], msg.sender);
        }
    }

    // ---------------------------------------------------------------- helpers

    /// @dev The member country the caller is a current admin of; reverts otherwise.
    function _callerCountry() private view returns (bytes2 c) {
        Role memory r = _admins[msg.sender];
        if (!_roleCounts(r)) revert NotAdmin(msg.sender);
        return r.country;
    }

    function _roleCounts(Role memory r) private view returns (bool) {
        Member storage m = _members[r.country];
        return r.country != bytes2(0) && m.active && m.epoch == r.epoch;
    }

    function _checkCountry(bytes2 c) private pure {
        uint8 a = uint8(c[0]);
        uint8 b = uint8(c[1]);
        if (a < 0x41 || a > 0x5A || b < 0x41 || b > 0x5A) revert InvalidCountry(c);
    }

    /// @dev An account may take a new role only when it holds none that counts and was never a signing key.
    function _checkFree(address account) private view {
        if (account == address(0)) revert ZeroAddress();
        if (_keys[account].status != KeyStatus.None || _roleCounts(_admins[account]) || _roleCounts(_customs[account]))
        {
            revert AccountInUse(account);
        }
    }

    function _admit(bytes2 c, uint256 proposalId) private {
        _checkCountry(c);
        Member storage m = _members[c];
        if (m.epoch == 0) _countries.push(c);
        m.active = true;
        m.epoch += 1;
        m.adminCount = 0;
        m.joinedAt = uint40(block.timestamp);
        _membership[c].push(uint48(block.timestamp), m.epoch);
        memberCount += 1;
        emit MemberAdded(c, m.epoch, proposalId);
    }

    function _addAdmin(bytes2 c, address admin, address by) private {
        _checkFree(admin);
        _admins[admin] = Role({country: c, epoch: _members[c].epoch});
        _members[c].adminCount += 1;
        emit AdminAdded(c, admin, by);
    }

    function _authority(address store) private view returns (Authority storage a) {
        a = _authorities[store];
        if (a.epoch == 0) revert UnknownStore(store);
    }

    /// @dev The key, which must belong to a store of the caller's country.
    function _managedKey(address key) private view returns (Key storage k) {
        k = _keys[key];
        if (k.status == KeyStatus.None) revert UnknownKey(key);
        bytes2 c = _callerCountry();
        if (_authorities[k.store].country != c) revert NotAdminOf(msg.sender, _authorities[k.store].country);
    }

    function _setStatus(address key, Key storage k, KeyStatus s) private {
        k.status = s;
        _keyStatus[key].push(uint48(block.timestamp), uint208(uint8(s)));
        emit KeyStatusChanged(key, k.store, s, msg.sender);
    }

    // ---------------------------------------------------------------- admins and customs keys

    /// @notice Add another admin account to the caller's country.
    /// @param admin an account with no other role
    function addAdmin(address admin) external {
        _addAdmin(_callerCountry(), admin, msg.sender);
    }

    /// @notice Remove an admin account of the caller's country; the last admin cannot be removed.
    /// @param admin a current admin of the caller's country
    function removeAdmin(address admin) external {
        bytes2 c = _callerCountry();
        Role memory r = _admins[admin];
        if (r.country != c || !_roleCounts(r)) revert NotAdminOf(admin, c);
        if (_members[c].adminCount == 1) revert LastAdmin(c);
        _members[c].adminCount -= 1;
        delete _admins[admin];
        emit AdminRemoved(c, admin, msg.sender);
    }

    /// @notice Add a customs key of the caller's country (it records customs decisions on certificates).
    /// @param key an account with no other role
    function addCustomsKey(address key) external {
        bytes2 c = _callerCountry();
        _checkFree(key);
        _customs[key] = Role({country: c, epoch: _members[c].epoch});
        emit CustomsKeyAdded(c, key, msg.sender);
    }

    /// @notice Remove a customs key of the caller's country.
    /// @param key a current customs key of the caller's country
    function removeCustomsKey(address key) external {
        bytes2 c = _callerCountry();
        Role memory r = _customs[key];
        if (r.country != c || !_roleCounts(r)) revert NotCustomsKey(key);
        delete _customs[key];
        emit CustomsKeyRemoved(c, key, msg.sender);
    }

    // ---------------------------------------------------------------- membership votes

    /// @notice Propose a new member country with its first admin; the proposer's country votes yes.
    /// @param country ISO 3166-1 alpha-2 code in upper case, e.g. "VN" as bytes2
    /// @param admin the new member's first admin account (with no other role)
    /// @return id the proposal id
    function proposeMember(bytes2 country, address admin) external returns (uint256 id) {
        _checkCountry(country);
        if (_members[country].active) revert AlreadyMember(country);
        _checkFree(admin);
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

    /// @notice Cast the caller's country's vote. A proposal passes (and takes effect) as soon as more than half of
    /// the current members have voted yes, and fails as soon as that can no longer happen. Only votes of
    /// countries that are members (in the same epoch as when they voted) count.
    /// @param id the proposal id
    /// @param support true for yes
    function vote(uint256 id, bool support) external {
        _vote(id, _callerCountry(), support);
    }

    /// @notice Decide an open proposal again from the votes that count now (after a member was removed, say),
    /// or close it as expired after its deadline. Anyone may call it.
    /// @param id the proposal id
    function decide(uint256 id) external {
        Proposal storage p = _openProposal(id);
        if (block.timestamp > p.deadline) {
            _close(id, p, ProposalState.Expired);
            return;
        }
        _tallyAndDecide(id, p);
    }

    function _openProposal(uint256 id) private view returns (Proposal storage p) {
        p = _proposals[id];
        if (p.state == ProposalState.None) revert UnknownProposal(id);
        if (p.state != ProposalState.Open) revert ProposalClosed(id, p.state);
    }

    function _vote(uint256 id, bytes2 voter, bool support) private {
        Proposal storage p = _openProposal(id);
        if (block.timestamp > p.deadline) {
            _close(id, p, ProposalState.Expired);
            return;
        }
        uint32 epoch = _members[voter].epoch;
        uint256 previous = _votes[id][voter];
        if (previous != 0 && previous >> 2 == epoch) revert AlreadyVoted(id, voter);
        if (previous == 0) _voters[id].push(voter);
        _votes[id][voter] = (uint256(epoch) << 2) | (support ? 1 : 2);
        _tallyAndDecide(id, p);
        emit VoteCast(id, voter, support, p.yes, p.no);
    }

    /// @notice The votes of proposal `id` that count now.
    /// @param id the proposal id
    /// @return yes the yes votes of current members
    /// @return no the no votes of current members
    function tally(uint256 id) public view returns (uint32 yes, uint32 no) {
        bytes2[] storage voters = _voters[id];
        for (uint256 i = 0; i < voters.length; i++) {
            Member storage m = _members[voters[i]];
            uint256 v = _votes[id][voters[i]];
            if (!m.active || v >> 2 != m.epoch) continue;
            if (v & 3 == 1) yes++;
            else no++;
        }
    }

    function _tallyAndDecide(uint256 id, Proposal storage p) private {
        (uint32 yes, uint32 no) = tally(id);
        p.yes = yes;
        p.no = no;
        if (uint256(yes) * 2 > memberCount) {
            _execute(id, p);
        } else if (uint256(no) * 2 >= memberCount) {
            _close(id, p, ProposalState.Rejected);
        }
    }

    function _close(uint256 id, Proposal storage p, ProposalState state) private {
        p.state = state;
        emit ProposalClosedWith(id, state);
    }

    /// @dev A passed proposal that can no longer take effect is closed as Failed instead of reverting the vote.
    function _execute(uint256 id, Proposal storage p) private {
        bytes2 c = p.country;
        if (p.kind == ProposalKind.AddMember) {
            Role memory r = _admins[p.admin];
            bool taken = _keys[p.admin].status != KeyStatus.None || _roleCounts(r) || _roleCounts(_customs[p.admin]);
            if (_members[c].active || taken) {
                _close(id, p, ProposalState.Failed);
                return;
            }
            _close(id, p, ProposalState.Passed);
            _admit(c, id);
            _addAdmin(c, p.admin, address(this));
        } else {
            if (!_members[c].active || memberCount == 1) {
                _close(id, p, ProposalState.Failed);
                return;
            }
            _close(id, p, ProposalState.Passed);
            Member storage m = _members[c];
            m.active = false;
            _membership[c].push(uint48(block.timestamp), 0);
            memberCount -= 1;
            emit MemberRemoved(c, m.epoch, id);
        }
    }

    // ---------------------------------------------------------------- issuing authorities and their keys

    /// @notice Register an issuing authority of the caller's country; creates its DocumentStore.
    /// @param name the authority's name (1..128 bytes), also the store's name
    /// @param documentTypes bitmask of document types it may anchor (bit t = type t)
    /// @param validFrom start of validity (unix seconds); 0 means now
    /// @param validUntil end of validity (unix seconds, inclusive); 0 means no end
    /// @param firstKey its first signing key (an account never used before), or zero to add keys later
    /// @return store the new DocumentStore
    function registerAuthority(
        string calldata name,
        uint64 documentTypes,
        uint40 validFrom,
        uint40 validUntil,
        address firstKey
    ) external returns (address store) {
        bytes2 c = _callerCountry();
        uint256 n = bytes(name).length;
        if (n == 0 || n > MAX_NAME_LENGTH) revert InvalidName();
        if (documentTypes == 0) revert InvalidDocumentTypes();
        if (validFrom == 0) validFrom = uint40(block.timestamp);
        if (validUntil == 0) validUntil = type(uint40).max;
        if (validUntil <= validFrom) revert InvalidValidity(validFrom, validUntil);
        store = Clones.clone(storeImplementation);
        DocumentStore(store).initialize(name);
        _authorities[store] = Authority({
            country: c, epoch: _members[c].epoch, documentTypes: documentTypes, validFrom: validFrom, validUntil: validUntil
        });
        _countryStores[c].push(store);
        emit AuthorityRegistered(store, c, name, documentTypes, validFrom, validUntil, msg.sender);
        if (firstKey != address(0)) _addKey(store, firstKey, validFrom, validUntil);
    }

    /// @notice Add a signing key to an authority of the caller's country.
    /// @param store the authority's store
    /// @param key an account never used before
    /// @param validFrom start of the key's validity; 0 means now
    /// @param validUntil end of the key's validity (inclusive); 0 means the authority's end
    function addKey(address store, address key, uint40 validFrom, uint40 validUntil) external {
        Authority storage a = _authority(store);
        if (a.country != _callerCountry()) revert NotAdminOf(msg.sender, a.country);
        if (validFrom == 0) validFrom = uint40(block.timestamp);
        if (validUntil == 0) validUntil = a.validUntil;
        if (validUntil <= validFrom) revert InvalidValidity(validFrom, validUntil);
        _addKey(store, key, validFrom, validUntil);
    }

    function _addKey(address store, address key, uint40 validFrom, uint40 validUntil) private {
        _checkFree(key);
        Key storage k = _keys[key];
        k.store = store;
        k.validFrom = validFrom;
        k.validUntil = validUntil;
        emit KeyAdded(key, store, validFrom, validUntil, msg.sender);
        _setStatus(key, k, KeyStatus.Active);
    }

    /// @notice Suspend an active key: it can neither anchor nor revoke until reinstated. Its earlier anchors stay
    /// valid.
    /// @param key a key of an authority of the caller's country
    function suspendKey(address key) external {
        Key storage k = _managedKey(key);
        if (k.status != KeyStatus.Active) revert InvalidKeyStatus(key, k.status);
        _setStatus(key, k, KeyStatus.Suspended);
    }

    /// @notice Reinstate a suspended key.
    /// @param key a key of an authority of the caller's country
    function reinstateKey(address key) external {
        Key storage k = _managedKey(key);
        if (k.status != KeyStatus.Suspended) revert InvalidKeyStatus(key, k.status);
        _setStatus(key, k, KeyStatus.Active);
    }

    /// @notice Retire a key for good. Its earlier anchors stay valid.
    /// @param key a key of an authority of the caller's country
    function retireKey(address key) external {
        Key storage k = _managedKey(key);
        if (k.status == KeyStatus.Retired) revert InvalidKeyStatus(key, k.status);
        _setStatus(key, k, KeyStatus.Retired);
    }

    /// @notice Replace a key: the successor serves the same authority from now until the previous key's end of
    /// validity (never later), and the previous key is retired.
    /// @param previous an active or suspended key, not expired, of an authority of the caller's country
    /// @param successor an account never used before
    function rotateKey(address previous, address successor) external {
        Key storage k = _managedKey(previous);
        if (k.status == KeyStatus.Retired) revert InvalidKeyStatus(previous, k.status);
        uint40 from = uint40(block.timestamp);
        if (k.validUntil <= from) revert KeyExpired(previous, k.validUntil);
        _addKey(k.store, successor, from, k.validUntil);
        k.successor = successor;
        emit KeyRotated(previous, successor, k.store, msg.sender);
        _setStatus(previous, k, KeyStatus.Retired);
    }

    /// @notice Mark a key compromised since `since`: whatever it did at or after that time — anchors, revocations,
    /// supersessions — stops counting, and the key is retired. The time can later be moved earlier, never later.
    /// @param key a key of an authority of the caller's country
    /// @param since unix seconds, not in the future
    function markCompromised(address key, uint40 since) external {
        Key storage k = _managedKey(key);
        if (since == 0 || since > block.timestamp) revert InvalidCompromiseTime(key, since);
        if (k.compromisedSince != 0 && since >= k.compromisedSince) revert InvalidCompromiseTime(key, since);
        k.compromisedSince = since;
        emit KeyCompromised(key, k.store, since, msg.sender);
        if (k.status != KeyStatus.Retired) _setStatus(key, k, KeyStatus.Retired);
    }

    // ---------------------------------------------------------------- what stores ask (IIssuerRegistry)

    /// @inheritdoc IIssuerRegistry
    function canAnchor(address key, uint8 documentType) external view returns (bool) {
        Key storage k = _keys[key];
        if (k.store != msg.sender || k.status != KeyStatus.Active) return false;
        if (block.timestamp < k.validFrom || block.timestamp > k.validUntil) return false;
        Authority storage a = _authorities[msg.sender];
        if (documentType > MAX_DOCUMENT_TYPE || (a.documentTypes >> documentType) & 1 == 0) return false;
        if (block.timestamp < a.validFrom || block.timestamp > a.validUntil) return false;
        Member storage m = _members[a.country];
        return m.active && m.epoch == a.epoch;
    }

    /// @inheritdoc IIssuerRegistry
    function canRevoke(address account) external view returns (bool) {
        return canActFor(account, msg.sender);
    }

    /// @notice Whether `account` may act for `store` now: an active key of its authority inside its validity window
    /// (the country a member in the authority's epoch), or a current admin of its country.
    /// @param account the account
    /// @param store the store
    /// @return true when it may
    function canActFor(address account, address store) public view returns (bool) {
        Authority storage a = _authorities[store];
        if (a.epoch == 0) return false;
        Key storage k = _keys[account];
        if (k.store == store) {
            if (k.status != KeyStatus.Active || block.timestamp < k.validFrom || block.timestamp > k.validUntil) {
                return false; // suspended, retired, expired or not yet valid
            }
            Member storage m = _members[a.country];
            return m.active && m.epoch == a.epoch;
        }
        Role memory r = _admins[account];
        return r.country == a.country && _roleCounts(r);
    }

    /// @inheritdoc IIssuerRegistry
    function countsAt(address account, uint40 time) public view returns (bool) {
        uint40 since = _keys[account].compromisedSince;
        return since == 0 || time < since;
    }

    /// @inheritdoc IIssuerRegistry
    function isAuthorisedAt(address key, address store, uint8 documentType, uint40 time) public view returns (bool) {
        Key storage k = _keys[key];
        if (k.status == KeyStatus.None || k.store != store) return false;
        Authority storage a = _authorities[store];
        if (documentType > MAX_DOCUMENT_TYPE || (a.documentTypes >> documentType) & 1 == 0) return false;
        if (time < k.validFrom || time > k.validUntil || time < a.validFrom || time > a.validUntil) return false;
        if (k.compromisedSince != 0 && time >= k.compromisedSince) return false;
        if (_keyStatus[key].upperLookup(time) != uint208(uint8(KeyStatus.Active))) return false;
        return _membership[a.country].upperLookup(time) == a.epoch;
    }

    /// @inheritdoc IIssuerRegistry
    function countryOfStore(address store) external view returns (bytes2) {
        return _authorities[store].country;
    }

    // ---------------------------------------------------------------- batched status across stores

    /// @notice Everything a verifier needs about one document, read in one call with many others.
    struct DocumentStatus {
        bool storeRegistered;
        bytes2 country;
        bool keyAuthorised; // anchored by a key of the store's authority, not at or after its compromised-since time
        DocumentStore.StoreStatus store;
    }

    /// @notice The status of many documents, each named by (store, root, document, proof), across stores in one
    /// call. A store that is not registered here gets `storeRegistered == false` and nothing else.
    /// @param stores the document stores the documents name
    /// @param roots their roots
    /// @param documents their targetHashes
    /// @param proofLengths the length of each document's Merkle proof
    /// @param proofNodes every proof, one after another
    /// @return statuses one entry per document
    function statusOf(
        address[] calldata stores,
        bytes32[] calldata roots,
        bytes32[] calldata documents,
        uint256[] calldata proofLengths,
        bytes32[] calldata proofNodes
    ) external view returns (DocumentStatus[] memory statuses) {
        uint256 n = stores.length;
        if (roots.length != n || documents.length != n || proofLengths.length != n) revert ArrayLengthMismatch();
        if (n > MAX_STATUS_QUERIES) revert TooManyQueries(n, MAX_STATUS_QUERIES);
        statuses = new DocumentStatus[](n);
        uint256 at = 0;
        for (uint256 i = 0; i < n; i++) {
            uint256 end = at + proofLengths[i];
            if (end > proofNodes.length) revert ArrayLengthMismatch();
            statuses[i] = _statusOne(stores[i], roots[i], documents[i], proofNodes[at:end]);
            at = end;
        }
        if (at != proofNodes.length) revert ArrayLengthMismatch();
    }

    function _statusOne(address store, bytes32 root, bytes32 document, bytes32[] calldata proof)
        private
        view
        returns (DocumentStatus memory s)
    {
        Authority storage a = _authorities[store];
        if (a.epoch == 0) return s;
        s.storeRegistered = true;
        s.country = a.country;
        s.store = DocumentStore(store).statusOf(root, document, proof);
        if (s.store.key != address(0)) {
            // the store let only a key authorised at that moment anchor (canAnchor); what can undo that is the key
            // being marked compromised since then. (isAuthorisedAt, which reads the status checkpoint of the
            // anchoring second, would also reject an anchor followed by a suspension in the same second.)
            s.keyAuthorised = _keys[s.store.key].store == store && countsAt(s.store.key, uint40(s.store.anchoredAt));
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice The authority record of a store (epoch zero when `store` is not one).
    /// @param store the store
    /// @return the record
    function authority(address store) external view returns (Authority memory) {
        return _authorities[store];
    }

    /// @notice Every store ever created for `country`.
    /// @param country the country
    /// @return the stores
    function storesOf(bytes2 country) external view returns (address[] memory) {
        return _countryStores[country];
    }

    /// @notice The key record of `key` (status None when unknown).
    /// @param key the key
    /// @return the record
    function keyInfo(address key) external view returns (Key memory) {
        return _keys[key];
    }

    /// @notice The status a key had at unix time `time`.
    /// @param key the key
    /// @param time unix seconds
    /// @return the status then
    function keyStatusAt(address key, uint40 time) external view returns (KeyStatus) {
        return KeyStatus(uint8(_keyStatus[key].upperLookup(time)));
    }

    /// @notice Whether `account` is a current admin of the member `country`.
    /// @param account the account
    /// @param country the country
    /// @return true when it is
    function isAdminOf(address account, bytes2 country) public view returns (bool) {
        Role memory r = _admins[account];
        return r.country == country && _roleCounts(r);
    }

    /// @notice The member country `account` is a current admin of (zero when none).
    /// @param account the account
    /// @return the country
    function adminCountryOf(address account) external view returns (bytes2) {
        Role memory r = _admins[account];
        return _roleCounts(r) ? r.country : bytes2(0);
    }

    /// @notice Whether `key` is a current customs key of the member `country`.
    /// @param key the account
    /// @param country the country
    /// @return true when it is
    function isCustomsKeyOf(address key, bytes2 country) external view returns (bool) {
        Role memory r = _customs[key];
        return r.country == country && _roleCounts(r);
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
        return _membership[country].upperLookup(time) != 0;
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

    /// @notice A membership proposal; an open one past its deadline reads as Expired, and its votes are those
    /// that count now.
    /// @param id the proposal id
    /// @return p the proposal
    function proposal(uint256 id) external view returns (Proposal memory p) {
        p = _proposals[id];
        if (p.state == ProposalState.Open) {
            (p.yes, p.no) = tally(id);
            if (block.timestamp > p.deadline) p.state = ProposalState.Expired;
        }
    }

    /// @notice Whether `country` has a vote on proposal `id` that counts now.
    /// @param id the proposal id
    /// @param country the voter country
    /// @return true when it has
    function hasVoted(uint256 id, bytes2 country) external view returns (bool) {
        uint256 v = _votes[id][country];
        return v != 0 && v >> 2 == _members[country].epoch && _members[country].active;
    }
}
