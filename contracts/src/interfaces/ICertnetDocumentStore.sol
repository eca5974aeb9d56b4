// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title certnet's document store extensions: typed anchoring, reasoned revocation, supersession, status.
interface ICertnetDocumentStore {
    /// @notice Everything the store knows about one (root, document) pair. Records made by a key marked
    /// compromised at the time they were made do not count and are left out.
    struct StoreStatus {
        address key;
        uint8 documentType;
        uint32 documentCount;
        uint32 anchoredAt;
        uint32 anchoredBlock;
        bool proofValid;
        uint8 revokedLevel; // 0 none, 1 the root, 2 the document, 3 a node of its proof path
        bytes32 revokedHash;
        uint8 revocationReason;
        uint32 revokedAt;
        uint32 revokedBlock;
        address revokedBy;
        address successorStore;
        bytes32 successorRoot;
        bytes32 successorDocument;
        uint32 supersededAt;
        address supersededBy;
    }

    /// @notice A root was anchored by `key` for `documentCount` documents of `documentType`.
    event RootAnchored(bytes32 indexed root, address indexed key, uint8 documentType, uint32 documentCount);
    /// @notice A root (`document == root`), document or proof node was revoked by `by` with `reason`.
    event RevocationRecorded(bytes32 indexed root, bytes32 indexed document, address indexed by, uint8 reason);
    /// @notice `oldDocument` of `oldRoot` is replaced by `newDocument` of `newRoot` in `newStore`.
    event DocumentSuperseded(
        bytes32 indexed oldRoot,
        bytes32 indexed oldDocument,
        address newStore,
        bytes32 newRoot,
        bytes32 indexed newDocument,
        address by
    );

    /// @notice Anchor a root of `documentCount` documents of `documentType` with a key of this store's authority.
    function anchor(bytes32 root, uint8 documentType, uint32 documentCount) external;
    /// @notice Revoke a whole batch with a reason code.
    function revokeRoot(bytes32 root, uint8 reason) external;
    /// @notice Revoke one document (or proof node) of a batch with a reason code; the proof is checked on chain.
    function revokeDocument(bytes32 root, bytes32 document, bytes32[] calldata proof, uint8 reason) external;
    /// @notice Replace a document by one anchored in a store of the same country.
    function supersede(
        bytes32 oldRoot,
        bytes32 oldDocument,
        bytes32[] calldata oldProof,
        address newStore,
        bytes32 newRoot,
        bytes32 newDocument,
        bytes32[] calldata newProof
    ) external;
    /// @notice The status of one document: its root's anchor, revocations of the root, the document and each node
    /// of its proof path, its supersession.
    function statusOf(bytes32 root, bytes32 document, bytes32[] calldata proof)
        external
        view
        returns (StoreStatus memory);
}
