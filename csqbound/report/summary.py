"""Summaries: the JSON-ready records behind ``csqbound expand`` and ``csqbound leap``.

Each function computes once and returns plain data (dicts of strings, ints and
lists) that :mod:`csqbound.report.tables` renders as a table, markdown, LaTeX or
JSON. Monomials print like ``x1*x2`` or ``He2(x1)*x3``; exact coefficients print
as exact strings (``-1/2``, ``sqrt(2)/2``).
"""

from __future__ import annotations

import math
from typing import Any

from csqbound import limits
from csqbound.analysis import Analysis, analyze
from csqbound.csq import MAX_RUN_DEPTH, MAX_RUN_STATES, WORKING_DIGITS, CSQBound
from csqbound.expansion import Expansion, format_coefficient
from csqbound.leaps import LeapResult
from csqbound.monomial import Monomial
from csqbound.prediction import Prediction
from csqbound.queries import QUERY_LEAPS
from csqbound.report.tables import Math, Table, monomial_latex
from csqbound.target import Target

__all__ = [
    "csq_notes",
    "csq_record",
    "csq_tables",
    "expansion_summary",
    "expansion_table",
    "leap_summary",
    "leap_columns",
    "leap_tables",
    "monomial_from_text",
    "other_leaps",
    "train_tables",
    "verify_tables",
    "zoo_records",
    "zoo_table",
]


def _number(value: Any, exact: bool) -> str | float:
    return format_coefficient(value) if exact else float(value)


def expansion_summary(target: Target, expansion: Expansion) -> dict[str, Any]:
    """The expansion of ``target`` as a JSON-ready dict.

    Examples
    --------
    >>> t = Target.from_text("x1 + x1*x2*x3**2")        # x3**2 = 1 on the boolean cube
    >>> from csqbound.expansion import expand
    >>> s = expansion_summary(t, expand(t))
    >>> [(r["monomial"], r["coefficient"]) for r in s["support"]]
    [('x1', '1'), ('x1*x2', '1')]
    """
    support = [
        {
            "monomial": str(m),
            "coefficient": _number(expansion.coefficients[m], expansion.exact),
            "degree": m.degree,
            "weight": _number(expansion.weight(m), expansion.exact),
        }
        for m in expansion.support
    ]
    return {
        "expression": str(target),
        "domain": expansion.domain,
        "variables": expansion.variables,
        "exact": expansion.exact,
        "method": expansion.method,
        "tol": expansion.tol,
        "coefficient_error": expansion.error,
        "truncation": expansion.truncation,
        "max_degree": expansion.max_degree,
        "norm2": _number(expansion.norm2, expansion.exact),
        "support": support,
    }


def expansion_table(summary: dict[str, Any]) -> Table:
    """The support as a table (monomial, coefficient, degree, share of ``||f||^2``)."""
    rows = tuple(
        (
            monomial_latex(monomial_from_text(r["monomial"])),
            r["coefficient"],
            r["degree"],
            r["weight"],
        )
        for r in summary["support"]
    )
    how = "exact" if summary["exact"] else f"numeric, tol={summary['tol']:.3g}"
    title = f"Expansion of {summary['expression']} ({summary['domain']}, {how})"
    if summary["truncation"] is not None:
        title += (
            f"; truncation error {summary['truncation']:.3g} beyond degree {summary['max_degree']}"
        )
    return Table(("monomial", "coefficient", "degree", "weight"), rows, title=title)


def monomial_from_text(text: str) -> Monomial:
    """Inverse of ``str(Monomial)`` for the strings this module itself produced.

    Examples
    --------
    >>> monomial_from_text("He2(x1)*x3")
    Monomial(He2(x1)*x3)
    """
    if text == "1":
        return Monomial(())
    powers: dict[int, int] = {}
    for factor in text.split("*"):
        if factor.startswith("He"):
            k, rest = factor[2:].split("(x", 1)
            powers[int(rest.rstrip(")"))] = int(k)
        else:
            powers[int(factor[1:])] = 1
    return Monomial.from_mapping(powers)


def _analysis(target: Target | Analysis) -> Analysis:
    return target if isinstance(target, Analysis) else Analysis(target)


