// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";

/// @title The OpenAttestation DocumentStore interface (root-only form), as the TradeTrust verifiers use it.
interface IDocumentStore {
    event DocumentIssued(bytes32 indexed document);
    event DocumentRevoked(bytes32 indexed documentRoot, bytes32 indexed document);

    function name() external view returns (string memory);
    function revoke(bytes32 documentRoot) external;
    function isIssued(bytes32 documentRoot) external view returns (bool);
    function isRevoked(bytes32 documentRoot) external view returns (bool);
    function isActive(bytes32 documentRoot) external view returns (bool);
}

/// @title The (root, document, proof) forms with `issue`. Implemented, but its ERC-165 id (0xdcfd0745) is
/// deliberately NOT advertised: the TradeTrust verifiers then pass un-prefixed hex to these functions and fail.
interface IDocumentStoreBatchable {
    function issue(bytes32 documentRoot) external;
    function revoke(bytes32 documentRoot, bytes32 document, bytes32[] memory proof) external;
    function isIssued(bytes32 documentRoot, bytes32 document, bytes32[] memory proof) external view returns (bool);
    function isRevoked(bytes32 documentRoot, bytes32 document, bytes32[] memory proof) external view returns (bool);
    function isActive(bytes32 documentRoot, bytes32 document, bytes32[] memory proof) external view returns (bool);
}

/// @title certnet's extensions: typed anchoring, reasoned revocation, supersession, batched status.
interface ICertificateRegistry {
    function anchor(bytes32 root, uint8 documentType, uint32 documentCount) external;
    function revokeRoot(bytes32 root, uint8 reason) external;
    function revokeDocument(bytes32 root, bytes32 document, bytes32[] calldata proof, uint8 reason) external;
    function supersede(
        bytes32 oldRoot,
        bytes32 oldDocument,
        bytes32[] calldata oldProof,
        bytes32 newRoot,
        bytes32 newDocument,
        bytes32[] calldata newProof
    ) external;
}

