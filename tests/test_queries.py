"""Tests of the CSQ / SQ detectability oracles and the oracle leap (csqbound.queries)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction
from functools import cache

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import DomainError, ExpansionError, ParameterError
from csqbound.expansion import Expansion
from csqbound.leaps import leap
from csqbound.queries import (
    CSQOracle,
    SQOracle,
    csq_leap,
    csq_oracle,
    least_detectable,
    oracle_leap,
    sq_leap,
    sq_oracle,
)

Oracle = Callable[[frozenset[int], frozenset[int]], bool]


def brute_force_leap(oracle: Oracle, p: int) -> int:
    """min over all sequences of detectable sets of the largest |T| (reference)."""

    @cache
    def best(covered: frozenset[int]) -> int:
        rest = [i for i in range(1, p + 1) if i not in covered]
        options = [
            frozenset(c)
            for k in range(1, len(rest) + 1)
            for c in itertools.combinations(rest, k)
            if oracle(covered, frozenset(c))
        ]
        if not options:
            return 0
        return min(max(len(t), best(covered | t)) for t in options)

    return best(frozenset())


def table_of(p: int, coefficients: dict[frozenset[int], int]) -> np.ndarray:
    out = np.zeros(1 << p, dtype=np.int64)
    for j in range(1 << p):
        x = [-1 if (j >> i) & 1 else 1 for i in range(p)]
        out[j] = sum(c * int(np.prod([x[i - 1] for i in s])) for s, c in coefficients.items())
    return out


# ---------------------------------------------------------------------------
# hand cases
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "csq", "sq"),
    [
        ("x1*x2*x3", 3, 3),
        ("x1*x2*x3 - x1*x2*x4", 3, 2),
        ("x1 + x1*x2 + x1*x2*x3", 1, 1),
        ("x1*x2", 2, 2),
        ("x1 + x1*x2*x3", 2, 2),
        ("sign(x1 + x2 + x3)", 1, 1),
        ("max(x1, x2)", 1, 1),
        ("3", 0, 0),
    ],
)
def test_hand_cases(text: str, csq: int, sq: int) -> None:
    assert csq_leap(text) == csq
    assert sq_leap(text) == sq
    assert leap(text).leap == csq


def test_witness_orders() -> None:
    r = oracle_leap(sq_oracle("x1*x2*x3 - x1*x2*x4"))
    assert r.order == (frozenset({3, 4}), frozenset({1, 2}))
    assert r.jumps == (2, 2)
    r = oracle_leap(csq_oracle("x1*x2*x3 - x1*x2*x4"))
    assert r.order == (frozenset({1, 2, 3}), frozenset({4}))
    assert r.covered_sets()[-1] == frozenset({1, 2, 3, 4})


def test_sq_detectability_hand() -> None:
    o = sq_oracle("x1*x2*x3 - x1*x2*x4")
    assert o(frozenset(), frozenset({3, 4}))
    assert not o(frozenset(), frozenset({1, 2}))
    assert not o(frozenset(), frozenset({3}))
    assert o(frozenset({3, 4}), frozenset({1, 2}))
    assert not o(frozenset({3, 4}), frozenset({1}))
    assert not o(frozenset(), frozenset({1, 5}))  # outside [P]
    assert not o(frozenset({1}), frozenset({1, 2}))  # meets U


def test_odd_groups_make_everything_detectable() -> None:
    o = SQOracle.from_table(table_of(2, {frozenset({1}): 1, frozenset({2}): 2}))
    for t in (frozenset({1}), frozenset({2}), frozenset({1, 2})):
        assert o(frozenset(), t)


def test_irrelevant_coordinates_are_never_detected() -> None:
    e = Expansion.from_monomials([{1, 2}], "boolean")
    e = Expansion("boolean", e.coefficients, 4)  # x3, x4 irrelevant
    r = oracle_leap(sq_oracle(e))
    assert r.covered_sets()[-1] == frozenset({1, 2})
    r = oracle_leap(csq_oracle(e))
    assert r.covered_sets()[-1] == frozenset({1, 2})


def test_generic_oracle_matches_fast_path() -> None:
    o = sq_oracle("x1*x2*x3 - x1*x2*x4 + x5")
    fast = oracle_leap(o)
    slow = oracle_leap(lambda u, t: o(u, t), 5)
    assert fast == slow


def test_least_detectable_is_lexicographic() -> None:
    o = csq_oracle([{2, 3}, {1, 4}])
    assert least_detectable(o, frozenset(), 4) == frozenset({1, 4})
    assert least_detectable(lambda u, t: o(u, t), frozenset(), 4) == frozenset({1, 4})


def test_gaussian_csq_counts_coordinates() -> None:
    assert csq_leap("He3(x1)", "gaussian") == 1
    assert csq_leap("x1 + x1*He2(x2)", "gaussian") == 1
    assert csq_leap("x1*x2*x3", "gaussian") == 3


def test_errors() -> None:
    big = Expansion.from_monomials([set(range(1, 18))], "boolean")
    with pytest.raises(ExpansionError):
        sq_oracle(big)
    with pytest.raises(DomainError):
        sq_oracle(Expansion.from_monomials([{1: 2}], "gaussian"))
    with pytest.raises(ExpansionError):
        SQOracle.from_table([0.5, 1.0])
    with pytest.raises(ExpansionError):
        SQOracle.from_table([1, 2, 3])
    numeric = Expansion("boolean", {e: 0.5 for e in big.coefficients}, 17, exact=False)
    with pytest.raises(ExpansionError):
        sq_oracle(numeric)
    with pytest.raises(ParameterError):
        oracle_leap(lambda u, t: False)
    with pytest.raises(ValueError, match="cannot read"):
        csq_oracle(3.5)


def test_exact_values_with_fractions() -> None:
    o = SQOracle.from_table([Fraction(1, 2), Fraction(-1, 2), Fraction(-1, 2), Fraction(1, 2)])
    assert oracle_leap(o).leap == 2
    assert sq_leap("x1*x2/3 + x1*x2*x3/7") == 2


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------
families = st.integers(1, 5).flatmap(
    lambda p: st.tuples(
        st.just(p),
        st.lists(
            st.frozensets(st.integers(1, p), min_size=1, max_size=p),
            min_size=1,
            max_size=5,
            unique=True,
        ),
    )
)


@given(families)
def test_csq_leap_equals_leap(data: tuple[int, list[frozenset[int]]]) -> None:
    _, sets = data
    assert oracle_leap(csq_oracle(sets)).leap == leap(sets).leap


@given(families, st.data())
def test_oracle_leaps_match_brute_force(
    data: tuple[int, list[frozenset[int]]], more: st.DataObject
) -> None:
    p, sets = data
    coefs = {s: more.draw(st.sampled_from([-2, -1, 1, 2])) for s in sets}
    csq = csq_oracle(sets)
    sq = SQOracle.from_table(table_of(p, coefs))
    assert oracle_leap(csq, p).leap == brute_force_leap(csq, p)
    assert oracle_leap(sq, p).leap == brute_force_leap(sq, p)
    assert oracle_leap(sq, p).leap <= oracle_leap(csq, p).leap


@given(families, st.data())
def test_invariant_under_relabelling(
    data: tuple[int, list[frozenset[int]]], more: st.DataObject
) -> None:
    p, sets = data
    perm = more.draw(st.permutations(list(range(1, p + 1))))
    moved = [frozenset(perm[i - 1] for i in s) for s in sets]
    coefs = {s: 1 + k % 2 for k, s in enumerate(sets)}
    moved_coefs = {frozenset(perm[i - 1] for i in s): c for s, c in coefs.items()}
    relabel = {i: perm[i - 1] for i in range(1, p + 1)}
    for a, b in [
        (oracle_leap(csq_oracle(sets), p), oracle_leap(csq_oracle(moved), p)),
        (
            oracle_leap(SQOracle.from_table(table_of(p, coefs)), p),
            oracle_leap(SQOracle.from_table(table_of(p, moved_coefs)), p),
        ),
    ]:
        assert a.leap == b.leap
        assert frozenset(relabel[i] for i in a.covered_sets()[-1]) == b.covered_sets()[-1]


def test_csq_oracle_dataclass() -> None:
    o = CSQOracle((frozenset({1, 2}),), 2)
    assert o(frozenset(), frozenset({1, 2}))
    assert not o(frozenset(), frozenset())
    assert o.least_detectable(frozenset({1, 2})) is None


def test_a_new_query_type_is_one_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    """A trivial query leap (the number of variables) registered here reaches every table."""
    from csqbound.analysis import analyze
    from csqbound.queries import QUERY_LEAPS, QueryLeap
    from csqbound.report.summary import leap_columns, leap_summary, leap_tables, other_leaps

    trivial = QueryLeap("p_leap", "P", ("boolean",), lambda target, expansion: target.variables)
    monkeypatch.setitem(QUERY_LEAPS, "p_leap", trivial)
    a = analyze("x1 + x1*x2*x3")
    assert a.query_leaps["p_leap"] == 3
    summary = leap_summary(a)
    assert summary["p_leap"] == 3
    assert "p_leap" in leap_tables(summary)[0].columns
    row = {"domain": "boolean", **leap_columns(a)}
    assert row["p_leap"] == 3
    assert other_leaps(row).startswith("CSQ 2, SQ 2, P 3")  # then the DLQ leaps
    gaussian = leap_columns(analyze("He3(x1)", domain="gaussian"))
    assert gaussian["p_leap"] is None  # off its domain
