"""Run every executable proof check and print one table: ``python -m proofs_checks``.

Each check verifies a lemma of THEORY.md exhaustively on a small space or
exactly on examples (see ``proofs_checks/README.md``). This runner calls each
check module's public function, counts the cases it checked and the failures,
and prints a table with the check, the statement, the cases, the result and
the seconds it took. The exit code is 0 when every check passed, 1 when any
failed (or raised), 2 for bad arguments.

Usage::

    python -m proofs_checks                  # all checks (about 10 s)
    python -m proofs_checks --only greedy    # one check (repeat --only for several)
    python -m proofs_checks --list           # the checks, their statements and sources
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["CHECKS", "Check", "Outcome", "Result", "format_table", "main", "run_checks"]


@dataclass(frozen=True)
class Outcome:
    """What one check counted.

    Attributes
    ----------
    cases
        Cases checked (families, functions, (U, d, phi) triples, rotations, ...).
    failures
        Cases where the statement failed (must be 0).
    detail
        One line on what was checked.
    """

    cases: int
    failures: int
    detail: str


@dataclass(frozen=True)
class Check:
    """A registered check: name, the statement it verifies, its source, how to run it alone."""

    name: str
    statement: str
    source: str
    command: str
    run: Callable[[], Outcome]


@dataclass(frozen=True)
class Result:
    """The outcome of running one check (``outcome`` is ``None`` when it raised)."""

    check: Check
    outcome: Outcome | None
    seconds: float
    error: str | None = None

    @property
    def passed(self) -> bool:
        """Whether the check ran, checked at least one case, and found no failure."""
        return self.outcome is not None and self.outcome.cases > 0 and not self.outcome.failures

    @property
    def verdict(self) -> str:
        """``passed``, ``FAILED (n of m)`` or ``ERROR (...)``."""
        if self.outcome is None:
            return f"ERROR ({self.error})"
        if self.outcome.cases == 0:
            return "FAILED (no case checked)"
        if self.outcome.failures:
            return f"FAILED ({self.outcome.failures} of {self.outcome.cases})"
        return "passed"


# -- the checks, through each module's public function ------------------------------------------
def _greedy() -> Outcome:
    from proofs_checks.check_greedy import check_greedy_optimal

    report = check_greedy_optimal()
    families = sum(row["families"] for row in report.values())
    brute = sum(row["bruteforce"] for row in report.values())
    failures = sum(row["failures"] + row["dp_mismatches"] for row in report.values())
    return Outcome(
        families,
        failures,
        f"{len(report)} spaces of families; {brute} also against all permutations",
    )


def _csq_inequality() -> Outcome:
    from proofs_checks.check_csq_inequality import check_csq_inequality

    rows = check_csq_inequality(max_d=8)
    cases = sum(r.cases for r in rows)
    failures = sum(r.failures + r.gamma_mismatches + int(r.max_ratio > 1) for r in rows)
    worst = max((r.max_ratio for r in rows), default=0)
    return Outcome(
        cases,
        failures,
        f"{len(rows)} targets, d <= 8, {sum(r.injections for r in rows)} injections; "
        f"largest ratio {float(worst):.4g}",
    )


def _iso_rotation() -> Outcome:
    from proofs_checks.check_iso_rotation import check_iso_rotation

    rows = check_iso_rotation()
    cases = sum(r.rotations + 1 for r in rows)  # the rotations, plus the adapted basis
    failures = sum(r.invariance_failures + int(r.adapted_failure) for r in rows)
    return Outcome(cases, failures, f"{len(rows)} targets, exact Cayley rotations")


def _sq_le_csq() -> Outcome:
    from proofs_checks.check_sq_le_csq import check_sq_le_csq

    rows = check_sq_le_csq()
    cases = sum(r.functions for r in rows)
    failures = sum(r.sq_gt_csq + r.csq_ne_leap + r.oracle_mismatches + r.csq_not_sq for r in rows)
    strict = sum(c for r in rows for (s, q), c in r.pairs.items() if s < q)
    return Outcome(cases, failures, f"{len(rows)} spaces; Leap_SQ < Leap_CSQ on {strict}")


#: Every check, in the order of THEORY.md.
CHECKS: tuple[Check, ...] = (
    Check(
        "greedy",
        "greedy leap = min over all orderings of the largest step cost",
        "THEORY 2 (leap: Abbe, Boix-Adsera, Misiakiewicz, COLT 2023)",
        "python -m proofs_checks.check_greedy",
        _greedy,
    ),
    Check(
        "iso_rotation",
        "iso_leap(f o Q) = iso_leap(f); = coordinate leap in an adapted basis",
        "THEORY 3 (rotation-free leap)",
        "python -m proofs_checks.check_iso_rotation",
        _iso_rotation,
    ),
    Check(
        "sq_le_csq",
        "Leap_SQ <= Leap_CSQ = leap on boolean functions",
        "THEORY 4 (Joshi, Misiakiewicz, Srebro, NeurIPS 2024)",
        "python -m proofs_checks.check_sq_le_csq",
        _sq_le_csq,
    ),
    Check(
        "csq_inequality",
        "E_pi <phi, r o pi>^2 <= |r|^2 |phi|^2 Gamma_U (exact)",
        "THEORY 5 (CSQ stage bound)",
        "python -m proofs_checks.check_csq_inequality",
        _csq_inequality,
    ),
)


def run_checks(checks: Sequence[Check]) -> list[Result]:
    """Run each check, timing it; an exception is recorded as an error, not raised.

    Examples
    --------
    >>> ok = Check("ok", "1 = 1", "-", "-", lambda: Outcome(3, 0, "three cases"))
    >>> bad = Check("bad", "1 = 2", "-", "-", lambda: Outcome(3, 1, ""))
    >>> [r.verdict for r in run_checks([ok, bad])]
    ['passed', 'FAILED (1 of 3)']
    """
    results = []
    for check in checks:
        start = time.perf_counter()
        try:
            outcome: Outcome | None = check.run()
            error = None
        except Exception as exc:  # noqa: BLE001 - a crashing check is reported, not fatal
            outcome, error = None, f"{type(exc).__name__}: {exc}"
        results.append(Result(check, outcome, time.perf_counter() - start, error))
    return results


def format_table(results: Sequence[Result]) -> str:
    """The results as an aligned text table: check, statement, cases, result, seconds.

    Examples
    --------
    >>> ok = Check("ok", "1 = 1", "-", "-", lambda: Outcome(3, 0, "three cases"))
    >>> print(format_table([Result(ok, Outcome(3, 0, "three cases"), 0.25)]))
    check  statement  cases  result  seconds
    -----  ---------  -----  ------  -------
    ok     1 = 1          3  passed     0.25
    """
    header = ["check", "statement", "cases", "result", "seconds"]
    body = [
        [
            r.check.name,
            r.check.statement,
            "-" if r.outcome is None else str(r.outcome.cases),
            r.verdict,
            f"{r.seconds:.2f}",
        ]
        for r in results
    ]
    rows = [header, ["-" * len(h) for h in header], *body]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {2, 4}
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks, print the table and a summary line; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m proofs_checks",
        description="Run csqbound's executable proof checks and print a table.",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only this check (repeatable): {', '.join(c.name for c in CHECKS)}",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the checks and their sources, run nothing"
    )
    args = parser.parse_args(argv)
    names = [c.name for c in CHECKS]
    unknown = sorted(set(args.only or ()) - set(names))
    if unknown:
        print(
            f"proofs_checks: unknown check {', '.join(unknown)}; choose from {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    chosen = [c for c in CHECKS if not args.only or c.name in args.only]
    if args.list:
        for c in chosen:
            print(f"{c.name}: {c.statement}\n    source: {c.source}\n    run: {c.command}")
        return 0
    results = run_checks(chosen)
    print(format_table(results))
    for r in results:
        if r.outcome is not None and r.outcome.detail:
            print(f"{r.check.name}: {r.outcome.detail}")
    bad = [r.check.name for r in results if not r.passed]
    if bad:
        print(f"FAILED: {', '.join(bad)}")
        return 1
    total = sum(r.outcome.cases for r in results if r.outcome is not None)
    print(f"all {len(results)} checks passed ({total} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