/// @title CertificateRegistry
/// @notice One per network, shared by all issuers. Stores only hashes: Merkle roots of batches of
/// OpenAttestation v2 documents, revocations of roots or single documents (targetHashes), and
/// supersessions. Only an issuer authorised in the IssuerRegistry for the document type may anchor.
contract CertificateRegistry is ERC165, IDocumentStore, ICertificateRegistry {
    // IDocumentStoreBatchable's functions are implemented below but the interface is not declared.
    /// @dev One storage slot: 20 + 1 + 3 + 4 + 4 bytes.
    struct Anchor {
        address issuer;
        uint8 documentType;
        uint24 documentCount;
        uint32 anchoredAt;
        uint32 blockNumber;
    }

    /// @dev One storage slot: 20 + 1 + 4 + 4 bytes.
    struct Revocation {
        address by;
        uint8 reason;
        uint32 revokedAt;
        uint32 blockNumber;
    }

    struct Supersession {
        bytes32 successorRoot;
        bytes32 successorDocument;
        address by;
        uint32 supersededAt;
        uint32 blockNumber;
    }

    /// @notice Everything a verifier needs about one (root, document) pair, read in one call.
    struct DocumentStatus {
        address issuer;
        bytes2 country;
        uint8 documentType;
        uint32 documentCount;
        uint32 anchoredAt;
        uint32 anchoredBlock;
        bool issuerAuthorised;
        bool rootRevoked;
        uint8 revocationReason;
        uint32 revokedAt;
        uint32 revokedBlock;
        bytes32 successorRoot;
        bytes32 successorDocument;
        uint32 supersededAt;
    }

    /// @notice Reason code for revocations made through the plain OpenAttestation functions.
    uint8 public constant REASON_UNSPECIFIED = 0;
    /// @notice Document type used by the plain OpenAttestation `issue(root)`.
    uint8 public constant GENERIC_DOCUMENT_TYPE = 0;
    uint256 public constant MAX_STATUS_QUERIES = 1000;

    IssuerRegistry public immutable issuerRegistry;
    string private _name;

    mapping(bytes32 => Anchor) private _anchors;
    mapping(bytes32 => Revocation) private _revocations;
    mapping(bytes32 => Supersession) private _supersessions;

    error ZeroRoot();
    error AlreadyIssued(bytes32 root);
    error NotIssued(bytes32 root);
    error AlreadyRevoked(bytes32 hash);
    error InvalidProof(bytes32 root, bytes32 document);
    error NotAuthorisedIssuer(address account, uint8 documentType);
    error InvalidDocumentCount(uint32 count);
    error NotRevoker(address caller, bytes32 root);
    error AlreadySuperseded(bytes32 document);
    error SupersededBySelf(bytes32 document);
    error SuccessorNotIssued(bytes32 root);
    error SuccessorRevoked(bytes32 document);
    error SuccessorOtherCountry(bytes2 expected, bytes2 actual);
    error TooManyQueries(uint256 count, uint256 max);
    error ArrayLengthMismatch();

    event RootAnchored(
        bytes32 indexed root,
        address indexed issuer,
        bytes2 indexed country,
        uint8 documentType,
        uint32 documentCount
    );
    event RevocationRecorded(bytes32 indexed root, bytes32 indexed document, address indexed by, uint8 reason);
    event DocumentSuperseded(
        bytes32 indexed oldRoot,
        bytes32 indexed oldDocument,
        bytes32 newRoot,
        bytes32 indexed newDocument,
        address by
    );

    /// @param storeName the name OpenAttestation verifiers show for this store
    /// @param registry the network's IssuerRegistry
    constructor(string memory storeName, IssuerRegistry registry) {
        _name = storeName;
        issuerRegistry = registry;
    }

    // ---------------------------------------------------------------- anchoring

    /// @notice Anchor a Merkle root of `documentCount` documents of `documentType`. The caller must be an
    /// issuer authorised for that type now.
    /// @param root the batch Merkle root (a single document's targetHash for a batch of one)
    /// @param documentType the document type code (see the IssuerRegistry)
    /// @param documentCount the number of documents in the batch (1 .. 2^24-1)
    function anchor(bytes32 root, uint8 documentType, uint32 documentCount) public {
        if (root == bytes32(0)) revert ZeroRoot();
        if (documentCount == 0 || documentCount > type(uint24).max) revert InvalidDocumentCount(documentCount);
        if (_anchors[root].issuer != address(0)) revert AlreadyIssued(root);
        bytes2 country = issuerRegistry.authorisedCountry(msg.sender, documentType);
        if (country == bytes2(0)) revert NotAuthorisedIssuer(msg.sender, documentType);
        _anchors[root] = Anchor({
            issuer: msg.sender,
            documentType: documentType,
            documentCount: uint24(documentCount),
            anchoredAt: uint32(block.timestamp),
            blockNumber: uint32(block.number)
        });
        emit DocumentIssued(root);
        emit RootAnchored(root, msg.sender, country, documentType, documentCount);
    }

    /// @notice OpenAttestation `issue`: anchor `documentRoot` as one generic document (type 0).
    /// @param documentRoot the Merkle root
    function issue(bytes32 documentRoot) external {
        anchor(documentRoot, GENERIC_DOCUMENT_TYPE, 1);
    }

    // ---------------------------------------------------------------- revocation

    /// @notice Revoke a whole batch with a reason code. Allowed to the root's issuer (unless its key was
    /// marked compromised) and to the admins of its country.
    /// @param root an anchored root
    /// @param reason the reason code
    function revokeRoot(bytes32 root, uint8 reason) public {
        _checkRevoker(root);
        _recordRevocation(root, root, reason);
    }

    /// @notice OpenAttestation `revoke`: revoke a whole batch, reason unspecified.
    /// @param documentRoot an anchored root
    function revoke(bytes32 documentRoot) external {
        revokeRoot(documentRoot, REASON_UNSPECIFIED);
    }

    /// @notice Revoke one document of a batch with a reason code; the Merkle proof is checked on chain.
    /// @param root an anchored root
    /// @param document the document's targetHash
    /// @param proof the sibling hashes from the document up to the root
    /// @param reason the reason code
    function revokeDocument(bytes32 root, bytes32 document, bytes32[] calldata proof, uint8 reason) public {
        _checkRevoker(root);
        if (!MerkleProof.verifyCalldata(proof, root, document)) revert InvalidProof(root, document);
        if (_revocations[root].revokedAt != 0) revert AlreadyRevoked(root);
        _recordRevocation(root, document, reason);
    }

    /// @notice OpenAttestation batchable `revoke`: revoke one document, reason unspecified.
    /// @param documentRoot an anchored root
    /// @param document the document's targetHash
    /// @param proof the Merkle proof
    function revoke(bytes32 documentRoot, bytes32 document, bytes32[] calldata proof) external {
        revokeDocument(documentRoot, document, proof, REASON_UNSPECIFIED);
    }

    function _checkRevoker(bytes32 root) private view returns (bytes2 country) {
        address issuer = _anchors[root].issuer;
        if (issuer == address(0)) revert NotIssued(root);
        if (msg.sender == issuer && !issuerRegistry.isCompromised(issuer)) return bytes2(0);
        country = issuerRegistry.countryOf(issuer);
        if (!issuerRegistry.isAdminOf(msg.sender, country)) revert NotRevoker(msg.sender, root);
    }

    function _recordRevocation(bytes32 root, bytes32 key, uint8 reason) private {
        if (_revocations[key].revokedAt != 0) revert AlreadyRevoked(key);
        _revocations[key] = Revocation({
            by: msg.sender,
            reason: reason,
            revokedAt: uint32(block.timestamp),
            blockNumber: uint32(block.number)
        });
        emit DocumentRevoked(root, key);
        emit RevocationRecorded(root, key, msg.sender, reason);
    }

    // ---------------------------------------------------------------- supersession

    /// @notice Record that a document is replaced by another one (a corrected certificate or a certified
    /// true copy). The successor must already be anchored by an issuer of the same country and not revoked;
    /// the old document must be issued, not revoked and not superseded yet. Allowed to the old root's issuer
    /// and to the admins of its country. A superseded document is no longer active.
    /// @param oldRoot the old document's root
    /// @param oldDocument the old document's targetHash
    /// @param oldProof its Merkle proof
    /// @param newRoot the successor's root
    /// @param newDocument the successor's targetHash
    /// @param newProof its Merkle proof
    function supersede(
        bytes32 oldRoot,
        bytes32 oldDocument,
        bytes32[] calldata oldProof,
        bytes32 newRoot,
        bytes32 newDocument,
        bytes32[] calldata newProof
    ) external {
        _checkRevoker(oldRoot);
        if (!MerkleProof.verifyCalldata(oldProof, oldRoot, oldDocument)) revert InvalidProof(oldRoot, oldDocument);
        if (oldDocument == newDocument) revert SupersededBySelf(oldDocument);
        if (_revocations[oldRoot].revokedAt != 0) revert AlreadyRevoked(oldRoot);
        if (_revocations[oldDocument].revokedAt != 0) revert AlreadyRevoked(oldDocument);
        if (_supersessions[oldDocument].supersededAt != 0) revert AlreadySuperseded(oldDocument);

        address newIssuer = _anchors[newRoot].issuer;
        if (newIssuer == address(0)) revert SuccessorNotIssued(newRoot);
        if (!MerkleProof.verifyCalldata(newProof, newRoot, newDocument)) revert InvalidProof(newRoot, newDocument);
        if (_revocations[newRoot].revokedAt != 0) revert SuccessorRevoked(newRoot);
        if (_revocations[newDocument].revokedAt != 0) revert SuccessorRevoked(newDocument);
        if (_supersessions[newDocument].supersededAt != 0) revert AlreadySuperseded(newDocument);
        bytes2 oldCountry = issuerRegistry.countryOf(_anchors[oldRoot].issuer);
        bytes2 newCountry = issuerRegistry.countryOf(newIssuer);
        if (oldCountry != newCountry) revert SuccessorOtherCountry(oldCountry, newCountry);

        _supersessions[oldDocument] = Supersession({
            successorRoot: newRoot,
            successorDocument: newDocument,
            by: msg.sender,
            supersededAt: uint32(block.timestamp),
            blockNumber: uint32(block.number)
        });
        emit DocumentSuperseded(oldRoot, oldDocument, newRoot, newDocument, msg.sender);
    }

    // ---------------------------------------------------------------- views (OpenAttestation)

    /// @notice The store's name.
    /// @return the name
    function name() external view returns (string memory) {
        return _name;
    }

    /// @notice Whether `documentRoot` is anchored.
    /// @param documentRoot the root
    /// @return true when anchored
    function isIssued(bytes32 documentRoot) public view returns (bool) {
        return _anchors[documentRoot].issuer != address(0);
    }

    /// @notice Whether `document` is in the anchored batch `documentRoot`, by its Merkle proof.
    /// @param documentRoot the root
    /// @param document the targetHash
    /// @param proof the Merkle proof
    /// @return true when anchored and the proof holds
    function isIssued(bytes32 documentRoot, bytes32 document, bytes32[] memory proof) public view returns (bool) {
        return isIssued(documentRoot) && MerkleProof.verify(proof, documentRoot, document);
    }

    /// @notice Whether `hash` — a root, a document (targetHash) or any other hash — has been revoked or, for
    /// a document, superseded. The TradeTrust verifiers ask this for the targetHash, each proof node and the
    /// root.
    /// @param hash the hash
    /// @return true when revoked or superseded
    function isRevoked(bytes32 hash) public view returns (bool) {
        return _revocations[hash].revokedAt != 0 || _supersessions[hash].supersededAt != 0;
    }

    /// @notice Whether the document or its root was revoked (or the document superseded). Reverts with
    /// InvalidProof when the proof does not tie the document to the root.
    /// @param documentRoot the root
    /// @param document the targetHash
    /// @param proof the Merkle proof
    /// @return true when revoked
    function isRevoked(bytes32 documentRoot, bytes32 document, bytes32[] memory proof) public view returns (bool) {
        if (!MerkleProof.verify(proof, documentRoot, document)) revert InvalidProof(documentRoot, document);
        return isRevoked(documentRoot) || isRevoked(document);
    }

    /// @notice Anchored and neither revoked nor superseded.
    /// @param documentRoot the root
    /// @return true when active
    function isActive(bytes32 documentRoot) external view returns (bool) {
        return isIssued(documentRoot) && !isRevoked(documentRoot);
    }

    /// @notice The document is in an anchored batch and neither it nor its root is revoked or superseded.
    /// @param documentRoot the root
    /// @param document the targetHash
    /// @param proof the Merkle proof
    /// @return true when active
    function isActive(bytes32 documentRoot, bytes32 document, bytes32[] memory proof) external view returns (bool) {
        return isIssued(documentRoot, document, proof) && !isRevoked(documentRoot) && !isRevoked(document);
    }

    // ---------------------------------------------------------------- views (certnet)

    /// @notice The anchor record of `root` (issuer zero when not anchored).
    /// @param root the root
    /// @return the record
    function anchorOf(bytes32 root) external view returns (Anchor memory) {
        return _anchors[root];
    }

    /// @notice The revocation record of a root or document (revokedAt zero when not revoked).
    /// @param hash the root or targetHash
    /// @return the record
    function revocationOf(bytes32 hash) external view returns (Revocation memory) {
        return _revocations[hash];
    }

    /// @notice The supersession record of a document (supersededAt zero when not superseded).
    /// @param document the targetHash
    /// @return the record
    function supersessionOf(bytes32 document) external view returns (Supersession memory) {
        return _supersessions[document];
    }

    /// @notice Status of many (root, document) pairs in one call: anchor, issuer and its authorisation at
    /// the anchoring time, revocation (the root's first, then the document's), supersession. Proofs are not
    /// checked here: the caller checks each document's integrity off chain.
    /// @param roots the roots
    /// @param documents the targetHashes, same length as `roots`
    /// @return statuses one entry per pair
    function statusOf(bytes32[] calldata roots, bytes32[] calldata documents)
        external
        view
        returns (DocumentStatus[] memory statuses)
    {
        if (roots.length != documents.length) revert ArrayLengthMismatch();
        if (roots.length > MAX_STATUS_QUERIES) revert TooManyQueries(roots.length, MAX_STATUS_QUERIES);
        statuses = new DocumentStatus[](roots.length);
        for (uint256 k = 0; k < roots.length; k++) {
            DocumentStatus memory s = statuses[k];
            Anchor memory a = _anchors[roots[k]];
            if (a.issuer != address(0)) {
                s.issuer = a.issuer;
                s.country = issuerRegistry.countryOf(a.issuer);
                s.documentType = a.documentType;
                s.documentCount = a.documentCount;
                s.anchoredAt = a.anchoredAt;
                s.anchoredBlock = a.blockNumber;
                s.issuerAuthorised = issuerRegistry.isAuthorisedAt(a.issuer, a.documentType, a.anchoredAt);
            }
            Revocation memory r = _revocations[roots[k]];
            if (r.revokedAt != 0) {
                s.rootRevoked = true;
            } else {
                r = _revocations[documents[k]];
            }
            s.revocationReason = r.reason;
            s.revokedAt = r.revokedAt;
            s.revokedBlock = r.blockNumber;
            Supersession memory p = _supersessions[documents[k]];
            s.successorRoot = p.successorRoot;
            s.successorDocument = p.successorDocument;
            s.supersededAt = p.supersededAt;
        }
    }

    /// @inheritdoc ERC165
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IDocumentStore).interfaceId
            || interfaceId == type(ICertificateRegistry).interfaceId || super.supportsInterface(interfaceId);
    }
}
