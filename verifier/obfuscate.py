"""Selective disclosure: hide fields of a wrapped document without breaking its proof.

Hiding a path (a leaf such as ``exporter.taxId`` or a whole subtree such as ``consignee`` or
``items.2``) moves the leaf hashes under it into ``privacy.obfuscatedData`` and deletes it. A
container that hiding leaves empty is deleted too, up the tree, so the document still verifies
(the reference library leaves such a container behind as a new ``{}`` leaf, which breaks it).

Array elements cannot leave a hole: removing one shifts the positions, and so the paths, of
those after it. Hiding is therefore refused when it would remove an array element that is
followed by an element that stays; hide the later elements too, or the whole array.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, cast

from .jsjson import ProofFormatError
from .salting import leaf_hash

__all__ = ["obfuscate_document", "hidden_leaf_hashes"]

_GONE = object()


def _split(path: str) -> list[str]:
    if not isinstance(path, str):
        raise ProofFormatError(str(path), f"a field path must be a string, found {type(path).__name__}")
    return path.split(".")


def _resolve(data: dict[str, Any], path: str) -> None:
    """Raise ProofFormatError naming ``path`` unless it names a field of ``data``."""
    node: Any = data
    for seg in _split(path):
        if isinstance(node, dict):
            if seg not in node:
                raise ProofFormatError(path, "no such field in the document (already hidden, or never there)")
            node = node[seg]
        elif isinstance(node, list):
            if not (seg.isascii() and seg.isdigit() and (seg == "0" or seg[0] != "0")) or int(seg) >= len(node):
                raise ProofFormatError(path, f"no such array element (the array has {len(node)})")
            node = node[int(seg)]
        else:
            raise ProofFormatError(path, "no such field: a value above it is not an object or array")


def _collect(node: Any, path: str, out: list[str]) -> None:
    """Append the leaf hashes of ``node`` (found at ``path``) to ``out``."""
    if isinstance(node, dict) and node:
        for k, v in node.items():
            _collect(v, f"{path}.{k}", out)
    elif isinstance(node, list) and node:
        for i, v in enumerate(node):
            _collect(v, f"{path}.{i}", out)
    else:
        out.append(leaf_hash(path, node))


def _prune(node: Any, path: str | None, hide: set[str], out: list[str]) -> Any:
    """Copy of ``node`` without the hidden paths; _GONE when nothing of it is left."""
    if isinstance(node, dict):
        if not node:
            return node
        result = {}
        for k, v in node.items():
            p = k if path is None else f"{path}.{k}"
            if p in hide:
                _collect(v, p, out)
                continue
            kept = _prune(v, p, hide, out)
            if kept is not _GONE:
                result[k] = kept
        return result if result or path is None else _GONE
    if isinstance(node, list):
        if not node:
            return node
        result_list = []
        first_gone: str | None = None
        for i, v in enumerate(node):
            p = f"{path}.{i}"
            if p in hide:
                _collect(v, p, out)
                kept = _GONE
            else:
                kept = _prune(v, p, hide, out)
            if kept is _GONE:
                if first_gone is None:
                    first_gone = p
            elif first_gone is not None:
                raise ProofFormatError(
                    first_gone,
                    f"cannot hide this array element while {p} stays: later elements would shift "
                    f"and break the proof; hide them too, or hide the whole array {path}",
                )
            else:
                result_list.append(kept)
        return result_list if result_list else _GONE
    return node


def hidden_leaf_hashes(wrapped: dict[str, Any], paths: Iterable[str]) -> list[str]:
    """The leaf hashes that hiding ``paths`` would add to ``privacy.obfuscatedData``."""
    data = _data_of(wrapped)
    hide = _checked_paths(data, paths)
    out: list[str] = []
    _prune(data, None, hide, out)
    return out


def _data_of(wrapped: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(wrapped, dict) or not isinstance(wrapped.get("data"), dict):
        raise ProofFormatError("data", "not a wrapped document: data is missing or not an object")
    return cast("dict[Any, Any]", wrapped["data"])


def _checked_paths(data: dict[str, Any], paths: Iterable[str]) -> set[str]:
    if isinstance(paths, str):
        paths = [paths]
    hide = set()
    for p in paths:
        _resolve(data, p)
        hide.add(p)
    if not hide:
        raise ProofFormatError("", "no field to hide was given")
    return hide


def obfuscate_document(wrapped: dict[str, Any], paths: Iterable[str] | str) -> dict[str, Any]:
    """A copy of ``wrapped`` with the fields at ``paths`` hidden (the input is not changed).

    Raises :class:`ProofFormatError` naming a path that is not in the document, or an array
    element that cannot be removed without shifting the elements after it.
    """
    data = _data_of(wrapped)
    hide = _checked_paths(data, paths)
    new_hashes: list[str] = []
    pruned = _prune(data, None, hide, new_hashes)
    result = {k: copy.deepcopy(v) for k, v in wrapped.items() if k not in ("data", "privacy")}
    result["data"] = copy.deepcopy(pruned)
    old_privacy = wrapped.get("privacy")
    privacy = copy.deepcopy(old_privacy) if isinstance(old_privacy, dict) else {}
    existing = privacy.get("obfuscatedData")
    privacy["obfuscatedData"] = (list(existing) if isinstance(existing, list) else []) + new_hashes
    # keep the usual key order: version, data, signature, privacy, proof, ...
    ordered = {}
    for k in wrapped:
        if k == "privacy":
            continue
        ordered[k] = result[k]
        if k == "signature":
            ordered["privacy"] = privacy
    if "privacy" not in ordered:
        ordered["privacy"] = privacy
    return ordered