def leap_summary(target: Target | Analysis) -> dict[str, Any]:
    """Everything ``csqbound leap`` reports, as a JSON-ready dict.

    Keys: ``expression``, ``domain``, ``variables``, ``support``, ``leap``,
    ``msp``, ``order``, ``jumps``, ``stages``, ``cover``, plus the expansion's
    exactness; on gaussian targets ``iso_leap`` and ``information_exponent``;
    then every registered query leap of the domain
    (:data:`csqbound.queries.QUERY_LEAPS`: ``csq_leap`` and ``sq_leap`` on boolean
    targets). A leap that cannot be computed is ``None``, with
    ``"<name>_note": "not computable: <why>"``.

    See Also
    --------
    csqbound.analysis.analyze : the record this renders.

    Examples
    --------
    >>> s = leap_summary(Target.from_text("x1 + x1*x2*x3"))
    >>> s["leap"], s["order"], s["jumps"], s["stages"]
    (2, ['x1', 'x1*x2*x3'], [1, 2], [['x1'], ['x1*x2*x3']])
    """
    a = _analysis(target)
    result: LeapResult = a.leap
    summary = expansion_summary(a.target, a.expansion)
    summary.update(
        {
            "leap": result.leap,
            "msp": result.msp,
            "order": [str(m) for m in result.order],
            "jumps": list(result.jumps),
            "stages": [[str(m) for m in stage] for stage in result.stages],
            "cover": a.cover,
            "first_cover": {f"x{c}": str(m) for c, m in sorted(result.first_cover.items())},
        }
    )
    summary.update(_other_leaps(a))
    return summary


def _other_leaps(a: Analysis) -> dict[str, Any]:
    """``iso_leap`` (gaussian) and the registered query leaps of the domain, with notes."""
    extra: dict[str, Any] = {}
    why = a.not_computable
    if a.target.domain == "gaussian":
        iso = a.iso_leap
        if iso is not None:
            extra["iso_leap"] = iso.iso_leap
            extra["information_exponent"] = iso.information_exponent
            extra["iso_jumps"] = list(iso.jumps)
            extra["iso_exact"] = iso.exact
        else:
            extra["iso_leap"] = None
            extra["iso_leap_note"] = f"not computable: {why['iso_leap']}"
            extra["information_exponent"] = None
    for name, query in QUERY_LEAPS.items():
        if a.target.domain in query.domains:
            extra[name] = a.query_leaps[name]
            if name in why:
                extra[f"{name}_note"] = f"not computable: {why[name]}"
    return extra


def leap_tables(summary: dict[str, Any]) -> list[Table]:
    """The summary (one row of leaps) and the witness (one row per step) as tables."""
    names = ("leap", "msp", "cover", "iso_leap", "information_exponent", *QUERY_LEAPS)
    keys = [k for k in names if k in summary]
    head = Table(
        ("target", "domain", *keys),
        ((summary["expression"], summary["domain"], *(summary[k] for k in keys)),),
        title=f"Leap of {summary['expression']}",
    )
    stage_of = {m: i + 1 for i, stage in enumerate(summary["stages"]) for m in stage}
    rows: list[tuple[Any, ...]] = []
    for step, (m, jump) in enumerate(zip(summary["order"], summary["jumps"], strict=True), 1):
        mono: Math = monomial_latex(monomial_from_text(m))
        rows.append((step, mono, jump, stage_of[m]))
    witness = Table(
        ("step", "monomial", "jump", "stage"), tuple(rows), title="Greedy witness order"
    )
    notes = tuple((k.removesuffix("_note"), summary[k]) for k in keys_with_notes(summary))
    if notes:
        return [head, witness, Table(("leap", "note"), notes, title="Not computed")]
    return [head, witness]


def keys_with_notes(summary: dict[str, Any]) -> list[str]:
    """The ``<name>_note`` keys of a leap summary (leaps that could not be computed)."""
    return sorted(k for k in summary if k.endswith("_note"))


