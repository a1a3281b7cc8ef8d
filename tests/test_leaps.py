"""Tests of csqbound.leaps: the greedy leap against its definition, and its laws."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import CsqboundError, DomainError, ParameterError
from csqbound.expansion import Expansion
from csqbound.leaps import LeapResult, cover, greedy_order, leap, leap_bruteforce
from csqbound.monomial import Monomial

# -- strategies ------------------------------------------------------------------


@st.composite
def families(
    draw: st.DrawFn, domain: str = "boolean", max_p: int = 6, max_size: int = 7
) -> list[object]:
    """A list of monomials on ``[P]``: frozensets (boolean) or dicts with degrees <= 3."""
    p = draw(st.integers(1, max_p))
    coords = st.integers(1, p)
    if domain == "boolean":
        mono: st.SearchStrategy[object] = st.frozensets(coords, min_size=1, max_size=p)
    else:
        mono = st.dictionaries(coords, st.integers(1, 3), min_size=1, max_size=p)
    return draw(st.lists(mono, min_size=0, max_size=max_size))


domains = st.sampled_from(["boolean", "gaussian"])


@st.composite
def domain_families(draw: st.DrawFn, max_size: int = 7) -> tuple[str, list[object]]:
    domain = draw(domains)
    return domain, draw(families(domain, max_size=max_size))


def monos_of(fam: list[object], domain: str) -> list[Monomial]:
    return [Monomial.coerce(m, domain) for m in fam]  # type: ignore[arg-type]


def naive_greedy(supports: list[tuple[tuple[int, int], ...]]) -> tuple[list[int], list[int]]:
    """The obvious greedy: recompute every remaining cost at every step (ties: lowest index)."""
    covered: set[int] = set()
    left = list(range(len(supports)))
    order, costs = [], []
    while left:
        best = min(left, key=lambda i: (sum(k for c, k in supports[i] if c not in covered), i))
        order.append(best)
        costs.append(sum(k for c, k in supports[best] if c not in covered))
        covered.update(c for c, _ in supports[best])
        left.remove(best)
    return order, costs


def cover_by_definition(monos: list[Monomial]) -> int:
    """Least k such that the monomials of degree <= k cover every coordinate."""
    monos = [m for m in monos if m.powers]
    union = set().union(*(m.support for m in monos)) if monos else set()
    for k in itertools.count():
        if set().union(*(m.support for m in monos if m.degree <= k)) >= union:
            return k
    raise AssertionError  # pragma: no cover


# -- THEORY section 7 ------------------------------------------------------------

SECTION_7 = [
    # (monomials, domain, leap)
    ([{1}, {1, 2}, {1, 2, 3}], "boolean", 1),
    ([{1, 2}], "boolean", 2),
    ([{1}, {1, 2, 3}], "boolean", 2),
    ([{1, 2, 3}], "boolean", 3),
    ([{1: 3}], "gaussian", 3),
    ([{1: 1}, {1: 1, 2: 1}], "gaussian", 1),
    ([{1: 1}, {1: 1, 2: 2}], "gaussian", 2),
    # x1*x2 + (x1 + x2)/sqrt(2): support {x1*x2, x1, x2}
    ([{1: 1, 2: 1}, {1: 1}, {2: 1}], "gaussian", 1),
    # x1 + (He2(x1) - He2(x2))/2: support {x1, He2(x1), He2(x2)}
    ([{1: 1}, {1: 2}, {2: 2}], "gaussian", 2),
]


@pytest.mark.parametrize(("monomials", "domain", "expected"), SECTION_7)
def test_section_7(monomials: list[object], domain: str, expected: int) -> None:
    result = leap(monomials, domain)
    assert result.leap == expected
    assert result.msp == (expected <= 1)
    assert leap_bruteforce(monomials, domain) == expected


def test_section_7_stages() -> None:
    stair = leap([{1}, {1, 2}, {1, 2, 3}])
    assert stair.jumps == (1, 1, 1)
    assert len(stair.stages) == 1
    plateau = leap([{1}, {1, 2, 3}])
    x1, x123 = Monomial.from_set({1}), Monomial.from_set({1, 2, 3})
    assert plateau.order == (x1, x123)
    assert plateau.jumps == (1, 2)
    assert plateau.stages == ((x1,), (x123,))
    assert dict(plateau.stage_of) == {1: 0, 2: 1, 3: 1}
    assert dict(plateau.first_cover) == {1: x1, 2: x123, 3: x123}
    he = leap([{1: 1}, {1: 1, 2: 2}], "gaussian")
    assert he.jumps == (1, 2)
    assert he.stages == ((Monomial.from_mapping({1: 1}),), (Monomial.from_mapping({1: 1, 2: 2}),))


EXPRESSIONS = [
    ("x1 + x1*x2 + x1*x2*x3", "boolean", 1),
    ("x1*x2", "boolean", 2),
    ("x1 + x1*x2*x3", "boolean", 2),
    ("x1*x2*x3", "boolean", 3),
    ("x1**3 - 3*x1", "gaussian", 3),
    ("x1 + x1*x2", "gaussian", 1),
    ("x1 + x1*(x2**2 - 1)", "gaussian", 2),
    ("x1*x2 + (x1 + x2)/sqrt(2)", "gaussian", 1),
    ("x1 + (x1**2 - 1 - (x2**2 - 1))/2", "gaussian", 2),
]


@pytest.mark.parametrize(("text", "domain", "expected"), EXPRESSIONS)
def test_section_7_expressions(text: str, domain: str, expected: int) -> None:
    target = pytest.importorskip("csqbound.target")
    assert leap(text, domain).leap == expected
    assert leap(target.Target.coerce(text, domain)).leap == expected


# -- agreement with the definition ------------------------------------------------


@given(domain_families())
def test_greedy_equals_bruteforce(case: tuple[str, list[object]]) -> None:
    domain, fam = case
    assert leap(fam, domain).leap == leap_bruteforce(fam, domain)


@given(domain_families(max_size=12))
def test_kernel_equals_naive_greedy(case: tuple[str, list[object]]) -> None:
    domain, fam = case
    supports = [m.powers for m in monos_of(fam, domain)]
    assert greedy_order(supports) == naive_greedy(supports)


def test_kernel_equals_naive_greedy_large() -> None:
    rng = random.Random(7)
    supports = []
    for _ in range(1500):
        coords = sorted(rng.sample(range(1, 200), rng.randint(1, 6)))
        supports.append(tuple((c, rng.randint(1, 3)) for c in coords))
    supports += [(), ()]  # constants: cost 0
    order, costs = greedy_order(supports)
    assert sorted(order) == list(range(len(supports)))
    assert (order, costs) == naive_greedy(supports)


def test_kernel_examples() -> None:
    assert greedy_order([]) == ([], [])
    assert greedy_order([(), ((1, 1),), ()]) == ([0, 2, 1], [0, 0, 1])
    # ties go to the lowest index; zero-cost ones are taken at once, lowest index first
    sup = [((2, 1),), ((1, 1),), ((1, 1), (2, 1)), ((3, 1),)]
    assert greedy_order(sup) == ([0, 1, 2, 3], [1, 1, 0, 1])
    # one step frees several monomials at once (via coordinates 1 then 2): lowest index first
    sup = [((1, 1), (2, 1)), ((2, 3),), ((1, 3),)]
    assert greedy_order(sup) == ([0, 1, 2], [2, 0, 0])
    assert greedy_order(sup) == naive_greedy(sup)


def test_bruteforce_is_the_definition() -> None:
    # a case where a careless order pays more: x1*x2*x3 first costs 3, x1 first gives 2
    fam = [{1, 2, 3}, {1}, {2, 3, 4, 5}]
    assert leap_bruteforce(fam) == 2
    assert leap_bruteforce([]) == 0
    with pytest.raises(ParameterError, match="max_monomials"):
        leap_bruteforce([{i} for i in range(1, 10)])
    assert leap_bruteforce([{i} for i in range(1, 4)], max_monomials=3) == 1


# -- laws --------------------------------------------------------------------------


@given(domain_families(max_size=10), st.randoms(use_true_random=False))
def test_relabelling_invariance(case: tuple[str, list[object]], rnd: random.Random) -> None:
    domain, fam = case
    monos = monos_of(fam, domain)
    coords = sorted(set().union(*(m.support for m in monos))) if monos else []
    image = rnd.sample(range(1, 3 * len(coords) + 2), len(coords))
    relabel = dict(zip(coords, image, strict=True))
    moved = [m.relabel(relabel) for m in monos]
    rnd.shuffle(moved)
    a, b = leap(monos, domain), leap(moved, domain)
    assert a.leap == b.leap
    assert cover(monos, domain) == cover(moved, domain)


@given(domain_families(max_size=8), st.data())
def test_adding_inside_the_covered_support_never_increases(
    case: tuple[str, list[object]], data: st.DataObject
) -> None:
    domain, fam = case
    monos = monos_of(fam, domain)
    union = sorted(set().union(*(m.support for m in monos))) if monos else []
    if not union:
        return
    coords = data.draw(st.lists(st.sampled_from(union), min_size=1, unique=True))
    degrees = [1 if domain == "boolean" else data.draw(st.integers(1, 3)) for _ in coords]
    beta = Monomial.from_mapping(dict(zip(coords, degrees, strict=True)))
    assert leap([*monos, beta], domain).leap <= leap(monos, domain).leap


@given(domain_families(max_size=6), st.data())
def test_adding_inside_the_closure_never_changes_the_leap(
    case: tuple[str, list[object]], data: st.DataObject
) -> None:
    # U = covered set just before the greedy's first step of cost L (the (L-1)-closure).
    # A monomial with support inside U is absorbed by that closure, so the leap stays L.
    # (Inside the whole covered support it may lower the leap: x1*x2 + x1 has leap 1.)
    domain, fam = case
    result = leap(fam, domain)
    if result.leap == 0:
        return
    step = result.jumps.index(result.leap)
    closed = sorted(result.covered_sets()[step])
    if closed:
        coords = data.draw(st.lists(st.sampled_from(closed), min_size=1, unique=True))
        degrees = [1 if domain == "boolean" else data.draw(st.integers(1, 5)) for _ in coords]
        beta = Monomial.from_mapping(dict(zip(coords, degrees, strict=True)))
        bigger = [*monos_of(fam, domain), beta]
        assert leap(bigger, domain).leap == result.leap
        assert leap_bruteforce(bigger, domain) == result.leap


def test_adding_inside_the_support_can_lower_the_leap() -> None:
    assert leap([{1, 2}]).leap == 2
    assert leap([{1, 2}, {1}]).leap == 1


@given(domain_families(max_size=10))
def test_bounds(case: tuple[str, list[object]]) -> None:
    domain, fam = case
    result = leap(fam, domain)
    monos = monos_of(fam, domain)
    nonconstant = [m for m in monos if m.powers]
    if not nonconstant:
        assert result.leap == 0
        assert cover(fam, domain) == 0
        return
    max_degree = max(m.degree for m in nonconstant)
    assert 1 <= result.leap <= max_degree
    assert result.leap <= cover(fam, domain) <= max_degree  # degree-order witnesses cover
    assert cover(fam, domain) >= 1


@given(domain_families(max_size=10))
def test_witness_structure(case: tuple[str, list[object]]) -> None:
    domain, fam = case
    result = leap(fam, domain)
    monos = monos_of(fam, domain)
    distinct = set(m for m in monos if m.powers)
    assert set(result.order) == distinct
    assert len(result.order) == len(distinct)
    assert max(result.jumps, default=0) == result.leap
    assert result.msp == (result.leap <= 1)
    # jumps are the costs along the order
    sets = result.covered_sets()
    assert len(sets) == len(result.order) + 1
    assert sets[0] == frozenset()
    for i, mono in enumerate(result.order):
        assert result.jumps[i] == mono.cost_after(sets[i])
        assert sets[i + 1] == sets[i] | mono.support
    # stages partition the order, cut exactly before the steps of cost >= 2
    assert tuple(itertools.chain.from_iterable(result.stages)) == result.order
    assert all(result.stages)
    step = 0
    for s, stage in enumerate(result.stages):
        jumps = result.jumps[step : step + len(stage)]
        if s > 0:
            assert jumps[0] >= 2
        assert all(j <= 1 for j in jumps[1:])
        assert result.stage_jumps()[s] == max(jumps)
        step += len(stage)
    # first covers and their stages
    stage_index = {mono: s for s, stage in enumerate(result.stages) for mono in stage}
    assert set(result.first_cover) == set(sets[-1])
    for coordinate, mono in result.first_cover.items():
        first = next(m for m in result.order if coordinate in m.support)
        assert mono == first
        assert result.stage_of[coordinate] == stage_index[first]


@given(domain_families(max_size=10))
def test_cover_against_definition(case: tuple[str, list[object]]) -> None:
    domain, fam = case
    assert cover(fam, domain) == cover_by_definition(monos_of(fam, domain))


def test_cover_examples() -> None:
    assert cover([{1}, {1, 2}, {1, 2, 3}]) == 3
    assert cover([{1, 2}, {1}, {2}]) == 1
    assert cover([]) == 0
    assert cover([{1: 3}], "gaussian") == 3


# -- inputs -----------------------------------------------------------------------


def test_input_forms_agree() -> None:
    sets = [{1}, {2, 4}, {1, 2, 3}]  # already in an Expansion's order (degree, coordinates)
    as_maps = [dict.fromkeys(s, 1) for s in sets]
    as_monos = [Monomial.from_set(s) for s in sets]
    expected = leap(sets)
    assert leap(as_maps) == expected
    assert leap(as_monos) == expected
    assert leap(iter(as_monos)) == expected
    assert leap(tuple(frozenset(s) for s in sets)) == expected
    assert leap(Expansion.from_monomials(sets)) == expected
    # ties follow the input order
    x1, x24, x123 = (Monomial.from_set(s) for s in sets)
    assert expected.stages == ((x1,), (x24, x123))
    assert leap([sets[2], sets[1], sets[0]]).stages == ((x1,), (x123, x24))


def test_expansion_domain_wins() -> None:
    e = Expansion.from_monomials([{1: 1}, {1: 1, 2: 2}], domain="gaussian")
    result = leap(e)  # domain defaults to boolean; the expansion says gaussian
    assert result.domain == "gaussian"
    assert result.leap == 2
    assert cover(e) == 3


def test_constants_and_duplicates_ignored() -> None:
    result = leap([set(), {1}, {1}, frozenset({1})])
    assert result.order == (Monomial.from_set({1}),)
    assert result.jumps == (1,)
    e = Expansion.from_monomials([set(), {2}], coefficients=[3, 1])
    assert leap(e).order == (Monomial.from_set({2}),)


def test_empty_and_constant() -> None:
    for fam in ([], [set()], [{}]):
        result = leap(fam)
        assert result.leap == 0
        assert result.msp
        assert result.order == () == result.stages == result.jumps
        assert result.covered_sets() == (frozenset(),)
        assert dict(result.first_cover) == {} == dict(result.stage_of)


def test_a_single_monomial() -> None:
    assert leap(Monomial.from_set({1, 2})).leap == 2


def test_result_is_hashable_and_comparable() -> None:
    a, b = leap([{1}, {1, 2}]), leap([{1}, {1, 2}])
    assert isinstance(a, LeapResult)
    assert a == b
    assert hash(a) == hash(b)
    assert a != leap([{1, 2}])


# -- errors -----------------------------------------------------------------------


def test_boolean_degree_two_is_a_domain_error() -> None:
    with pytest.raises(DomainError, match="boolean"):
        leap([{1: 2}])
    with pytest.raises(DomainError, match="boolean"):
        leap([Monomial.from_mapping({1: 1, 2: 2})])
    with pytest.raises(DomainError):
        cover([{1: 2}], "boolean")


def test_unknown_domain() -> None:
    with pytest.raises(DomainError, match="unknown domain"):
        leap([{1}], "hermite")
    with pytest.raises(DomainError):
        leap_bruteforce([{1}], "binary")


@pytest.mark.parametrize("bad", [[{1.5}], [{"a"}], [{None}], [{0}], [{-1: 1}], [{1: 1.5}], [5]])
def test_unreadable_monomials(bad: list[object]) -> None:
    with pytest.raises(CsqboundError):
        leap(bad, "gaussian")


def test_unreadable_input() -> None:
    with pytest.raises(CsqboundError, match="cannot read"):
        leap(3.5)


def test_sympy_expression_input() -> None:
    pytest.importorskip("csqbound.target")
    import sympy

    x1, x2, x3 = sympy.symbols("x1 x2 x3")
    result = leap(x1 + x1 * x2 * x3)
    assert result.leap == 2
    assert result.stages == ((Monomial.from_set({1}),), (Monomial.from_set({1, 2, 3}),))
    assert leap(x1 + x1 * (x2**2 - 1), "gaussian").jumps == (1, 2)


def test_large_coordinate_indices_do_not_recurse():
    # review finding: sympy.Poly over x1..x1000 recursed once per generator
    assert leap("x1000*x1").leap == 2
    assert leap("x3000", domain="gaussian").leap == 1
    assert [str(m) for m in leap("x1 + x1*x2500").order] == ["x1", "x1*x2500"]
