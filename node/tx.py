"""Signing and sending transactions: correct nonces under concurrency, receipts awaited, reverts raised as
the contract's named custom errors (see certnet.node.errors). The key is local (decrypted from a keystore) or
in an external signer such as Clef (certnet.node.signers)."""

from __future__ import annotations

import ast
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal, cast, overload

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError, TimeExhausted
from web3.types import TxParams, TxReceipt

from certnet import CertnetError
from certnet.node.errors import ContractRevert, decode_revert
from certnet.node.signers import LocalKeySigner, Signer, tx_hash

try:  # the embedded engine raises its own exception for reverts in some paths
    from eth_tester.exceptions import TransactionFailed as _TesterFailed
except ImportError:  # pragma: no cover - eth-tester is a dependency

    class _TesterFailed(Exception):  # type: ignore[no-redef]  # the stand-in for the import above
        pass


#: Exceptions by which web3 (or the embedded engine) reports a revert.
REVERTS: tuple[type[Exception], ...] = (ContractCustomError, ContractLogicError, ContractPanicError, _TesterFailed)


class TransactionError(CertnetError, RuntimeError):
    """A transaction could not be sent or was not mined in time."""


def _anvil_nonce_taken(text: str) -> bool:
    """anvil's words for "nonce too low": "invalid transaction nonce: expected 5, but got 3"."""
    m = re.search(r"invalid transaction nonce: expected (\d+), but got (\d+)", text)
    return m is not None and int(m.group(2)) < int(m.group(1))


class NonceConsumed(TransactionError):
    """A signed transaction can never be mined: another transaction of the account took its nonce."""


@dataclass(frozen=True)
class SignedTx:
    hash: str
    raw: str
    nonce: int


def revert_from(exc: Exception, context: str) -> ContractRevert:
    """The named revert hidden in a web3 exception (custom error data, or a reason string)."""
    data = getattr(exc, "data", None)
    if isinstance(exc, ContractCustomError) and isinstance(data, str):
        return decode_revert(data, context)
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        return decode_revert(data, context)
    msg = str(getattr(exc, "message", None) or exc)
    # the embedded engine (eth-tester) reports constructor reverts as "execution reverted: b'...'"
    if isinstance(exc, _TesterFailed) and exc.args and isinstance(exc.args[0], bytes):
        return decode_revert(exc.args[0], context)
    marker = "reverted: b"
    if marker in msg:
        try:
            raw = ast.literal_eval(msg[msg.index(marker) + len(marker) - 1 :])
            if isinstance(raw, bytes):
                return decode_revert(raw, context)
        except (ValueError, SyntaxError):
            pass
    return decode_revert(None, f"{context}: {msg}" if msg else context)