def csq_tables(data: dict[str, Any]) -> list[Table]:
    """The CSQ bound (one summary row, one row per witness step) as tables."""
    head = Table(
        (
            "target",
            "d",
            "tau",
            "exponent",
            "bound",
            "log10 bound",
            "SGD samples exp.",
            "SGD time exp.",
        ),
        (
            (
                data["expression"],
                data["d"],
                data["tau"],
                data["exponent"],
                data["bound"],
                None if data["log10_bound"] is None else round(float(data["log10_bound"]), 3),
                data["predicted_sgd_samples_exponent"],
                data["predicted_sgd_time_exponent"],
            ),
        ),
        title=f"CSQ lower bound ({data.get('class', '')})",
    )
    rows = tuple(
        (
            "{" + ", ".join(str(c) for c in st["covered"]) + "}",
            st["jump"],
            st["m"],
            st["r_norm2"],
            st["gamma"],
            st["queries"],
            round(float(st["log10_queries"]), 3) if st.get("log10_queries") is not None else None,
        )
        for st in data["stages"]
    )
    stages = Table(
        ("covered U", "jump", "m", "|r|^2", "Gamma_U", "queries", "log10 q"),
        rows,
        title="Per stage: q >= (1/2 - 4 Gamma_U) tau^2 / (|r|^2 Gamma_U)",
    )
    tables = [head, stages]
    notes = list(data.get("notes") or [])
    ref = data.get("rotation_reference")
    if ref:
        notes.append(f"{ref['label']}: exponent {ref['exponent']}")
    if notes:
        tables.append(Table(("note",), tuple((n,) for n in notes)))
    return tables


def csq_notes(a: Analysis) -> list[str]:
    """The sentences that explain a CSQ bound: ties, prediction, exponents, vacuity, precision.

    Examples
    --------
    >>> from csqbound.analysis import analyze
    >>> csq_notes(analyze("x1*x2", d=4, tau="0.1"))[-1][:40]
    'At d=4 the stage bound is vacuous (1/2 -'
    """
    bound = a.csq
    notes: list[str] = []
    if bound.lexicographic:
        notes.append(
            f"The greedy has too many tied runs to explore (over {MAX_RUN_STATES} covered "
            f"sets, {MAX_RUN_DEPTH} steps or {limits.MAX_CSQ_WORK:,} monomials visited, "
            "MAX_CSQ_WORK in csqbound.limits): the stages follow the lexicographic run, so "
            "the bound may depend on how the coordinates are labelled."
        )
    prediction = a.prediction
    if prediction is None:
        notes.append(f"No SGD prediction: {a.prediction_error}.")
    if bound.rotation_error is not None:
        notes.append(f"iso_leap unavailable ({bound.rotation_error}); no rotation-class reference.")
    if prediction is not None:
        notes.extend(_explain(bound, prediction))
    notes.extend(_caveats(bound))
    return notes


def _explain(bound: CSQBound, prediction: Prediction) -> list[str]:
    """Sentences on how the CSQ exponent relates to the predicted SGD exponents."""
    exponent, leap_value = bound.exponent, prediction.leap
    samples, time = prediction.samples_label, prediction.time_label
    if bound.domain == "gaussian" and exponent < leap_value:
        return [
            f"The CSQ exponent on the hidden-coordinates class is {exponent}, below the "
            f"degree-weighted iso_leap {leap_value} that predicts online SGD ({samples} samples): "
            "on this class a learner only has to find which coordinates carry the signal, which "
            f"costs about d^{exponent} queries whatever the Hermite degree, while SGD from an "
            "isotropic initialisation does not know the relevant directions are coordinates and "
            "pays the degree (information exponent) of each new direction."
        ]
    if exponent >= 2 and exponent == leap_value:
        return [
            f"The CSQ bound grows as d^{exponent} queries while online SGD is predicted to need "
            f"{samples} samples and {time} time: each SGD step uses one fresh sample but "
            "evaluates about d gradient coordinates, i.e. about d correlational queries, so the "
            "query count matches SGD's time, and samples sit one power of d below it."
        ]
    return []


def _caveats(bound: CSQBound) -> list[str]:
    """Sentences on vacuous stages, inexact arithmetic and truncated expansions."""
    notes: list[str] = []
    vacuous = [s for s in bound.stages if s.vacuous]
    if vacuous:
        which = ", ".join("{" + ", ".join(map(str, sorted(s.covered))) + "}" for s in vacuous)
        notes.append(
            f"At d={bound.d} the stage bound is vacuous (1/2 - 4 Gamma_U <= 0, reported as 0) "
            f"for U = {which}: the class is too small there for the argument; it applies at "
            "larger d."
        )
    if not bound.exact:
        notes.append(
            "||r||^2 is not an exact rational (irrational or numeric coefficients): the bound is "
            f"computed with {WORKING_DIGITS} significant digits."
        )
    if bound.max_degree is not None and bound.truncation is not None:
        notes.append(
            f"The target is not a polynomial: its Hermite expansion was truncated at degree "
            f"{bound.max_degree} (mass beyond it about {bound.truncation:.3g}). The "
            "numbers are the CSQ bound for that truncation; for the target itself the sum "
            "Gamma_U runs over infinitely many monomials and this stage-wise bound does not apply "
            "as stated."
        )
    return notes


