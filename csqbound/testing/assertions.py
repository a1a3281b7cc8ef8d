r"""Assertions that read like the claims of a paper, with the witness in the failure message.

Each ``assert_*`` computes the quantity, returns the full result when the claim
holds, and raises :class:`AssertionError` (so pytest shows it as a test
failure) when it does not, with a message that shows *why*: the greedy witness
order, its jumps and stages for :func:`assert_leap`; the chain of subspaces for
:func:`assert_iso_leap`; the stage table of the bound for
:func:`assert_csq_exponent`; the learning time of every monomial and every
out-of-order pair for :func:`assert_learns_in_order`. Misuse (a negative leap,
a stage naming a monomial the run did not track) is a
:class:`~csqbound.errors.ParameterError`, not an assertion failure.

Examples
--------
>>> from csqbound.testing import assert_leap
>>> assert_leap("x1 + x1*x2*x3", 2).stages
((Monomial(x1),), (Monomial(x1*x2*x3),))
>>> assert_leap("x1 + x1*x2*x3", 1)
Traceback (most recent call last):
...
AssertionError: leap of x1 + x1*x2*x3 (boolean) is 2, expected 1
...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sympy

from csqbound._validation import as_int
from csqbound.errors import CsqboundError, ParameterError

if TYPE_CHECKING:
    from csqbound.csq import CSQBound
    from csqbound.isoleap import IsoLeapResult
    from csqbound.leaps import LeapResult
    from csqbound.sgd.plateaus import StageOrderCheck
    from csqbound.sgd.train import Run

__all__ = [
    "assert_csq_exponent",
    "assert_iso_leap",
    "assert_leap",
    "assert_learns_in_order",
    "csq_stage_table",
    "iso_witness",
    "leap_witness",
]


# -- helpers ------------------------------------------------------------------------------
def _check_level(name: str, value: object) -> int:
    return as_int(value, name, 0)


def _describe(f: object) -> str:
    """A short readable name for a target or support family."""
    from csqbound.expansion import Expansion
    from csqbound.monomial import Monomial

    if isinstance(f, str):
        return f.strip()
    if isinstance(f, sympy.Basic):
        return sympy.sstr(f)
    if isinstance(f, Expansion):
        return " + ".join(str(m) for m in f.support) or "0"
    if isinstance(f, Monomial):
        return str(f)
    if isinstance(f, Iterable) and not isinstance(f, Mapping):

        def one(item: object) -> str:
            try:
                if isinstance(item, Mapping):
                    return str(Monomial.from_mapping(item))
                if isinstance(item, Iterable) and not isinstance(item, str | Monomial):
                    return str(Monomial.from_set(item))  # type: ignore[arg-type]
            except CsqboundError:
                return repr(item)
            return str(item)

        return "{" + ", ".join(one(m) for m in f) + "}"
    return str(f)


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], indent: str = "  ") -> str:
    """Left-aligned plain-text columns."""
    body = [[str(c) for c in header], *([str(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in body) for i in range(len(header))]
    return "\n".join(
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in body
    )


def _coords(covered: Iterable[int]) -> str:
    return "{" + ", ".join(str(c) for c in sorted(covered)) + "}"


def _stages_line(stages: Sequence[Sequence[object]]) -> str:
    return " | ".join("[" + ", ".join(str(m) for m in stage) + "]" for stage in stages)


def leap_witness(result: LeapResult) -> str:
    """The witness of a leap as text: order, step costs, coordinates covered, stages.

    Examples
    --------
    >>> from csqbound.leaps import leap
    >>> print(leap_witness(leap([{1}, {1, 2, 3}])))
    witness order (greedy), cost of each step:
      step  monomial  cost  covered after
      1     x1        1     {1}
      2     x1*x2*x3  2     {1, 2, 3}
    jumps: (1, 2)
    stages (cut before each step of cost >= 2): [x1] | [x1*x2*x3]
    """
    covered = result.covered_sets()
    rows = [
        (i + 1, str(m), c, _coords(covered[i + 1]))
        for i, (m, c) in enumerate(zip(result.order, result.jumps, strict=True))
    ]
    lines = [
        "witness order (greedy), cost of each step:",
        _table(("step", "monomial", "cost", "covered after"), rows),
        f"jumps: {result.jumps}",
        f"stages (cut before each step of cost >= 2): {_stages_line(result.stages)}",
    ]
    return "\n".join(lines)


# -- the assertions ---------------------------------------------------------------------------
def assert_leap(f: object, L: int, *, domain: str = "boolean") -> LeapResult:
    """Assert that the leap of ``f`` is ``L`` (THEORY section 2).

    Parameters
    ----------
    f
        Anything :func:`csqbound.leap` accepts: text, a sympy expression, a
        Target or Expansion (their domain wins), or a family of monomials.
    L
        The claimed leap.
    domain
        ``"boolean"`` or ``"gaussian"`` (coordinate leap, degree-weighted).

    Returns
    -------
    LeapResult
        The result, when the claim holds.

    Raises
    ------
    AssertionError
        When the leap differs; the message shows the greedy witness order with
        the cost of every step and the coordinates it covers, the jumps and the
        stages.
    ParameterError
        When ``L`` is not an integer ``>= 0``.

    Examples
    --------
    >>> assert_leap("x1 + x1*x2 + x1*x2*x3", 1).msp
    True
    >>> assert_leap("x1*x2 + x3", 3)
    Traceback (most recent call last):
    ...
    AssertionError: leap of x1*x2 + x3 (boolean) is 2, expected 3
    witness order (greedy), cost of each step:
      step  monomial  cost  covered after
      1     x3        1     {3}
      2     x1*x2     2     {1, 2, 3}
    jumps: (1, 2)
    stages (cut before each step of cost >= 2): [x3] | [x1*x2]
    """
    from csqbound.leaps import leap

    expected = _check_level("L", L)
    result = leap(f, domain)
    if result.leap != expected:
        msg = (
            f"leap of {_describe(f)} ({result.domain}) is {result.leap}, expected {expected}\n"
            + leap_witness(result)
        )
        raise AssertionError(msg)
    return result


def _vector(values: Sequence[Any]) -> str:
    def show(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else sympy.sstr(v)

    return "(" + ", ".join(show(v) for v in values) + ")"


def iso_witness(result: IsoLeapResult) -> str:
    """The witness chain of :func:`csqbound.iso_leap` as text (new directions per step).

    Examples
    --------
    >>> from csqbound.isoleap import iso_leap
    >>> print(iso_witness(iso_leap("x1*x2 + (x1 + x2)/sqrt(2)")))
    witness chain V_1 < V_2 < ... (new directions of each step, in x-coordinates):
      step  jump  dim V  new directions
      1     1     1      (1, 1)
      2     2     2      (1, -1)
    jumps: (1, 2); information exponent 1
    """
    rows = []
    previous = 0
    for j, (jump, dim, basis) in enumerate(
        zip(result.jumps, result.dims, result.subspaces, strict=True)
    ):
        rows.append((j + 1, jump, dim, " ".join(_vector(v) for v in basis[previous:])))
        previous = dim
    lines = [
        "witness chain V_1 < V_2 < ... (new directions of each step, in x-coordinates):",
        _table(("step", "jump", "dim V", "new directions"), rows),
        f"jumps: {result.jumps}; information exponent {result.information_exponent}",
    ]
    if not result.exact:
        lines.append(f"numeric (tol = {result.tol:g})")
    return "\n".join(lines)


def assert_iso_leap(f: object, L: int) -> IsoLeapResult:
    """Assert that the rotation-free leap ``iso_leap(f)`` is ``L`` (THEORY section 3).

    Parameters
    ----------
    f
        A gaussian target: text, a sympy expression, a gaussian Target or Expansion.
    L
        The claimed ``iso_leap``.

    Returns
    -------
    IsoLeapResult
        The result, when the claim holds.

    Raises
    ------
    AssertionError
        When ``iso_leap`` differs; the message shows the witness chain of
        subspaces (the new directions and the jump of each step).
    ParameterError
        When ``L`` is not an integer ``>= 0``.

    Examples
    --------
    >>> assert_iso_leap("He3((x1 - x2)/sqrt(2))", 3).single_index
    True
    >>> assert_iso_leap("x1*x2 + (x1 + x2)/sqrt(2)", 1)  # coordinate leap 1, iso_leap 2
    Traceback (most recent call last):
    ...
    AssertionError: iso_leap of x1*x2 + (x1 + x2)/sqrt(2) is 2, expected 1
    witness chain ...
      2     2     2      (1, -1)
    ...
    """
    from csqbound.isoleap import iso_leap

    expected = _check_level("L", L)
    result = iso_leap(f)
    if result.iso_leap != expected:
        msg = (
            f"iso_leap of {_describe(f)} is {result.iso_leap}, expected {expected}\n"
            + iso_witness(result)
        )
        raise AssertionError(msg)
    return result


def csq_stage_table(bound: CSQBound) -> str:
    """The stages of a CSQ bound as a text table.

    Examples
    --------
    >>> from csqbound.csq import csq_bound
    >>> print(csq_stage_table(csq_bound("x1 + x1*x2*x3", d=64, tau="0.01")))
      covered U  jump  m  |r|^2  Gamma_U    queries      log10 q
      {}         1     2  2      163/10416  1139/815000  -2.855
      {1}        2     1  1      1/1953     389/4000     -1.012
    """
    rows = [
        (
            _coords(s.covered),
            s.jump,
            s.m,
            str(s.r_norm2),
            str(s.gamma),
            "vacuous" if s.vacuous else str(s.queries),
            "" if s.log10_queries is None else f"{s.log10_queries:.4g}",
        )
        for s in bound.stages
    ]
    return _table(("covered U", "jump", "m", "|r|^2", "Gamma_U", "queries", "log10 q"), rows)


def assert_csq_exponent(
    f: object, k: int, *, domain: str = "boolean", d: int | None = None, tau: object = "0.01"
) -> CSQBound:
    """Assert that the CSQ lower bound of ``f`` grows as ``d^k`` (THEORY section 5).

    The exponent is the cardinality leap of the stage-wise bound on the class
    ``{f o pi}`` of targets on hidden coordinates: new *coordinates* per step,
    whatever their degree (so ``He3(x1)`` has exponent 1). It does not depend
    on ``d`` or ``tau``, which only set the numbers in the table.

    Parameters
    ----------
    f
        Anything :func:`csqbound.csq_bound` accepts (text, sympy, Target, Expansion).
    k
        The claimed exponent.
    domain
        ``"boolean"`` or ``"gaussian"`` (a Target's or Expansion's own domain wins).
    d
        Dimension at which the table is evaluated (default ``max(64, P)``).
    tau
        Query tolerance for the table.

    Returns
    -------
    CSQBound
        The bound, when the claim holds.

    Raises
    ------
    AssertionError
        When the exponent differs; the message shows the stage table
        (covered ``U``, jump, ``m``, ``||r||^2``, ``Gamma_U``, queries).
    ParameterError
        When ``k`` is not an integer ``>= 0``, or for an invalid ``d``/``tau``.

    Examples
    --------
    >>> assert_csq_exponent("He3(x1)", 1, domain="gaussian").exponent
    1
    >>> assert_csq_exponent("x1 + x1*x2*x3", 3)
    Traceback (most recent call last):
    ...
    AssertionError: CSQ exponent of x1 + x1*x2*x3 (boolean, ...) is 2, expected 3
    stages of the bound at d=64, tau=1/100 (the exponent is the largest jump):
      covered U  jump  m  |r|^2  Gamma_U    queries      log10 q
      {}         1     2  2      163/10416  1139/815000  -2.855
      {1}        2     1  1      1/1953     389/4000     -1.012
    """
    from csqbound.csq import csq_bound
    from csqbound.expansion import as_expansion

    expected = _check_level("k", k)
    expansion = as_expansion(f, domain)
    dim = max(64, expansion.variables) if d is None else d
    bound = csq_bound(expansion, d=dim, tau=tau, domain=expansion.domain)
    if bound.exponent != expected:
        msg = (
            f"CSQ exponent of {_describe(f)} ({bound.domain}, {bound.class_label}) is "
            f"{bound.exponent}, expected {expected}\n"
            f"stages of the bound at d={bound.d}, tau={bound.tau} (the exponent is the "
            "largest jump):\n" + csq_stage_table(bound)
        )
        raise AssertionError(msg)
    return bound


def _stage_names(run: Run, stages: object) -> tuple[tuple[str, ...], ...]:
    """Normalise ``stages`` to tuples of the run's monomial names."""
    from csqbound.monomial import Monomial

    known = tuple(run.learning_times)

    def name(item: object) -> str:
        text = str(item) if isinstance(item, Monomial) else item
        if isinstance(text, str) and text.strip() in known:
            return text.strip()
        if isinstance(text, str):
            try:
                from csqbound.expansion import expand

                e = expand(text, run.domain)
                monos = [m for m in e.support if m.powers]
                if len(monos) == 1 and str(monos[0]) in known:
                    return str(monos[0])
            except CsqboundError:
                pass
        msg = (
            f"stage entry {item!r} is not a monomial tracked by this run; "
            f"tracked: {', '.join(known) or '(none)'}"
        )
        raise ParameterError(msg)

    if isinstance(stages, str) or not isinstance(stages, Iterable):
        msg = (
            "stages must be a sequence of stages (each a monomial or a list of them), "
            f"got {stages!r}"
        )
        raise ParameterError(msg)
    out: list[tuple[str, ...]] = []
    for stage in stages:
        if isinstance(stage, str | Monomial) or not isinstance(stage, Iterable):
            out.append((name(stage),))
        else:
            out.append(tuple(name(m) for m in stage))
    return tuple(out)


