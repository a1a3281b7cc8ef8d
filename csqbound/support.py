"""The support of a target as a graph: monomials, coordinates and the witness DAG.

:class:`SupportGraph` is a :mod:`networkx` directed graph with two kinds of
nodes and two kinds of edges (THEORY.md section 2):

* monomial nodes ``("m", str(alpha))`` (the constant monomial is left out) and
  coordinate nodes ``("x", i)``;
* incidence edges ``alpha -> x_i`` weighted by the degree ``alpha_i``, and
  witness edges ``beta -> alpha`` from the monomial ``beta`` of the greedy
  witness order that first covered a coordinate to every *later* monomial
  ``alpha`` that uses it (the coordinates are on the edge). Witness edges follow
  the witness order, so they form a DAG: the monomials a step builds on.

Every node carries the 0-based stage of the greedy run in which it appears.
:func:`csqbound.report.plots.plot_support_graph` draws it, stages left to right
(this module computes; it writes no files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from csqbound.expansion import as_support
from csqbound.leaps import LeapResult, leap
from csqbound.monomial import Domain, Monomial

if TYPE_CHECKING:
    import networkx

__all__ = ["SupportGraph"]


@dataclass(frozen=True)
class SupportGraph:
    """Support graph of a target: incidence of monomials on coordinates, and the witness DAG.

    Attributes
    ----------
    expansion_domain
        ``"boolean"`` or ``"gaussian"``.
    monomials
        The non-constant support, deduplicated, in input order (an Expansion's
        order: by degree, then coordinates).
    leap
        The :class:`~csqbound.leaps.LeapResult` the graph was built from.
    graph
        The graph itself; treat it as read-only and use :meth:`to_networkx` for a
        copy of your own.

    See Also
    --------
    csqbound.report.plots.plot_support_graph : draws it, stages left to right.
    csqbound.leaps.leap : the witness order the graph is built from.
    networkx.algorithms.dag.is_directed_acyclic_graph : the witness edges pass it.

    Examples
    --------
    >>> g = SupportGraph.build([{1}, {1, 2, 3}])
    >>> g.leap.leap
    2
    >>> G = g.to_networkx()
    >>> sorted(G.nodes, key=str)
    [('m', 'x1'), ('m', 'x1*x2*x3'), ('x', 1), ('x', 2), ('x', 3)]
    >>> G.edges[("m", "x1"), ("m", "x1*x2*x3")]
    {'kind': 'witness', 'coordinates': [1]}
    >>> G.nodes[("x", 3)]["stage"]
    1
    """

    expansion_domain: Domain
    monomials: tuple[Monomial, ...]
    leap: LeapResult
    graph: networkx.DiGraph = field(repr=False, compare=False)

    @classmethod
    def build(cls, x: object, domain: str = "boolean") -> SupportGraph:
        """Build the support graph of a target or support family.

        Parameters
        ----------
        x
            As for :func:`csqbound.leaps.leap`: an expression, an Expansion, or an
            iterable of monomials (sets of coordinates, mappings coordinate ->
            degree, :class:`~csqbound.monomial.Monomial`).
        domain
            ``"boolean"`` or ``"gaussian"`` (an Expansion's own domain wins).

        Returns
        -------
        SupportGraph

        Raises
        ------
        DomainError
            Unknown domain, or a boolean monomial with a degree above 1.
        CsqboundError
            A monomial that cannot be read.

        Examples
        --------
        >>> g = SupportGraph.build([{1: 1}, {1: 1, 2: 2}], domain="gaussian")
        >>> g.leap.jumps
        (1, 2)
        >>> g.to_networkx().edges[("m", "x1*He2(x2)"), ("x", 2)]
        {'kind': 'incidence', 'weight': 2}
        """
        import networkx  # here, not at the top: importing it costs 0.3 s on every command

        monos, dom, _ = as_support(x, domain)
        result = leap(monos, dom)
        graph = networkx.DiGraph(domain=dom, leap=result.leap)
        stage_of_step: list[int] = []
        for s, stage in enumerate(result.stages):
            stage_of_step.extend([s] * len(stage))
        step_of: dict[Monomial, int] = {}
        for step, (mono, jump) in enumerate(zip(result.order, result.jumps, strict=True)):
            step_of[mono] = step
            graph.add_node(
                ("m", str(mono)),
                kind="monomial",
                monomial=mono,
                stage=stage_of_step[step],
                step=step,
                jump=jump,
            )
        for coordinate in sorted(result.first_cover):
            graph.add_node(
                ("x", coordinate),
                kind="coordinate",
                coordinate=coordinate,
                stage=result.stage_of[coordinate],
            )
        for mono in result.order:
            node = ("m", str(mono))
            sources: dict[Monomial, list[int]] = {}
            for coordinate, degree in mono.powers:
                graph.add_edge(node, ("x", coordinate), kind="incidence", weight=degree)
                first = result.first_cover[coordinate]
                if step_of[first] < step_of[mono]:
                    sources.setdefault(first, []).append(coordinate)
            for first, coordinates in sources.items():
                graph.add_edge(
                    ("m", str(first)), node, kind="witness", coordinates=sorted(coordinates)
                )
        return cls(dom, monos, result, graph)

    def to_networkx(self) -> networkx.DiGraph:
        """A copy of the graph (nodes, edges and attributes) for the caller to keep.

        Examples
        --------
        >>> G = SupportGraph.build([{1}, {1, 2}]).to_networkx()
        >>> witness = [(u, v) for u, v, k in G.edges(data="kind") if k == "witness"]
        >>> witness
        [(('m', 'x1'), ('m', 'x1*x2'))]
        >>> import networkx
        >>> networkx.is_directed_acyclic_graph(G.edge_subgraph(witness))
        True
        """
        return self.graph.copy()
