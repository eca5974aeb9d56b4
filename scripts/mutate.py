"""Mutation check of certnet's critical checks: a curated list of one-line mutations (each a check weakened or
removed), each applied in place to the source tree, the test files that must notice it run with `-x -q`, the
source restored. A mutant whose tests still pass SURVIVED: the suite would not notice that check breaking.

    python -m certnet.scripts.mutate             # every mutant; exit 1 if any survives
    python -m certnet.scripts.mutate --check     # only check every target is in the code, once (fast)
    python -m certnet.scripts.mutate --list      # the mutants and their tests
    python -m certnet.scripts.mutate --only NAME [--only NAME ...]

Targets are found by their code text, not line numbers; a target that is not in its file exactly once stops the
run with the mutant's name (the code changed: update the list). Each test set is first run on the unmutated tree:
a test set that fails there judges nothing, and stops the run. The source is restored after each mutant, also on
Ctrl-C or SIGTERM; a backup left by a killed run is restored at the next start. Not part of `make test` (slow).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from certnet import CertnetError

ROOT = Path(__file__).resolve().parents[1]
BACKUP = ROOT / ".mutate-backup.json"


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # relative to the repository root
    target: str  # exact code text, found exactly once in the file
    replacement: str
    tests: tuple[str, ...]  # pytest arguments: files, node ids, -k expressions


# Each replacement keeps the code valid Python: the mutant must be judged by the tests, not by a SyntaxError.
MUTANTS: list[Mutant] = [
    # -- verification
    Mutant(
        "verify: document type checked against the anchored type",
        "verifier/verify.py",
        "if env.document_type in DOCUMENT_TYPES and DOCUMENT_TYPES[env.document_type] != st.document_type:",
        "if False:",
        ("tests/verifier/test_verify.py", "-k", "another_type"),
    ),
    Mutant(
        "verify: issuer authorised at the anchoring time",
        "verifier/verify.py",
        "if not st.issuer_authorised:",
        "if False:",
        ("tests/verifier/test_verify.py", "-k", "mixed_corpus"),
    ),
    Mutant(
        "verify: revoked is REVOKED",
        "verifier/verify.py",
        "        if st.revoked:\n            return REVOKED",
        "        if False:\n            return REVOKED",
        ("tests/verifier/test_verify.py", "-k", "mixed_corpus"),
    ),
    # -- the Merkle proof
    Mutant(
        "merkle: a proof must fold to the root",
        "verifier/merkle.py",
        "    return bool(h == r)",
        "    return True",
        ("tests/verifier/test_proof_format.py",),
    ),
    Mutant(
        "merkle: pairs are hashed sorted",
        "verifier/merkle.py",
        'return cast("bytes", _keccak_new(a + b if a <= b else b + a).digest())',
        'return cast("bytes", _keccak_new(a + b).digest())',
        ("tests/verifier/test_proof_format.py",),
    ),
    # -- integrity
    Mutant(
        "integrity: targetHash recomputed from the data",
        "verifier/integrity.py",
        "    if computed != th:",
        "    if False:",
        ("tests/verifier/test_verify.py", "-k", "mixed_corpus"),
    ),
    Mutant(
        "integrity: the proof leads to the root",
        "verifier/integrity.py",
        "    if not verify_proof(cast(str, th), proof, cast(str, root)):",
        "    if False:",
        ("tests/verifier/test_proof_format.py",),
    ),
    # -- auth and route scopes
    Mutant(
        "auth: a role outside the endpoint's roles is refused",
        "api/auth.py",
        "    if principal.role not in roles:",
        "    if False:",
        ("tests/api/test_api.py", "-k", "every_role"),
    ),
    Mutant(
        "auth: a revoked key is refused",
        "api/auth.py",
        "ApiKey.key_hash == h, ApiKey.revoked.is_(False)",
        "ApiKey.key_hash == h",
        ("tests/api/test_api.py", "-k", "revoked_key_stops_working"),
    ),
    Mutant(
        "scope: issuer endpoints are for issuer keys",
        "api/routes_issuer.py",
        'require(principal, "issuer")',
        'require(principal, "issuer", "customs", "auditor", "admin")',
        ("tests/api/test_api.py", "-k", "every_role"),
    ),
    Mutant(
        "scope: the audit export is for auditors",
        "api/routes_audit.py",
        'require(principal, "auditor")\n',
        'require(principal, "auditor", "customs", "issuer", "admin")\n',
        ("tests/api/test_api.py", "-k", "every_role"),
    ),
    Mutant(
        "scope: history is for auditors and customs",
        "api/routes_audit.py",
        'require(principal, "auditor", "customs")',
        'require(principal, "auditor", "customs", "issuer", "admin")',
        ("tests/api/test_api.py", "-k", "every_role"),
    ),
    Mutant(
        "scope: admin endpoints are for admin keys",
        "api/routes_registry.py",
        'require(principal, "admin")',
        'require(principal, "admin", "issuer", "customs", "auditor")',
        ("tests/api/test_api.py", "-k", "every_role"),
    ),
    Mutant(
        "scope: the portal's auditor API is for auditor keys",
        "api/portal/routes.py",
        "    principal = _service(request).auth.principal(request)\n    require(principal, role)",
        "    principal = _service(request).auth.principal(request)",
        ("tests/api/test_portal.py", "-k", "auditor_api_refuses_other_keys"),
    ),
    # -- one issuer, one customs: their own records only
    Mutant(
        "issuer: documents listed are the key's own",
        "api/routes_issuer.py",
        "q = select(Document).where(Document.issuer == issuer)",
        "q = select(Document)",
        ("tests/api/test_api.py", "-k", "keys_are_scoped"),
    ),
    Mutant(
        "issuer: batches listed are the key's own",
        "api/routes_issuer.py",
        "select(Batch).where(Batch.issuer == issuer)",
        "select(Batch)",
        ("tests/api/test_api.py", "-k", "keys_are_scoped"),
    ),
    Mutant(
        "issuer: a document read or revoked is the key's own",
        "api/routes_issuer.py",
        "if d is None or not may_see_content(principal, issued_record(d)):",
        "if d is None:",
        ("tests/api/test_api.py", "-k", "keys_are_scoped"),
    ),
    Mutant(
        "customs: a webhook removed is the country's own",
        "api/routes_customs.py",
        "if sub is None or sub.key_id not in set(s.scalars(_same_side(principal))):",
        "if sub is None:",
        ("tests/api/test_api.py", "-k", "keys_are_scoped"),
    ),
    # -- the pipeline's state machine
    Mutant(
        "pipeline: a reverted anchoring is not anchored",
        "issuer/pipeline.py",
        '            if receipt["status"] != 1:\n                anchor = self._anchor_on_chain(b)',
        "            if False:\n                anchor = self._anchor_on_chain(b)",
        ("tests/issuer/test_pipeline.py", "-k", "reverted_anchoring"),
    ),
    Mutant(
        "pipeline: anchored only at the confirmation depth",
        "issuer/pipeline.py",
        '            if not self._deep_enough(receipt["blockNumber"]):\n'
        "                continue  # not deep enough yet",
        "            if False:\n                continue  # not deep enough yet",
        ("tests/issuer/test_pipeline.py", "-k", "confirmation_depth"),
    ),
    # -- the index's reorg handling
    Mutant(
        "index: a reorg is noticed",
        "index/follower.py",
        "            if h is not None and h.hash == cp.hash:\n                return None",
        "            if True:\n                return None",
        ("tests/index/test_index.py", "-k", "reorg"),
    ),
    Mutant(
        "index: a rollback deletes the orphaned events",
        "index/follower.py",
        "conn.execute(delete(t).where(t.c.network_id == self.network_id, t.c.block_number > number))",
        "pass",
        ("tests/index/test_index.py", "-k", "reorg"),
    ),
]


class TargetError(CertnetError, RuntimeError):
    """A mutant's target is not in its file exactly once."""


