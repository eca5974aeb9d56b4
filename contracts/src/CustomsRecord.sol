// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IssuerRegistry} from "./IssuerRegistry.sol";
import {IDocumentStoreBatchable} from "./interfaces/IDocumentStoreBatchable.sol";
import {IDocumentStore} from "./interfaces/IDocumentStore.sol";
import {ICustomsRecord} from "./interfaces/ICustomsRecord.sol";

/// @title CustomsRecord
/// @notice The importing customs' side of a certificate's life, shared by both countries on one history: decisions
/// (preference given or not, with a Form D box 4 reason; amended by new versions, never deleted) and retroactive
/// checks (request, answer within a deadline, close). A certificate is (store, targetHash). Only hashes of texts go
/// on chain. Only a customs key of the importing country named in the certificate may decide or ask: the first
/// such call proves the country from the document itself (the salted `importingCountry` leaf, the document's leaf
/// hashes recomputing its targetHash, its Merkle proof to a root anchored in a registered store). Only a key of the
/// issuing authority or an admin of its country may answer.
contract CustomsRecord is ICustomsRecord {
    struct Decision {
        Preference preference;
        uint8 reason;
        uint40 at;
        address by;
        bytes32 noteHash;
    }

    struct Check {
        CheckState state;
        CheckResult result;
        bool late;
        bool revoked;
        bytes2 country;
        uint8 reason;
        uint40 openedAt;
        uint40 dueAt;
        uint40 answeredAt;
        address store;
        address requester;
        address answeredBy;
        bytes32 document;
        bytes32 requestHash;
        bytes32 findingsHash;
    }

    uint8 public constant MAX_REASON = 6; // Form D box 4 reasons: see certnet.node.contracts.DECISION_REASONS
    uint8 public constant MAX_CHECK_REASON = 7;
    uint256 public constant MAX_LEAVES = 4096;

    IssuerRegistry public immutable registry;
    /// @notice How long the issuing side has to answer a retroactive check.
    uint40 public immutable answerPeriod;

    mapping(bytes32 => bytes2) private _importingCountry; // certificate => proven importing country
    mapping(bytes32 => Decision[]) private _decisions;
    mapping(uint256 => Check) private _checks;
    mapping(bytes32 => mapping(bytes2 => uint256)) private _openCheck; // certificate => country => open check id
    uint256 public checkCount;

    error NotCustomsKey(address account, bytes2 country);
    error UnknownStore(address store);
    error NotIssued(address store, bytes32 root, bytes32 document);
    error CountryNotProven(address store, bytes32 document);
    error InvalidCountryProof(bytes32 document);
    error InvalidReason(uint8 reason);
    error InvalidPreference();
    error CheckAlreadyOpen(uint256 id);
    error UnknownCheck(uint256 id);
    error CheckNotOpen(uint256 id, CheckState state);
    error CheckNotAnswered(uint256 id, CheckState state);
    error InvalidResult();
    error NotIssuingSide(address account, address store);
    error NotRequester(address account, uint256 id);

    /// @param registry_ the network's IssuerRegistry
    /// @param answerPeriod_ seconds the issuing side has to answer a check (e.g. 90 days)
    constructor(IssuerRegistry registry_, uint40 answerPeriod_) {
        registry = registry_;
        answerPeriod = answerPeriod_;
    }

    // ---------------------------------------------------------------- decisions

    /// @notice Record (or amend, by a new version) the caller's country's decision on a certificate it imported.
    /// @param store the certificate's document store
    /// @param root its Merkle root
    /// @param document its targetHash
    /// @param proof its Merkle proof
    /// @param country the caller's country, the importing country the certificate names
    /// @param countryProof the proof of the importing country (may be empty once proven for this certificate)
    /// @param preference Given or NotGiven
    /// @param reason the Form D box 4 reason code (0 none .. MAX_REASON)
    /// @param noteHash keccak256 of the note kept off chain (zero when none)
    function recordDecision(
        address store,
        bytes32 root,
        bytes32 document,
        bytes32[] calldata proof,
        bytes2 country,
        CountryProof calldata countryProof,
        Preference preference,
        uint8 reason,
        bytes32 noteHash
    ) external {
        if (preference == Preference.None) revert InvalidPreference();
        if (reason > MAX_REASON) revert InvalidReason(reason);
        bytes32 cert = _importer(store, root, document, proof, country, countryProof);
        _decisions[cert].push(
            Decision({preference: preference, reason: reason, at: uint40(block.timestamp), by: msg.sender, noteHash: noteHash})
        );
        emit DecisionRecorded(
            cert, store, document, country, preference, reason, noteHash, _decisions[cert].length, msg.sender
        );
    }

    // ---------------------------------------------------------------- retroactive checks

    /// @notice Ask the issuing country to verify a certificate the caller's country imported. One open check per
    /// certificate and country.
    /// @param store the certificate's document store
    /// @param root its Merkle root
    /// @param document its targetHash
    /// @param proof its Merkle proof
    /// @param country the caller's country, the importing country the certificate names
    /// @param countryProof the proof of the importing country (may be empty once proven for this certificate)
    /// @param reason the request's reason code (0 .. MAX_CHECK_REASON)
    /// @param requestHash keccak256 of the request (reason text, questions, attachments' hashes) kept off chain
    /// @return id the check's id
    function openCheck(
        address store,
        bytes32 root,
        bytes32 document,
        bytes32[] calldata proof,
        bytes2 country,
        CountryProof calldata countryProof,
        uint8 reason,
        bytes32 requestHash
    ) external returns (uint256 id) {
        if (reason > MAX_CHECK_REASON) revert InvalidReason(reason);
        bytes32 cert = _importer(store, root, document, proof, country, countryProof);
        uint256 open = _openCheck[cert][country];
        if (open != 0) revert CheckAlreadyOpen(open);
        id = ++checkCount;
        uint40 due = uint40(block.timestamp) + answerPeriod;
        Check storage c = _checks[id];
        c.state = CheckState.Open;
        c.country = country;
        c.reason = reason;
        c.openedAt = uint40(block.timestamp);
        c.dueAt = due;
        c.store = store;
        c.requester = msg.sender;
        c.document = document;
        c.requestHash = requestHash;
        _openCheck[cert][country] = id;
        emit CheckOpened(id, store, document, country, reason, requestHash, due, msg.sender);
    }

    /// @notice Answer a retroactive check: a key of the issuing authority or an admin of its country. An answer
    /// after the deadline is recorded as late. Whether the certificate is revoked or superseded by then is
    /// recorded with the answer (revoke or supersede first, then answer, to link them).
    /// @param id the check
    /// @param result Confirmed or NotConfirmed
    /// @param findingsHash keccak256 of the findings kept off chain
    function answerCheck(uint256 id, CheckResult result, bytes32 findingsHash) external {
        Check storage c = _check(id);
        if (c.state != CheckState.Open) revert CheckNotOpen(id, c.state);
        if (result == CheckResult.None) revert InvalidResult();
        if (!registry.canActFor(msg.sender, c.store)) revert NotIssuingSide(msg.sender, c.store);
        c.state = CheckState.Answered;
        c.result = result;
        c.findingsHash = findingsHash;
        c.answeredAt = uint40(block.timestamp);
        c.answeredBy = msg.sender;
        c.late = block.timestamp > c.dueAt;
        c.revoked = IDocumentStore(c.store).isRevoked(c.document);
        emit CheckAnswered(id, result, findingsHash, c.late, c.revoked, msg.sender);
    }

    /// @notice Close an answered check: a customs key of the requesting country. A new check may then be opened.
    /// @param id the check
    function closeCheck(uint256 id) external {
        Check storage c = _check(id);
        if (c.state != CheckState.Answered) revert CheckNotAnswered(id, c.state);
        if (!registry.isCustomsKeyOf(msg.sender, c.country)) revert NotRequester(msg.sender, id);
        c.state = CheckState.Closed;
        delete _openCheck[certificateId(c.store, c.document)][c.country];
        emit CheckClosed(id, msg.sender);
    }

    function _check(uint256 id) private view returns (Check storage c) {
        c = _checks[id];
        if (c.state == CheckState.None) revert UnknownCheck(id);
    }

    // ---------------------------------------------------------------- the importing country

    /// @dev The certificate id, after checking the caller is a customs key of `country`, the certificate is anchored
    /// in a registered store, and it names `country` as its importing country (proven once, then remembered).
    function _importer(
        address store,
        bytes32 root,
        bytes32 document,
        bytes32[] calldata proof,
        bytes2 country,
        CountryProof calldata countryProof
    ) private returns (bytes32 cert) {
        if (!registry.isCustomsKeyOf(msg.sender, country)) revert NotCustomsKey(msg.sender, country);
        if (registry.countryOfStore(store) == bytes2(0)) revert UnknownStore(store);
        if (!IDocumentStoreBatchable(store).isIssued(root, document, proof)) revert NotIssued(store, root, document);
        cert = certificateId(store, document);
        bytes2 proven = _importingCountry[cert];
        if (proven == bytes2(0)) {
            if (countryProof.leaves.length == 0) revert CountryNotProven(store, document);
            if (!provesImportingCountry(document, country, countryProof)) revert InvalidCountryProof(document);
            _importingCountry[cert] = country;
        } else if (proven != country) {
            revert NotCustomsKey(msg.sender, proven);
        }
    }

    /// @notice Whether `p` proves that the OpenAttestation v2 document with targetHash `document` has the field
    /// `importingCountry` equal to `country`: its salted leaf is among the ascending leaf hashes, which hash (as the
    /// compact JSON array of lowercase hex strings) to the targetHash.
    /// @param document the targetHash
    /// @param country the ISO 3166-1 alpha-2 code
    /// @param p the proof
    /// @return true when it proves it
    function provesImportingCountry(bytes32 document, bytes2 country, CountryProof calldata p)
        public
        pure
        returns (bool)
    {
        uint256 n = p.leaves.length;
        if (n == 0 || n > MAX_LEAVES || p.index >= n || bytes(p.salt).length != 36) return false;
        bytes32 leaf = keccak256(
            abi.encodePacked('{"importingCountry":"', p.salt, ":string:", country[0], country[1], '"}')
        );
        if (p.leaves[p.index] != leaf) return false;
        for (uint256 i = 1; i < n; i++) {
            if (p.leaves[i - 1] >= p.leaves[i]) return false;
        }
        return keccak256(_jsonHexArray(p.leaves)) == document;
    }

    /// @dev `["<64 hex>","<64 hex>",...]`, lowercase, compact. Each half word becomes 32 hex digits at once: its
    /// nibbles are spread one per byte, then turned into ASCII ('0'..'9', 'a'..'f').
    function _jsonHexArray(bytes32[] calldata words) private pure returns (bytes memory out) {
        uint256 n = words.length;
        out = new bytes(n * 67 + 1);
        assembly ("memory-safe") {
            function hex32(x) -> r {
                x := and(or(x, shl(64, x)), 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)
                x := and(or(x, shl(32, x)), 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
                x := and(or(x, shl(16, x)), 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
                x := and(or(x, shl(8, x)), 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
                x := and(or(x, shl(4, x)), 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f)
                let letters := shr(4, and(add(x, 0x0606060606060606060606060606060606060606060606060606060606060606),
                                        0x1010101010101010101010101010101010101010101010101010101010101010))
                r := add(add(x, 0x3030303030303030303030303030303030303030303030303030303030303030), mul(letters, 0x27))
            }
            let o := add(out, 32)
            mstore8(o, 0x5b) // [
            o := add(o, 1)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                if i {
                    mstore8(o, 0x2c) // ,
                    o := add(o, 1)
                }
                mstore8(o, 0x22) // "
                let w := calldataload(add(words.offset, mul(i, 32)))
                mstore(add(o, 1), hex32(shr(128, w)))
                mstore(add(o, 33), hex32(and(w, 0xffffffffffffffffffffffffffffffff)))
                o := add(o, 65)
                mstore8(o, 0x22) // "
                o := add(o, 1)
            }
            mstore8(o, 0x5d) // ]
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice The id of a certificate: keccak256(store, targetHash).
    /// @param store the document store
    /// @param document the targetHash
    /// @return the id
    function certificateId(address store, bytes32 document) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(store, document));
    }

    /// @notice The importing country proven for a certificate (zero until a customs of it decided or asked).
    /// @param store the document store
    /// @param document the targetHash
    /// @return the country
    function importingCountryOf(address store, bytes32 document) external view returns (bytes2) {
        return _importingCountry[certificateId(store, document)];
    }

    /// @notice Every version of the decision on a certificate, oldest first.
    /// @param store the document store
    /// @param document the targetHash
    /// @return the versions
    function decisionsOf(address store, bytes32 document) external view returns (Decision[] memory) {
        return _decisions[certificateId(store, document)];
    }

    /// @notice A retroactive check.
    /// @param id the check
    /// @return the check
    function check(uint256 id) external view returns (Check memory) {
        return _checks[id];
    }

    /// @notice The open (or answered, not yet closed) check of `country` on a certificate; zero when none.
    /// @param store the document store
    /// @param document the targetHash
    /// @param country the importing country
    /// @return the check id
    function openCheckOf(address store, bytes32 document, bytes2 country) external view returns (uint256) {
        return _openCheck[certificateId(store, document)][country];
    }
}
