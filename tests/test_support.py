"""Tests of csqbound.support: the support graph, its witness DAG, and drawing."""

from __future__ import annotations

import random
from pathlib import Path

import networkx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import CsqboundError, DomainError
from csqbound.expansion import Expansion
from csqbound.leaps import leap
from csqbound.monomial import Monomial
from csqbound.report.plots import plot_support_graph
from csqbound.support import SupportGraph


@st.composite
def domain_families(draw: st.DrawFn, max_p: int = 7, max_size: int = 10) -> tuple[str, list]:
    domain = draw(st.sampled_from(["boolean", "gaussian"]))
    p = draw(st.integers(1, max_p))
    coords = st.integers(1, p)
    if domain == "boolean":
        mono: st.SearchStrategy[object] = st.frozensets(coords, min_size=1, max_size=p)
    else:
        mono = st.dictionaries(coords, st.integers(1, 3), min_size=1, max_size=p)
    return domain, draw(st.lists(mono, max_size=max_size))


def witness_edges(graph: networkx.DiGraph) -> list[tuple[object, object]]:
    return [(u, v) for u, v, kind in graph.edges(data="kind") if kind == "witness"]


def test_staircase_plateau_graph() -> None:
    g = SupportGraph.build([{1}, {1, 2, 3}, {2, 4}])
    G = g.to_networkx()
    assert g.expansion_domain == "boolean"
    assert g.leap.leap == 2
    assert G.graph == {"domain": "boolean", "leap": 2}
    assert set(G.nodes) == {
        ("m", "x1"),
        ("m", "x1*x2*x3"),
        ("m", "x2*x4"),
        ("x", 1),
        ("x", 2),
        ("x", 3),
        ("x", 4),
    }
    assert G.nodes[("m", "x1*x2*x3")] == {
        "kind": "monomial",
        "monomial": Monomial.from_set({1, 2, 3}),
        "stage": 1,
        "step": 1,
        "jump": 2,
    }
    assert G.nodes[("x", 4)] == {"kind": "coordinate", "coordinate": 4, "stage": 1}
    assert G.nodes[("x", 1)]["stage"] == 0
    assert G.edges[("m", "x1*x2*x3"), ("x", 2)] == {"kind": "incidence", "weight": 1}
    assert sorted(witness_edges(G)) == [
        (("m", "x1"), ("m", "x1*x2*x3")),
        (("m", "x1*x2*x3"), ("m", "x2*x4")),
    ]
    assert G.edges[("m", "x1*x2*x3"), ("m", "x2*x4")]["coordinates"] == [2]


def test_witness_edge_bundles_coordinates() -> None:
    G = SupportGraph.build([{1, 2}, {1, 2, 3}]).to_networkx()
    assert G.edges[("m", "x1*x2"), ("m", "x1*x2*x3")] == {"kind": "witness", "coordinates": [1, 2]}


def test_gaussian_weights() -> None:
    g = SupportGraph.build([{1: 1}, {1: 1, 2: 2}, {3: 3}], "gaussian")
    G = g.to_networkx()
    assert g.leap.leap == 3
    assert G.edges[("m", "x1*He2(x2)"), ("x", 2)]["weight"] == 2
    assert G.edges[("m", "He3(x3)"), ("x", 3)]["weight"] == 3
    assert [G.nodes[("m", s)]["stage"] for s in ("x1", "x1*He2(x2)", "He3(x3)")] == [0, 1, 2]


def test_expansion_input_and_domain() -> None:
    e = Expansion.from_monomials([set(), {1}, {1, 2}], coefficients=[1, 2, 3])
    g = SupportGraph.build(e, domain="gaussian")  # the expansion's domain wins
    assert g.expansion_domain == "boolean"
    assert g.monomials == (Monomial.from_set({1}), Monomial.from_set({1, 2}))
    assert ("m", "1") not in g.graph  # the constant is left out


def test_to_networkx_is_a_copy() -> None:
    g = SupportGraph.build([{1}, {1, 2}])
    G = g.to_networkx()
    G.add_node("intruder")
    G.nodes[("x", 1)]["stage"] = 99
    H = g.to_networkx()
    assert "intruder" not in H
    assert H.nodes[("x", 1)]["stage"] == 0
    assert G is not g.graph