def csq_record(a: Analysis) -> dict[str, Any]:
    """What ``csqbound csq`` prints: the bound, the predicted SGD exponents and the notes.

    Examples
    --------
    >>> from csqbound.analysis import analyze
    >>> r = csq_record(analyze("x1*x2*x3", d=64))
    >>> r["exponent"], r["predicted_sgd_samples_exponent"], r["predicted_sgd_time_exponent"]
    (3, 2, 3)
    """
    data = a.csq.to_dict()
    prediction = a.prediction
    reference = data.pop("rotation_reference")
    data["predicted_sgd_samples_exponent"] = (
        None if prediction is None else prediction.samples_exponent
    )
    data["predicted_sgd_time_exponent"] = None if prediction is None else prediction.time_exponent
    data["rotation_reference"] = reference
    data["notes"] = csq_notes(a)
    return {"expression": str(a.target), **data}


def leap_columns(a: Analysis) -> dict[str, Any]:
    """The leaps of one row of the zoo and of the report's theory table.

    ``leap``, ``iso_leap`` and ``information_exponent`` (``None`` off the gaussian
    domain), then every registered query leap (``None`` off its domains).
    """
    iso = a.iso_leap
    return {
        "leap": a.leap.leap,
        "iso_leap": None if iso is None else iso.iso_leap,
        "information_exponent": None if iso is None else iso.information_exponent,
        **a.query_leaps,
    }


def zoo_records(d: int = 64) -> list[dict[str, Any]]:
    """Every catalog entry with its leaps, CSQ exponent and predicted SGD exponent.

    Examples
    --------
    >>> rec = {r["name"]: r for r in zoo_records()}
    >>> p3 = rec["parity3"]
    >>> p3["leap"], p3["csq_exponent"], p3["sgd_samples_exponent"]
    (3, 3, 2)
    """
    from csqbound.catalog import CATALOG

    records = []
    for entry in CATALOG:
        target = Target.from_text(entry.expression, entry.domain)
        a = analyze(target, d=max(d, target.variables), tau="0.01")
        prediction = a.prediction
        records.append(
            {
                "name": entry.name,
                "expression": entry.expression,
                "domain": entry.domain,
                **leap_columns(a),
                "csq_exponent": a.csq.exponent,
                "sgd_samples_exponent": None if prediction is None else prediction.samples_exponent,
                "sgd_time_exponent": None if prediction is None else prediction.time_exponent,
                "exact": a.expansion.exact,
                "description": entry.description,
                "source": entry.source,
            }
        )
    return records


def other_leaps(record: dict[str, Any]) -> str:
    """The leaps beside the coordinate leap, as a short cell: iso_leap and information
    exponent on gaussian targets, CSQ and SQ leaps on boolean ones.

    Examples
    --------
    >>> other_leaps({"domain": "boolean", "csq_leap": 3, "sq_leap": 2})
    'CSQ 3, SQ 2'
    """
    if record["domain"] == "gaussian":
        return f"iso {record['iso_leap']}, IE {record['information_exponent']}"
    return ", ".join(
        f"{q.label} {record.get(name)}"
        for name, q in QUERY_LEAPS.items()
        if record["domain"] in q.domains
    )


def zoo_table(records: list[dict[str, Any]]) -> Table:
    """The catalog as one table (the booktabs table of ``csqbound zoo --format latex``)."""

    rows = tuple(
        (
            r["name"],
            r["expression"],
            r["domain"],
            r["leap"],
            other_leaps(r),
            r["csq_exponent"],
            r["sgd_samples_exponent"],
            r["source"],
        )
        for r in records
    )
    return Table(
        ("name", "expression", "domain", "leap", "other leaps", "CSQ exp.", "SGD exp.", "source"),
        rows,
        title="Catalog of targets: leaps, CSQ exponent and predicted SGD sample exponent",
    )


