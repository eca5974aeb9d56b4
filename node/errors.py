"""Contract reverts as Python exceptions named after the contracts' custom errors.

Every custom error declared in the committed ABIs becomes a subclass of `ContractRevert` available as
an attribute of this module, e.g. `certnet.node.errors.AlreadyIssued`, carrying the decoded arguments.
"""

from __future__ import annotations

from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from certnet import CertnetError
from certnet.node.artifacts import load_artifact


class ContractRevert(CertnetError):
    """A contract call reverted. `error` is the custom error's name, `args_` its decoded arguments."""

    error = "Revert"

    def __init__(self, message: str, args_: dict[str, Any] | None = None, data: str | None = None) -> None:
        super().__init__(message)
        self.args_ = args_ or {}
        self.data = data


class UnknownRevert(ContractRevert):
    """A revert whose data matches no declared custom error (or carries none)."""


_BY_SELECTOR: dict[bytes, tuple[type[ContractRevert], list[str], list[str]]] = {}


def _fmt(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _register(abi: list[dict[str, Any]]) -> None:
    for item in abi:
        if item.get("type") != "error":
            continue
        name = item["name"]
        types = [i["type"] for i in item["inputs"]]
        names = [i["name"] or f"arg{k}" for k, i in enumerate(item["inputs"])]
        selector = function_signature_to_4byte_selector(f"{name}({','.join(types)})")
        cls = globals().get(name)
        if cls is None:
            cls = type(name, (ContractRevert,), {"error": name, "__doc__": f"The contract reverted with {name}."})
            globals()[name] = cls
        _BY_SELECTOR[selector] = (cls, types, names)


for _contract in ("IssuerRegistry", "DocumentStore", "CustomsRecord"):
    _register(load_artifact(_contract)["abi"])


def decode_revert(data: str | bytes | None, context: str = "") -> ContractRevert:
    """Turn revert data into the matching exception instance."""
    if isinstance(data, str):
        raw = bytes.fromhex(data[2:] if data.startswith("0x") else data)
    else:
        raw = data or b""
    prefix = f"{context}: " if context else ""
    if len(raw) >= 4 and raw[:4] in _BY_SELECTOR:
        cls, types, names = _BY_SELECTOR[raw[:4]]
        values = tuple(
            to_checksum_address(v) if t == "address" else v
            for t, v in zip(types, decode(types, raw[4:]) if types else (), strict=True)
        )
        args_ = dict(zip(names, values, strict=True))
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in args_.items())
        return cls(f"{prefix}{cls.error}({shown})", args_, "0x" + raw.hex())
    return UnknownRevert(f"{prefix}reverted" + (f" with data 0x{raw.hex()}" if raw else ""), None, "0x" + raw.hex())


def __getattr__(name: str) -> type[ContractRevert]:  # for type checkers and clear errors
    raise AttributeError(f"no contract error named {name!r}")