def assert_learns_in_order(
    run: Run, stages: object = None, *, require_complete: bool = True
) -> StageOrderCheck:
    """Assert that a training run learned its monomials stage by stage.

    A monomial is learned when the network's coefficient on it first reaches
    half the target's (median over replicas, :meth:`Run.median_learning_times`).
    The order is respected when no monomial of a stage is learned more than
    one evaluation step (a factor ``run.grid_ratio`` in samples) after a
    monomial of a later stage (:func:`csqbound.sgd.plateaus.check_stage_order`).

    Parameters
    ----------
    run
        A :class:`~csqbound.sgd.train.Run` from :func:`csqbound.train`.
    stages
        The claimed stages, in order: each a monomial (name such as ``"x1*x2"``
        or :class:`~csqbound.monomial.Monomial`) or a sequence of them (e.g.
        ``csqbound.leap(f).stages``). Default: ``run.predicted_stages``, the
        leap's witness cut at jumps ``>= 2``.
    require_complete
        Also require every monomial of the stages to have been learned (by more
        than half the replicas); otherwise a run that learned nothing passes.

    Returns
    -------
    StageOrderCheck
        The check, when the claim holds.

    Raises
    ------
    AssertionError
        When the order is violated (or, with ``require_complete``, a monomial
        was not learned); the message shows the learning times per monomial
        (median and per replica) and every violating pair.
    ParameterError
        When a stage names a monomial the run did not track, or the run has no
        predicted stages and none are given.

    Examples
    --------
    >>> import csqbound
    >>> run = csqbound.train("x1 + x1*x2*x3", d=12, replicas=4, samples=20_000, seed=0)
    >>> assert_learns_in_order(run).respected
    True
    >>> assert_learns_in_order(run, [["x1*x2*x3"], ["x1"]])
    Traceback (most recent call last):
    ...
    AssertionError: run on x1 + x1*x2*x3 (boolean, d=12, 4 replicas) did not learn in the ...
    ...
    violations (a monomial of an earlier stage learned more than x1.155 later than ...):
      x1*x2*x3 (stage 1) at ... after x1 (stage 2) at ...
    """
    from csqbound.sgd.plateaus import check_stage_order

    if stages is None:
        if not run.predicted_stages:
            msg = "the run has no predicted stages (its leap could not be computed): pass stages="
            raise ParameterError(msg)
        names = tuple(tuple(s) for s in run.predicted_stages)
    else:
        names = _stage_names(run, stages)
    times = run.median_learning_times()
    check = check_stage_order(times, names, resolution=run.grid_ratio)
    if check.respected and (check.complete or not require_complete):
        return check
    raise AssertionError(_order_message(run, names, times, check, require_complete))


