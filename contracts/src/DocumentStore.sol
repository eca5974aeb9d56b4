// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IDocumentStore} from "./interfaces/IDocumentStore.sol";
import {IDocumentStoreBatchable} from "./interfaces/IDocumentStoreBatchable.sol";
import {ICertnetDocumentStore} from "./interfaces/ICertnetDocumentStore.sol";
import {IIssuerRegistry} from "./interfaces/IIssuerRegistry.sol";

/// @title DocumentStore
/// @notice The document store of one issuing authority: Merkle roots of its batches, revocations of its roots,
/// documents and proof nodes, supersessions of its documents. All state is this store's own. Every write is
/// checked with the IssuerRegistry that created the store (as a minimal clone of one implementation): anchoring
/// needs an active key of this authority allowed for the type; revocation and supersession need an active key
/// of this authority or an admin of its country. Records made by a key after the time it was marked
/// compromised do not count: an anchor reads as revoked, a revocation or supersession as if never made.
/// @dev Implements the OpenAttestation DocumentStore interface (root-only and batchable forms) but advertises
/// only the root-only interface id (see IDocumentStoreBatchable).
contract DocumentStore is ERC165, IDocumentStore, IDocumentStoreBatchable, ICertnetDocumentStore {
    /// @dev One slot: 20 + 1 + 3 + 4 + 4 bytes.
    struct Anchor {
        address key;
        uint8 documentType;
        uint24 documentCount;
        uint32 anchoredAt;
        uint32 blockNumber;
    }

    /// @dev One slot: 20 + 1 + 4 + 4 bytes.
    struct Revocation {
        address by;
        uint8 reason;
        uint32 revokedAt;
        uint32 blockNumber;
    }

    struct Supersession {
        address successorStore;
        uint32 supersededAt;
        uint32 blockNumber;
        address by;
        bytes32 successorRoot;
        bytes32 successorDocument;
    }

    /// @notice Reason code of revocations made through the plain OpenAttestation functions.
    uint8 public constant REASON_UNSPECIFIED = 0;
    /// @notice Document type of the plain OpenAttestation `issue(root)`.
    uint8 public constant GENERIC_DOCUMENT_TYPE = 0;
    /// @notice Longest Merkle proof accepted (a batch of 2^32 documents).
    uint256 public constant MAX_PROOF_LENGTH = 32;

    /// @notice The registry that created this store (the same for every clone: it is the implementation's).
    IIssuerRegistry public immutable registry;

    bool private _initialized;
    string private _name;
    mapping(bytes32 => Anchor) private _anchors;
    mapping(bytes32 => Revocation) private _revocations;
    mapping(bytes32 => Supersession) private _supersessions;

    error AlreadyInitialized(address store);
    error NotRegistry(address caller);
    error ZeroRoot();
    error InvalidDocumentCount(uint32 count);
    error AlreadyIssued(bytes32 root);
    error NotIssued(bytes32 root);
    error AlreadyRevoked(bytes32 hash);
    error InvalidProof(bytes32 root, bytes32 document);
    error ProofTooLong(uint256 length);
    error NotAuthorisedKey(address key, uint8 documentType);
    error NotRevoker(address account, bytes32 root);
    error AlreadySuperseded(bytes32 document);
    error SupersededBySelf(bytes32 document);
    error SuccessorNotActive(address store, bytes32 root, bytes32 document);
    error SuccessorOtherCountry(address store, bytes2 expected, bytes2 actual);

    /// @param registry_ the IssuerRegistry; it deploys this implementation and clones it per authority
    constructor(IIssuerRegistry registry_) {
        registry = registry_;
        _initialized = true; // the implementation itself is never a store
    }

    /// @notice Set the store's name; called once by the registry in the transaction that creates the clone.
    /// @param name_ the issuing authority's name
    function initialize(string calldata name_) external {
        if (msg.sender != address(registry)) revert NotRegistry(msg.sender);
        if (_initialized) revert AlreadyInitialized(address(this));
        _initialized = true;
        _name = name_;
    }

    // ---------------------------------------------------------------- anchoring

    /// @notice Anchor a Merkle root of `documentCount` documents of `documentType`. The caller must be an active
    /// key of this store's authority, allowed for the type, inside its validity window, its country a member.
    /// @param root the batch Merkle root (a single document's targetHash for a batch of one)
    /// @param documentType the document type code (see the IssuerRegistry)
    /// @param documentCount the number of documents in the batch (1 .. 2^24-1)
    function anchor(bytes32 root, uint8 documentType, uint32 documentCount) public {
        if (root == bytes32(0)) revert ZeroRoot();
        if (documentCount == 0 || documentCount > type(uint24).max) revert InvalidDocumentCount(documentCount);
        if (_anchors[root].key != address(0)) revert AlreadyIssued(root);
        if (!registry.canAnchor(msg.sender, documentType)) revert NotAuthorisedKey(msg.sender, documentType);
        _anchors[root] = Anchor({
            key: msg.sender,
            documentType: documentType,
            documentCount: uint24(documentCount),
            anchoredAt: uint32(block.timestamp),
            blockNumber: uint32(block.number)
        });
        emit DocumentIssued(root);
        emit RootAnchored(root, msg.sender, documentType, documentCount);
    }

    /// @notice OpenAttestation `issue`: anchor `documentRoot` as one generic document (type 0).
    /// @param documentRoot the Merkle root
    function issue(bytes32 documentRoot) external {
        anchor(documentRoot, GENERIC_DOCUMENT_TYPE, 1);
    }

    // ---------------------------------------------------------------- revocation

    /// @notice Revoke a whole batch with a reason code.
    /// @param root a root anchored in this store
    /// @param reason the reason code
    function revokeRoot(bytes32 root, uint8 reason) public {
        _checkRevoker(root);
        _recordRevocation(root, root, reason);
    }

    /// @notice OpenAttestation `revoke`: revoke a whole batch, reason unspecified.
    /// @param documentRoot a root anchored in this store
    function revoke(bytes32 documentRoot) external {
        revokeRoot(documentRoot, REASON_UNSPECIFIED);
    }

    /// @notice Revoke one document (or a node of a proof path, which revokes every document under it) of a batch,
    /// with a reason code; the Merkle proof is checked on chain.
    /// @param root a root anchored in this store
    /// @param document the document's targetHash (or a proof node)
    /// @param proof the sibling hashes from `document` up to `root`
    /// @param reason the reason code
    function revokeDocument(bytes32 root, bytes32 document, bytes32[] calldata proof, uint8 reason) public {
        _checkRevoker(root);
        if (!MerkleProof.verifyCalldata(proof, root, document)) revert InvalidProof(root, document);
        if (_counts(_revocations[root].by, _revocations[root].revokedAt)) revert AlreadyRevoked(root);
        _recordRevocation(root, document, reason);
    }

    /// @notice OpenAttestation batchable `revoke`: revoke one document, reason unspecified.
    /// @param documentRoot a root anchored in this store
    /// @param document the document's targetHash
    /// @param proof the Merkle proof
    function revoke(bytes32 documentRoot, bytes32 document, bytes32[] calldata proof) external {
        revokeDocument(documentRoot, document, proof, REASON_UNSPECIFIED);
    }

    function _checkRevoker(bytes32 root) private view {
        if (_anchors[root].key == address(0)) revert NotIssued(root);
        if (!registry.canRevoke(msg.sender)) revert NotRevoker(msg.sender, root);
    }

    /// @dev A record that does not count (made by a key after its compromised-since time) may be made again.
    function _recordRevocation(bytes32 root, bytes32 hash, uint8 reason) private {
        Revocation storage r = _revocations[hash];
        if (_counts(r.by, r.revokedAt)) revert AlreadyRevoked(hash);
        _revocations[hash] = Revocation({
            by: msg.sender,
            reason: reason,
            revokedAt: uint32(block.timestamp),
            blockNumber: uint32(block.number)
        });
        emit DocumentRevoked(root, hash);
        emit RevocationRecorded(root, hash, msg.sender, reason);
    }

    /// @dev Whether a record made by `by` at `time` exists and counts.
    function _counts(address by, uint32 time) private view returns (bool) {
        return time != 0 && registry.countsAt(by, time);
    }

    // ---------------------------------------------------------------- supersession

    /// @notice Record that a document is replaced by another (a corrected certificate, a certified true copy).
    /// The successor must be active in a registered store of the same country; the old document must be
    /// issued here and neither revoked nor superseded.
    /// @param oldRoot the old document's root, anchored in this store
    /// @param oldDocument the old document's targetHash
    /// @param oldProof its Merkle proof
    /// @param newStore the store that anchored the successor (this one or another of the same country)
    /// @param newRoot the successor's root
    /// @param newDocument the successor's targetHash
    /// @param newProof its Merkle proof
    function supersede(
        bytes32 oldRoot,
        bytes32 oldDocument,
        bytes32[] calldata oldProof,
        address newStore,
        bytes32 newRoot,
        bytes32 newDocument,
        bytes32[] calldata newProof
    ) external {
        _checkRevoker(oldRoot);
        if (!MerkleProof.verifyCalldata(oldProof, oldRoot, oldDocument)) revert InvalidProof(oldRoot, oldDocument);
        if (newStore == address(this) && oldDocument == newDocument) revert SupersededBySelf(oldDocument);
        if (_counts(_revocations[oldRoot].by, _revocations[oldRoot].revokedAt)) revert AlreadyRevoked(oldRoot);
        if (_counts(_revocations[oldDocument].by, _revocations[oldDocument].revokedAt)) {
            revert AlreadyRevoked(oldDocument);
        }
        Supersession storage s = _supersessions[oldDocument];
        if (_counts(s.by, s.supersededAt)) revert AlreadySuperseded(oldDocument);
        bytes2 country = registry.countryOfStore(address(this));
        bytes2 newCountry = registry.countryOfStore(newStore);
        if (newCountry != country) revert SuccessorOtherCountry(newStore, country, newCountry);
        if (!IDocumentStoreBatchable(newStore).isActive(newRoot, newDocument, newProof)) {
            revert SuccessorNotActive(newStore, newRoot, newDocument);
        }
        _supersessions[oldDocument] = Supersession({
            successorStore: newStore,
            supersededAt: uint32(block.timestamp),
            blockNumber: uint32(block.number),
            by: msg.sender,
            successorRoot: newRoot,
            successorDocument: newDocument
        });
        emit DocumentSuperseded(oldRoot, oldDocument, newStore, newRoot, newDocument, msg.sender);
    }

    // ---------------------------------------------------------------- OpenAttestation views

    /// @notice The store's name (the issuing authority's).
    /// @return the name
    function name() external view returns (string memory) {
        return _name;
    }

    /// @notice Whether `documentRoot` is anchored in this store.
    /// @param documentRoot the root
    /// @return true when anchored
    function isIssued(bytes32 documentRoot) public view returns (bool) {
        return _anchors[documentRoot].key != address(0);
    }

    /// @notice Whether the root is anchored here and the proof ties `document` to it.
    /// @param documentRoot the root
    /// @param document the targetHash
    /// @param proof the Merkle proof
    /// @return true when so
    function isIssued(bytes32 documentRoot, bytes32 document, bytes32[] calldata proof) public view returns (bool) {
        return isIssued(documentRoot) && MerkleProof.verifyCalldata(proof, documentRoot, document);
    }

    /// @notice Whether `hash` — a root, a document or a proof node of this store — is revoked or superseded by a
    /// record that counts, or is a root anchored by a key at or after its compromised-since time (the key was
    /// authorised when it anchored: `anchor` checks it; only a compromise marked later can undo that, and a
    /// suspension or retirement in the same second as the anchor must not). The TradeTrust verifiers ask this for
    /// the targetHash, each node of its proof path and the root.
    /// @param hash the hash
    /// @return true when revoked
    function isRevoked(bytes32 hash) public view returns (bool) {
        Revocation storage r = _revocations[hash];
        if (_counts(r.by, r.revokedAt)) return true;
        Supersession storage s = _supersessions[hash];
        if (_counts(s.by, s.supersededAt)) return true;
        Anchor storage a = _anchors[hash];
        return a.key != address(0) && !_counts(a.key, a.anchoredAt);
    }

    /// @notice Whether the root or the document is revoked (or the document superseded). Reverts with
    /// InvalidProof when the proof does not tie the document to the root.
    /// @param documentRoot the root
    /// @param document the targetHash
    /// @param proof the Merkle proof
    /// @return true when revoked
    function isRevoked(bytes32 documentRoot, bytes32 document, bytes32[] calldata proof) public view returns (bool) {
        if (!MerkleProof.verifyCalldata(proof, documentRoot, document)) revert InvalidProof(documentRoot, document);
        return isRevoked(documentRoot) || isRevoked(document);
    }

    /// @notice Anchored here and not revoked.
    /// @param documentRoot the root
    /// @return true when active
    function isActive(bytes32 documentRoot) external view returns (bool) {
        return isIssued(documentRoot) && !isRevoked(documentRoot);
    }

    /// @notice The document is in a batch anchored here and neither it nor its root is revoked or superseded.
    /// @param documentRoot the root
    /// @param document the targetHash
    /// @param proof the Merkle proof
    /// @return true when active
    function isActive(bytes32 documentRoot, bytes32 document, bytes32[] calldata proof) external view returns (bool) {
        return isIssued(documentRoot, document, proof) && !isRevoked(documentRoot) && !isRevoked(document);
    }

    // ---------------------------------------------------------------- certnet views

    /// @notice The anchor record of `root` (key zero when not anchored here).
    /// @param root the root
    /// @return the record
    function anchorOf(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }

    /// @notice The revocation record of a root, document or proof node (revokedAt zero when none). It may be a
    /// record that does not count: see `isRevoked`.
    /// @param hash the hash
    /// @return the record
    function revocationOf(bytes32 hash) external view returns (Revocation memory) {
        return _revocations[hash];
    }

    /// @notice The supersession record of a document (supersededAt zero when none). It may be a record that does
    /// not count: see `isRevoked`.
    /// @param document the targetHash
    /// @return the record
    function supersessionOf(bytes32 document) external view returns (Supersession memory) {
        return _supersessions[document];
    }

    /// @notice The status of one document: the root's anchor, whether the proof ties the document to the root,
    /// the first revocation that counts among the root, the document and each node of its proof path (in that
    /// order), and the document's supersession if it counts.
    /// @param root the root
    /// @param document the targetHash
    /// @param proof the Merkle proof (at most MAX_PROOF_LENGTH nodes)
    /// @return s the status
    function statusOf(bytes32 root, bytes32 document, bytes32[] calldata proof)
        external
        view
        returns (StoreStatus memory s)
    {
        if (proof.length > MAX_PROOF_LENGTH) revert ProofTooLong(proof.length);
        Anchor memory a = _anchors[root];
        s.key = a.key;
        s.documentType = a.documentType;
        s.documentCount = a.documentCount;
        s.anchoredAt = a.anchoredAt;
        s.anchoredBlock = a.blockNumber;
        if (!_revokedAs(s, root, 1)) {
            if (!_revokedAs(s, document, 2)) {
                bytes32 node = document;
                for (uint256 i = 0; i + 1 < proof.length; i++) {
                    node = _hashPair(node, proof[i]);
                    if (_revokedAs(s, node, 3)) break;
                }
            }
        }
        s.proofValid = MerkleProof.verifyCalldata(proof, root, document);
        Supersession storage p = _supersessions[document];
        uint32 supersededAt = p.supersededAt; // one slot read for the (usual) document never superseded
        if (supersededAt != 0 && _counts(p.by, supersededAt)) {
            s.successorStore = p.successorStore;
            s.successorRoot = p.successorRoot;
            s.successorDocument = p.successorDocument;
            s.supersededAt = supersededAt;
            s.supersededBy = p.by;
        }
    }

    function _revokedAs(StoreStatus memory s, bytes32 hash, uint8 level) private view returns (bool) {
        Revocation memory r = _revocations[hash];
        if (!_counts(r.by, r.revokedAt)) return false;
        s.revokedLevel = level;
        s.revokedHash = hash;
        s.revocationReason = r.reason;
        s.revokedAt = r.revokedAt;
        s.revokedBlock = r.blockNumber;
        s.revokedBy = r.by;
        return true;
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    /// @inheritdoc ERC165
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IDocumentStore).interfaceId
            || interfaceId == type(ICertnetDocumentStore).interfaceId || super.supportsInterface(interfaceId);
    }
}
