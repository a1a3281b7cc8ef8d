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
:meth:`SupportGraph.draw` lays the stages out left to right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import networkx

from csqbound.errors import CsqboundError
from csqbound.expansion import as_support
from csqbound.leaps import LeapResult, leap
from csqbound.monomial import Domain, Monomial

__all__ = ["SupportGraph"]

_DRAW_SUFFIXES = (".png", ".svg", ".pdf")


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
        >>> networkx.is_directed_acyclic_graph(G.edge_subgraph(witness))
        True
        """
        return self.graph.copy()

    def draw(self, path: str | Path) -> Path:
        """Draw the graph, stages left to right, to a ``.png``, ``.svg`` or ``.pdf`` file.

        Each stage is a column of monomials (in witness order, top to bottom)
        with a column beside it for the coordinates first covered there.
        Incidence edges are thin grey lines; witness edges are dashed red arrows.
        Drawing uses matplotlib's object-oriented API with an Agg canvas, so it
        works without a display and leaves pyplot's backend alone.

        Parameters
        ----------
        path
            Output file; its suffix picks the format.

        Returns
        -------
        Path
            The path written.

        Raises
        ------
        CsqboundError
            The suffix is not ``.png``, ``.svg`` or ``.pdf``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     out = SupportGraph.build([{1}, {1, 2, 3}]).draw(pathlib.Path(tmp) / "g.svg")
        ...     (out.name, out.stat().st_size > 0)
        ('g.svg', True)
        """
        out = Path(path)
        suffix = out.suffix.lower()
        if suffix not in _DRAW_SUFFIXES:
            msg = (
                f"cannot draw to {str(path)!r}: the file name must end in "
                f"{', '.join(_DRAW_SUFFIXES)}"
            )
            raise CsqboundError(msg)
        if not out.parent.is_dir():
            msg = f"cannot draw to {str(path)!r}: folder {str(out.parent)!r} does not exist"
            raise CsqboundError(msg)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import FancyArrowPatch

        result = self.leap
        n_mono = len(result.order)
        font = 9.0 if n_mono <= 30 else max(4.0, 9.0 * math.sqrt(30 / n_mono))
        col_width = 3.0  # a stage: monomial column at 3s, coordinate column at 3s + 1.4
        rows = {}
        for s, stage in enumerate(result.stages):
            coords = [c for c, t in result.stage_of.items() if t == s]
            rows[s] = max(len(stage), len(coords), 1)
        height = max(rows.values(), default=1)
        n_stages = max(len(result.stages), 1)
        scale = font / 9.0
        fig = Figure(
            figsize=(max(5.0, 2.2 * n_stages * scale + 1.5), max(3.0, 0.45 * height * scale + 1.8))
        )
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.set_axis_off()

        pos: dict[tuple[str, object], tuple[float, float]] = {}
        for s, stage in enumerate(result.stages):
            for r, mono in enumerate(stage):
                pos[("m", str(mono))] = (col_width * s, -float(r))
        covered_in: dict[int, list[int]] = {}
        for coordinate in result.first_cover:  # insertion order = order of first cover
            covered_in.setdefault(result.stage_of[coordinate], []).append(coordinate)
        for s, coords in covered_in.items():
            for r, coordinate in enumerate(coords):
                pos[("x", coordinate)] = (col_width * s + 1.4, -float(r))

        for u, v, data in self.graph.edges(data=True):
            (x0, y0), (x1, y1) = pos[u], pos[v]
            # bulge of a witness arc ~ rad * length: keep it under a column's width
            rad = min(0.35, 1.0 / max(math.hypot(x1 - x0, y1 - y0), 1e-9))
            if data["kind"] == "incidence":
                ax.plot([x0, x1], [y0, y1], color="0.75", lw=0.6 + 0.4 * data["weight"], zorder=1)
            else:
                ax.add_patch(
                    FancyArrowPatch(
                        (x0, y0),
                        (x1, y1),
                        connectionstyle=f"arc3,rad={rad:.3f}",
                        arrowstyle="-|>",
                        mutation_scale=8 + 4 * scale,
                        color="tab:red",
                        linestyle="--",
                        lw=1.0,
                        alpha=1.0 if n_mono <= 30 else 0.5,
                        shrinkA=9 * scale,
                        shrinkB=9 * scale,
                        zorder=2,
                    )
                )
        box = {"boxstyle": "round,pad=0.25", "lw": 0.6}
        for node, data in self.graph.nodes(data=True):
            x, y = pos[node]
            if data["kind"] == "monomial":
                label = f"{data['monomial']}  [{data['jump']}]"
                face = "#dbe9f6"
            else:
                label = f"x{data['coordinate']}"
                face = "#f6ecd5"
            ax.text(
                x,
                y,
                label,
                ha="center",
                va="center",
                fontsize=font,
                bbox={**box, "fc": face, "ec": "0.4"},
                zorder=3,
            )
        for s, jump in enumerate(result.stage_jumps()):
            ax.text(
                col_width * s + 0.7,
                0.9,
                f"stage {s + 1} (jump {jump})",
                ha="center",
                va="bottom",
                fontsize=font + 1,
                fontweight="bold",
            )
        ax.set_xlim(-1.8, col_width * (n_stages - 1) + 2.6)
        ax.set_ylim(-(height - 1) - 0.8, 1.6)
        ax.legend(
            handles=[
                Line2D([], [], color="0.75", lw=1.0, label="uses coordinate (width: degree)"),
                Line2D([], [], color="tab:red", ls="--", lw=1.0, label="witness: builds on"),
            ],
            loc="lower center",
            bbox_to_anchor=(0.5, -0.02),
            ncol=2,
            fontsize=max(font - 1, 4),
            frameon=False,
        )
        title = (
            f"leap {result.leap}"
            + (" (MSP)" if result.msp and result.order else "")
            + f" - {self.expansion_domain}, {n_mono} monomials"
            + "\n[k] after a monomial: cost of its step"
        )
        ax.set_title(title, fontsize=font + 2)
        fig.tight_layout()
        fig.savefig(out, format=suffix[1:], dpi=150)
        return out