def test_errors() -> None:
    with pytest.raises(DomainError):
        SupportGraph.build([{1: 2}])
    with pytest.raises(DomainError):
        SupportGraph.build([{1}], "cube")
    with pytest.raises(CsqboundError):
        SupportGraph.build([{"x1"}])


@given(domain_families())
def test_graph_matches_the_definition(case: tuple[str, list]) -> None:
    domain, fam = case
    g = SupportGraph.build(fam, domain)
    G = g.to_networkx()
    result = leap(fam, domain)
    assert g.leap == result
    assert set(g.monomials) == set(result.order)
    # nodes
    monos = [n for n, kind in G.nodes(data="kind") if kind == "monomial"]
    coords = [n for n, kind in G.nodes(data="kind") if kind == "coordinate"]
    assert len(monos) == len(result.order)
    union = set().union(*(m.support for m in result.order)) if result.order else set()
    assert {c for _, c in coords} == union
    for step, mono in enumerate(result.order):
        data = G.nodes[("m", str(mono))]
        assert data["step"] == step
        assert data["jump"] == result.jumps[step]
        assert data["monomial"] == mono
        assert mono in result.stages[data["stage"]]
    for _, c in coords:
        assert G.nodes[("x", c)]["stage"] == result.stage_of[c]
    # incidence edges: exactly the (monomial, coordinate) pairs, weighted by degree
    incidence = {(u, v): w for u, v, w in G.edges(data="weight") if v[0] == "x"}
    expected = {(("m", str(mono)), ("x", c)): k for mono in result.order for c, k in mono.powers}
    assert incidence == expected
    # witness edges: first cover -> every later monomial using that coordinate
    step_of = {mono: i for i, mono in enumerate(result.order)}
    want: dict[tuple[object, object], list[int]] = {}
    for mono in result.order:
        for c in sorted(mono.support):
            first = next(m for m in result.order if c in m.support)
            if step_of[first] < step_of[mono]:
                want.setdefault((("m", str(first)), ("m", str(mono))), []).append(c)
    got = {(u, v): G.edges[u, v]["coordinates"] for u, v in witness_edges(G)}
    assert got == want
    assert all(G.edges[e]["kind"] == "witness" for e in want)
    # the witness subgraph is a DAG that respects the witness order
    W = G.edge_subgraph(witness_edges(G))
    assert networkx.is_directed_acyclic_graph(W)
    assert all(G.nodes[u]["step"] < G.nodes[v]["step"] for u, v in W.edges)
    assert G.number_of_edges() == len(incidence) + len(want)


# -- drawing ------------------------------------------------------------------------

MAGIC = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml"}


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_draw_formats(tmp_path: Path, suffix: str) -> None:
    g = SupportGraph.build([{1: 1}, {1: 1, 2: 2}, {3: 3}], "gaussian")
    out = plot_support_graph(g, str(tmp_path / f"support{suffix}"))
    assert out == tmp_path / f"support{suffix}"
    assert out.read_bytes().startswith(MAGIC[suffix])


def test_draw_svg_has_labels(tmp_path: Path) -> None:
    out = plot_support_graph(SupportGraph.build([{1}, {1, 2, 3}]), tmp_path / "g.svg")
    text = out.read_text()
    # matplotlib writes each text as paths preceded by a comment holding the string
    for label in ("x1*x2*x3  [2]", "stage 1 (jump 1)", "stage 2 (jump 2)", "leap 2"):
        assert f"<!-- {label}" in text


def test_draw_many_and_empty(tmp_path: Path) -> None:
    rng = random.Random(3)
    fam = [set(rng.sample(range(1, 25), rng.randint(1, 3))) for _ in range(45)]
    assert plot_support_graph(SupportGraph.build(fam), tmp_path / "many.png").stat().st_size > 0
    assert plot_support_graph(SupportGraph.build([]), tmp_path / "empty.png").stat().st_size > 0


def test_draw_bad_path(tmp_path: Path) -> None:
    g = SupportGraph.build([{1}])
    with pytest.raises(CsqboundError, match=r"\.png"):
        plot_support_graph(g, tmp_path / "graph.jpg")
    with pytest.raises(CsqboundError, match=r"\.png"):
        plot_support_graph(g, tmp_path / "graph")
    with pytest.raises(CsqboundError, match="does not exist"):
        plot_support_graph(g, tmp_path / "missing" / "graph.png")