class Transactor:
    """Sends transactions from one account. Share one instance per account and node (see `signer_for`):
    nonces are allocated under a lock and re-read from the node after a failed send."""

    # Generous: the estimate is made against the latest block, and storage writes that depend on the block
    # (a checkpoint in a new second takes a fresh slot) may cost more when the transaction is mined.
    GAS_MARGIN = 1.25
    GAS_EXTRA = 40_000

    def __init__(self, w3: Web3, key: str | bytes | LocalAccount | Signer) -> None:
        self.w3 = w3
        self.signer: Signer
        if isinstance(key, LocalAccount):  # (a LocalAccount would pass for a Signer: checked first)
            self.signer = LocalKeySigner(key)
        elif isinstance(key, (str, bytes)):
            self.signer = LocalKeySigner(Account.from_key(key))
        else:
            self.signer = key
        self.address = self.signer.address
        self._lock = threading.RLock()
        self._nonce: int | None = None
        self._chain_id: int | None = None

    def __repr__(self) -> str:  # never show the key
        return f"Transactor({self.address})"

    @property
    def account(self) -> LocalAccount:
        """The local key (only when this process holds it)."""
        if not isinstance(self.signer, LocalKeySigner):
            raise TypeError(f"the key of {self.address} is in an external signer ({self.signer!r})")
        return self.signer.account

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        return self._chain_id

    @property
    def next_nonce(self) -> int | None:
        """The nonce the next signature takes, when known (None: it will be read from the node)."""
        with self._lock:
            return self._nonce

    def reset_nonce(self) -> None:
        """Forget the allocated nonces: the next signature reads the node's (pending) nonce. For a node that
        lost transactions (blocks lost in a crash, a reorg, a pool that dropped them): signing on from the
        cached nonce would leave a gap the node waits behind for ever."""
        with self._lock:
            self._nonce = None

    def _fees(self) -> dict[str, int]:
        base = self.w3.eth.get_block("latest").get("baseFeePerGas")
        if base is None:
            return {"gasPrice": self.w3.eth.gas_price}
        tip = 1_000_000_000
        return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base + tip}

    def _estimate(self, fn: ContractFunction | ContractConstructor, label: str) -> int:
        try:
            return fn.estimate_gas({"from": self.address})
        except REVERTS as exc:
            raise revert_from(exc, label) from None
        except ValueError as exc:  # some nodes answer estimate failures as plain RPC errors
            raise revert_from(exc, label) from None

    def sign(self, fn: ContractFunction | ContractConstructor, context: str | None = None) -> SignedTx:
        """Estimate (raising the named revert), take the next nonce and sign, without sending. The caller
        records the signed transaction durably, then calls `broadcast` (which may be repeated safely)."""
        label = context or getattr(fn, "fn_name", None) or "deploy"
        return self._sign(self._builder(fn, self._estimate(fn, label)))

    def _builder(self, fn: ContractFunction | ContractConstructor, gas: int) -> Any:
        def build(nonce: int, fees: dict[str, Any]) -> Any:
            return fn.build_transaction(
                cast(
                    "TxParams",
                    {
                        "from": self.address,
                        "nonce": nonce,
                        "gas": int(gas * self.GAS_MARGIN) + self.GAS_EXTRA,
                        "chainId": self.chain_id,
                        **fees,
                    },
                )
            )

        method = getattr(fn, "signature", None) if isinstance(fn, ContractFunction) else None
        build.method = method  # type: ignore[attr-defined]  # a function attribute, read with getattr by _sign
        return build

    def broadcast(self, raw_tx: str, label: str = "transaction") -> str:
        """Send a signed transaction. Re-sending one the node already has is not an error."""
        try:
            return self.w3.eth.send_raw_transaction(HexStr(raw_tx)).to_0x_hex()
        except Exception as exc:
            text = str(exc).lower()
            if "already known" in text or "already imported" in text or "known transaction" in text:
                from eth_utils import keccak

                return "0x" + keccak(hexstr=raw_tx).hex()
            with self._lock:
                self._nonce = None  # re-read from the node before the next transaction
            if "nonce too low" in text or _anvil_nonce_taken(text):
                raise NonceConsumed(f"{label}: nonce already used on chain: {exc}") from exc
            raise TransactionError(f"{label}: the node refused the transaction: {exc}") from exc

    @overload
    def send(
        self,
        fn: ContractFunction | ContractConstructor,
        wait: Literal[True] = ...,
        timeout: float = ...,
        context: str | None = ...,
    ) -> TxReceipt: ...

    @overload
    def send(
        self,
        fn: ContractFunction | ContractConstructor,
        wait: Literal[False],
        timeout: float = ...,
        context: str | None = ...,
    ) -> str: ...

    @overload
    def send(
        self,
        fn: ContractFunction | ContractConstructor,
        wait: bool,
        timeout: float = ...,
        context: str | None = ...,
    ) -> TxReceipt | str: ...

    def send(
        self,
        fn: ContractFunction | ContractConstructor,
        wait: bool = True,
        timeout: float = 120.0,
        context: str | None = None,
    ) -> TxReceipt | str:
        """Estimate (raising the named revert), sign, send; return the receipt (or the hash if not `wait`)."""
        label = context or getattr(fn, "fn_name", None) or "deploy"
        tx_hash = self._send_now(self._builder(fn, self._estimate(fn, label)), label)
        if not wait:
            return tx_hash
        return self.wait(tx_hash, timeout=timeout, fn=fn, label=label)

    def transfer(self, to: str, wei: int, wait: bool = True) -> TxReceipt | str:
        """Send ether (funding development accounts on local engines)."""
        tx_hash = self._send_now(
            lambda nonce, fees: {
                "to": to,
                "value": wei,
                "from": self.address,
                "nonce": nonce,
                "gas": 21_000,
                "chainId": self.chain_id,
                **fees,
            },
            "transfer",
        )
        return self.wait(tx_hash, label="transfer") if wait else tx_hash

    def _send_now(self, build: Any, label: str, attempts: int = 3) -> str:
        """Sign and broadcast under the lock (nonces reach the node in order). When another process used the
        account meanwhile, the nonce is re-read from the node and the transaction signed again."""
        with self._lock:
            for attempt in range(attempts):
                try:
                    return self.broadcast(self._sign(build).raw, label)
                except NonceConsumed:
                    if attempt == attempts - 1:
                        raise
        raise AssertionError("unreachable")

    def _sign(self, build: Any) -> SignedTx:
        """Sign with the next nonce. An external signer may take a while (a person confirming) or refuse
        (certnet.node.signers.SignerError): the nonce is taken only once the signature is there."""
        fees = self._fees()
        with self._lock:
            if self._nonce is None:
                self._nonce = self.w3.eth.get_transaction_count(cast(ChecksumAddress, self.address), "pending")
            nonce = self._nonce
            raw = self.signer.sign_transaction(build(nonce, fees), getattr(build, "method", None))
            self._nonce += 1
        return SignedTx(hash=tx_hash(raw), raw="0x" + raw.hex(), nonce=nonce)

    def wait(self, tx_hash: str, timeout: float = 120.0, fn: Any = None, label: str = "transaction") -> TxReceipt:
        """Wait for a receipt; a failed one is replayed at its block to name the revert."""
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(HexStr(tx_hash), timeout=timeout, poll_latency=0.05)
        except TimeExhausted as exc:
            raise TransactionError(f"{label}: {tx_hash} not mined within {timeout}s") from exc
        if receipt["status"] != 1:
            if fn is not None:
                try:
                    fn.call({"from": self.address}, block_identifier=receipt["blockNumber"] - 1)
                except REVERTS + (ValueError,) as exc:
                    raise revert_from(exc, label) from None
            raise decode_revert(None, f"{label}: transaction {tx_hash} failed")
        return receipt


_SIGNERS: dict[tuple[int, str], Transactor] = {}
_SIGNERS_LOCK = threading.Lock()


def signer_for(w3: Web3, key: str | bytes | LocalAccount | Signer) -> Transactor:
    """The shared Transactor of this account on this connection (one nonce sequence per account)."""
    account = key if isinstance(key, (LocalAccount, Signer)) else Account.from_key(key)
    with _SIGNERS_LOCK:
        k = (id(w3), account.address)
        if k not in _SIGNERS:
            _SIGNERS[k] = Transactor(w3, account)
        return _SIGNERS[k]


def wait_confirmations(w3: Web3, receipt: TxReceipt, depth: int, timeout: float = 300.0) -> None:
    """Block until `receipt`'s block is `depth` blocks deep and still carries the transaction."""
    deadline = time.monotonic() + timeout
    while True:
        current = w3.eth.get_transaction_receipt(receipt["transactionHash"])
        if current is not None and w3.eth.block_number - current["blockNumber"] >= depth:
            return
        if time.monotonic() > deadline:
            raise TransactionError(f"transaction not {depth} blocks deep within {timeout}s")
        time.sleep(0.2)
