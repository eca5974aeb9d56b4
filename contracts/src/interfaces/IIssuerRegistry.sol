// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title What a DocumentStore asks its IssuerRegistry. The store is always `msg.sender` for the checks of
/// writes, so a store can only ever ask about itself.
interface IIssuerRegistry {
    /// @notice Whether `key` may anchor documents of `documentType` in the calling store now.
    function canAnchor(address key, uint8 documentType) external view returns (bool);
    /// @notice Whether `account` may revoke or supersede in the calling store now: an active key of the store's
    /// authority inside its validity window, or an admin of its country (the country a member).
    function canRevoke(address account) external view returns (bool);
    /// @notice Whether a record made by `account` at `time` counts: false when `account` is a key marked
    /// compromised at or before `time`.
    function countsAt(address account, uint40 time) external view returns (bool);
    /// @notice Whether `key` was authorised for `store` and `documentType` at `time`.
    function isAuthorisedAt(address key, address store, uint8 documentType, uint40 time) external view returns (bool);
    /// @notice The country of a registered store (zero when `store` is not one).
    function countryOfStore(address store) external view returns (bytes2);
}