def train_tables(run: Any) -> list[Table]:
    """A training run as tables: outcome per run, then one row per tracked monomial."""
    import statistics

    status = dict.fromkeys(run.status, 0)
    for s in run.status:
        status[s] += 1
    learned = [n for n in run.samples_to_learn if n is not None]
    check = run.stage_order_check()
    head = Table(
        (
            "target",
            "d",
            "replicas",
            "status",
            "median samples to learn",
            "wall time (s)",
            "eval share",
            "stage order",
        ),
        (
            (
                run.settings["target"],
                run.settings["d"],
                len(run.status),
                ", ".join(f"{k}: {v}" for k, v in status.items()),
                int(statistics.median(learned)) if len(learned) * 2 > len(run.status) else None,
                round(run.wall_time, 3),
                f"{run.eval_time / run.wall_time:.0%}" if run.wall_time > 0 else None,
                "respected" if check.respected else f"violated: {len(check.violations)}",
            ),
        ),
        title="Online SGD run (samples per replica)",
    )
    stage_of = {m: i + 1 for i, stage in enumerate(run.predicted_stages) for m in stage}
    medians = run.median_learning_times()
    rows = []
    for mono, per_replica in run.learning_times.items():
        reached = sum(t is not None for t in per_replica)
        rows.append(
            (
                monomial_latex(monomial_from_text(mono)),
                stage_of.get(mono),
                medians.get(mono),
                f"{reached}/{len(per_replica)}",
                _number(run.target_coefficients[mono], False),
            )
        )
    times = Table(
        ("monomial", "predicted stage", "median learning time", "learned", "target coef."),
        tuple(rows),
        title="Learning times: first sample count with coefficient >= half the target's",
    )
    return [head, times]


def verify_tables(result: Any) -> list[Table]:
    """A :class:`~csqbound.experiments.verify.Verification` as tables: verdict, per d, stages."""
    v = result.verdict
    ci = "-" if v.ci is None else f"[{v.ci[0]:.2f}, {v.ci[1]:.2f}]"
    rng = "-" if v.d_range_fit is None else f"{v.d_range_fit[0]}..{v.d_range_fit[1]}"
    head = Table(
        ("target", "predicted exponent", "fitted slope", "95% CI", "fit d range", "verdict"),
        (
            (
                result.target,
                f"{v.predicted_exponent:g}" + (" (n / log d)" if v.divided_by_log else ""),
                "-" if v.slope is None else f"{v.slope:.2f}",
                ci,
                rng,
                v.verdict,
            ),
        ),
        title=f"{v.label} vs d: {v.reason}",
    )
    slopes = {s.d_hi: s for s in v.local_slopes}
    rows = []
    for d in v.ds:
        pts = v.samples_to_learn.get(d, ())
        local = slopes.get(d)
        rows.append(
            (
                d,
                v.d_status.get(d),
                len([p for p in pts if p is not None]),
                v.censored.get(d, 0),
                v.excluded.get(d, 0),
                None if not math.isfinite(v.medians.get(d, math.nan)) else int(v.medians[d]),
                None if local is None else f"{local.slope:.2f}",
            )
        )
    per_d = Table(
        ("d", "status", "learned", "censored", "excluded", "median samples", "local slope"),
        tuple(rows),
        title="Per d (every replica is one point; censored = budget exhausted, never averaged in)",
    )
    tables = [head, per_d]
    if result.stages:
        stage_rows = tuple(
            (
                f.stage + 1,
                ", ".join(f.monomials),
                f.jump,
                f.scale,
                "-" if f.fit.slope is None else f"{f.fit.slope:.2f}",
                "-" if f.fit.ci is None else f"[{f.fit.ci[0]:.2f}, {f.fit.ci[1]:.2f}]",
                f.fit.verdict,
            )
            for f in result.stages
        )
        tables.append(
            Table(
                ("stage", "monomials", "jump", "predicted scale", "fitted", "95% CI", "verdict"),
                stage_rows,
                title="Stage durations against their predicted scale",
            )
        )
    if v.notes:
        tables.append(Table(("note",), tuple((n,) for n in v.notes)))
    return tables