def check_targets(mutants: list[Mutant]) -> None:
    problems = []
    for m in mutants:
        path = ROOT / m.file
        if not path.is_file():
            problems.append(f"{m.name}: {m.file} does not exist")
            continue
        n = path.read_text().count(m.target)
        if n != 1:
            problems.append(f"{m.name}: the target is in {m.file} {n} times, not once: {m.target!r}")
    if problems:
        raise TargetError("mutation targets out of date (update scripts/mutate.py):\n  " + "\n  ".join(problems))


def _restore_backup() -> None:
    """Put back a file a killed run left mutated."""
    if BACKUP.is_file():
        saved = json.loads(BACKUP.read_text())
        (ROOT / saved["file"]).write_text(saved["text"])
        BACKUP.unlink()
        print(f"restored {saved['file']} left mutated by an interrupted run", file=sys.stderr)


def _pytest(args: tuple[str, ...], timeout: float) -> tuple[int, float]:
    t0 = time.monotonic()
    try:
        r = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
        )
        code = r.returncode
    except subprocess.TimeoutExpired:
        code = -1  # a hang counts as noticed, and is reported
    return code, time.monotonic() - t0


def run(mutants: list[Mutant], timeout: float) -> int:
    check_targets(mutants)
    for args in dict.fromkeys(m.tests for m in mutants):  # each test set passes on the unmutated tree first
        code, took = _pytest(args, timeout)
        if code != 0:
            print(
                f"baseline FAILED ({took:.0f} s): pytest {' '.join(args)} fails without any mutation; "
                "nothing can be judged with it",
                file=sys.stderr,
            )
            return 2
    survived = []

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    for m in mutants:
        path = ROOT / m.file
        original = path.read_text()
        BACKUP.write_text(json.dumps({"file": m.file, "text": original}))
        try:
            path.write_text(original.replace(m.target, m.replacement, 1))
            code, took = _pytest(m.tests, timeout)
        finally:
            path.write_text(original)
            BACKUP.unlink()
        verdict = "survived" if code == 0 else "killed" if code > 0 else "killed (timed out)"
        print(f"{verdict:<9} {took:5.0f} s  {m.name}  [{m.file}; pytest {' '.join(m.tests)}]", flush=True)
        if code == 0:
            survived.append(m.name)
    print(f"{len(mutants) - len(survived)} killed, {len(survived)} survived of {len(mutants)}")
    return 1 if survived else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="only check that every target is in the code once")
    p.add_argument("--list", action="store_true", help="list the mutants")
    p.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="run the mutants whose name contains NAME"
    )
    p.add_argument("--timeout", type=float, default=600, help="seconds per pytest run (default 600)")
    args = p.parse_args(argv)
    _restore_backup()
    chosen = [m for m in MUTANTS if not args.only or any(o in m.name for o in args.only)]
    if not chosen:
        print(f"no mutant matches {args.only}", file=sys.stderr)
        return 2
    if args.list:
        for m in chosen:
            print(f"{m.name}\n    {m.file}: {m.target!r} -> {m.replacement!r}\n    pytest {' '.join(m.tests)}")
        return 0
    try:
        if args.check:
            check_targets(chosen)
            print(f"all {len(chosen)} targets found")
            return 0
        return run(chosen, args.timeout)
    except TargetError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
