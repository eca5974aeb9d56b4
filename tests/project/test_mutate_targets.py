"""scripts/mutate.py stays true to the code: every mutation target is in its file exactly once, and a target
that is not stops the run by name (the mutation run itself is slow and not part of the suite)."""

from __future__ import annotations

import pytest

from certnet.scripts import mutate


def test_every_mutation_target_is_in_the_code_once():
    mutate.check_targets(mutate.MUTANTS)
    assert len({m.name for m in mutate.MUTANTS}) == len(mutate.MUTANTS)
    for m in mutate.MUTANTS:
        assert m.replacement != m.target and m.tests and m.tests[0].startswith("tests/")
        compile((mutate.ROOT / m.file).read_text().replace(m.target, m.replacement, 1), m.file, "exec")


def test_a_missing_target_is_named():
    gone = mutate.Mutant(
        "a check that moved",
        "verifier/verify.py",
        "if this_line_is_not_there:",
        "if False:",
        ("tests/verifier/test_verify.py",),
    )
    with pytest.raises(mutate.TargetError, match="a check that moved"):
        mutate.check_targets([gone])
    assert mutate.main(["--check", "--only", "no such mutant"]) == 2
