// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title The OpenAttestation DocumentStore interface, root-only form, as the TradeTrust verifiers use it.
interface IDocumentStore {
    /// @notice A Merkle root was anchored.
    event DocumentIssued(bytes32 indexed document);
    /// @notice A root (then `documentRoot == document`) or a document or proof node of a root was revoked.
    event DocumentRevoked(bytes32 indexed documentRoot, bytes32 indexed document);

    /// @notice The store's name, shown by OpenAttestation verifiers.
    function name() external view returns (string memory);
    /// @notice Revoke an anchored root.
    function revoke(bytes32 documentRoot) external;
    /// @notice Whether a root is anchored in this store.
    function isIssued(bytes32 documentRoot) external view returns (bool);
    /// @notice Whether a root, a document or a proof node of this store is revoked (or superseded).
    function isRevoked(bytes32 documentRoot) external view returns (bool);
    /// @notice Issued and not revoked.
    function isActive(bytes32 documentRoot) external view returns (bool);
}
