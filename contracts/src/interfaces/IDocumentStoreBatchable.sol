// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title The OpenAttestation (root, document, proof) forms. Implemented by certnet's DocumentStore, but its
/// ERC-165 id (0xdcfd0745) is deliberately NOT advertised: the current TradeTrust verifiers mishandle it with
/// v2 documents, and take the working root-only path without it.
interface IDocumentStoreBatchable {
    /// @notice Anchor a Merkle root.
    function issue(bytes32 documentRoot) external;
    /// @notice Revoke one document (or proof node) of an anchored root.
    function revoke(bytes32 documentRoot, bytes32 document, bytes32[] calldata proof) external;
    /// @notice The root is anchored and the proof ties the document to it.
    function isIssued(bytes32 documentRoot, bytes32 document, bytes32[] calldata proof) external view returns (bool);
    /// @notice The root or the document is revoked (or the document superseded).
    function isRevoked(bytes32 documentRoot, bytes32 document, bytes32[] calldata proof) external view returns (bool);
    /// @notice Issued and neither the root nor the document revoked or superseded.
    function isActive(bytes32 documentRoot, bytes32 document, bytes32[] calldata proof) external view returns (bool);
}