def _order_message(
    run: Run,
    names: tuple[tuple[str, ...], ...],
    times: Mapping[str, float | None],
    check: StageOrderCheck,
    require_complete: bool,
) -> str:
    """The message of a failed :func:`assert_learns_in_order`: times, violations, missing."""
    settings = run.settings
    head = (
        f"run on {run.target} ({run.domain}, d={settings.get('d')}, {run.replicas} replicas) "
        f"did not learn in the stage order {_stages_line(names)}"
    )
    rows = []
    for j, stage in enumerate(names):
        for m in stage:
            per = run.learning_times.get(m, ())
            rows.append(
                (
                    j + 1,
                    m,
                    "never" if times.get(m) is None else times[m],
                    ", ".join("-" if t is None else str(t) for t in per),
                )
            )
    lines = [
        head,
        "learning times (samples until the coefficient reaches half the target's):",
        _table(("stage", "monomial", "median", "per replica"), rows),
    ]
    if check.violations:
        lines.append(
            f"violations (a monomial of an earlier stage learned more than x{run.grid_ratio:.4g} "
            "later than one of a later stage):"
        )
        for v in check.violations:
            when = "never" if v.earlier_time is None else f"at {v.earlier_time}"
            lines.append(
                f"  {v.earlier} (stage {v.earlier_stage + 1}) {when} after {v.later} "
                f"(stage {v.later_stage + 1}) at {v.later_time}"
            )
    missing = [m for stage in names for m in stage if times.get(m) is None]
    if missing and require_complete:
        lines.append(
            "not learned by more than half the replicas: "
            + ", ".join(missing)
            + f" (status: {', '.join(run.status)}; budget {settings.get('samples')} samples)"
        )
    return "\n".join(lines)
