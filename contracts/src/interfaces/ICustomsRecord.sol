// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title The importing side of a certificate's life: customs decisions and retroactive checks.
interface ICustomsRecord {
    /// @notice Preference given or not given (the single window's AS4), per Form D box 4.
    enum Preference {
        None,
        Given,
        NotGiven
    }

    enum CheckState {
        None,
        Open,
        Answered,
        Closed
    }

    enum CheckResult {
        None,
        Confirmed,
        NotConfirmed
    }

    /// @notice The proof that a certificate names `importingCountry`: every leaf hash of the document (its
    /// fields' hashes and its obfuscated hashes, ascending), the position of the `importingCountry` leaf and its salt.
    struct CountryProof {
        bytes32[] leaves;
        uint256 index;
        string salt;
    }

    /// @notice A decision, amended by recording a new version; never deleted.
    event DecisionRecorded(
        bytes32 indexed certificate,
        address indexed store,
        bytes32 indexed document,
        bytes2 country,
        Preference preference,
        uint8 reason,
        bytes32 noteHash,
        uint256 version,
        address by
    );
    /// @notice The importing customs asks the issuing country to verify a certificate.
    event CheckOpened(
        uint256 indexed id,
        address indexed store,
        bytes32 indexed document,
        bytes2 country,
        uint8 reason,
        bytes32 requestHash,
        uint40 dueAt,
        address by
    );
    /// @notice The issuing side answers; `revoked` tells whether the certificate was revoked or superseded then.
    event CheckAnswered(
        uint256 indexed id, CheckResult result, bytes32 findingsHash, bool late, bool revoked, address by
    );
    /// @notice The requesting customs closes the check.
    event CheckClosed(uint256 indexed id, address by);
}
