"""Summaries: the JSON-ready records behind ``csqbound expand`` and ``csqbound leap``.

Each function computes once and returns plain data (dicts of strings, ints and
lists) that :mod:`csqbound.report.tables` renders as a table, markdown, LaTeX or
JSON. Monomials print like ``x1*x2`` or ``He2(x1)*x3``; exact coefficients print
as exact strings (``-1/2``, ``sqrt(2)/2``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from csqbound import limits
from csqbound.analysis import Analysis, analyze
from csqbound.csq import MAX_RUN_DEPTH, MAX_RUN_STATES, WORKING_DIGITS, CSQBound
from csqbound.expansion import Expansion, format_coefficient
from csqbound.leaps import LeapResult
from csqbound.monomial import Monomial
from csqbound.prediction import Prediction
from csqbound.queries import QUERY_LEAPS
from csqbound.report.tables import Math, Table, expression_latex, monomial_latex
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
    return {"expression": str(target), **expansion.to_dict()}


def expansion_table(summary: dict[str, Any]) -> Table:
    """The support as a table (monomial, coefficient, degree, share of ``||f||^2``)."""
    rows = tuple(
        (
            monomial_latex(monomial_from_text(r["monomial"])),
            _exact_cell(r["coefficient"]),
            r["degree"],
            _exact_cell(r["weight"]),
        )
        for r in summary["support"]
    )
    how = "exact" if summary["exact"] else f"numeric, tol={summary['tol']:.3g}"
    tail = f" ({summary['domain']}, {how})"
    if summary["truncation"] is not None:
        tail += (
            f"; truncation error {summary['truncation']:.3g} beyond degree {summary['max_degree']}"
        )
    title = Math.join("Expansion of ", expression_latex(summary["expression"]), tail)
    return Table(("monomial", "coefficient", "degree", "weight"), rows, title=title)


def _exact_cell(value: Any) -> Any:
    """An exact number printed as text (``sqrt(2)/2``) as LaTeX math; other values as they are."""
    if isinstance(value, str) and not value.lstrip("-").replace("/", "").isdigit():
        cell = expression_latex(value)
        return Math(cell.latex, cell.text, numeric=True)
    return value


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


def leap_summary(target: Target | Analysis, losses: Sequence[str] | None = None) -> dict[str, Any]:
    """Everything ``csqbound leap`` reports, as a JSON-ready dict.

    Keys: ``expression``, ``domain``, ``variables``, ``support``, ``leap``,
    ``msp``, ``order``, ``jumps``, ``stages``, ``cover``, plus the expansion's
    exactness; on gaussian targets ``iso_leap`` and ``information_exponent``;
    then every registered query leap of the domain
    (:data:`csqbound.queries.QUERY_LEAPS`: ``csq_leap`` and ``sq_leap`` on boolean
    targets); on gaussian single-index targets ``generative_exponent``, on boolean
    targets ``dlq_leap`` and ``dlq_cover`` (``{loss: value}`` for ``losses``, default all
    of :data:`csqbound.dlq.LOSS_NAMES`). A leap that cannot be computed is ``None``, with
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
    record = result.to_dict()
    del record["domain"]  # the expansion's, already in the summary
    summary.update(record)
    summary["cover"] = a.cover
    summary.update(_other_leaps(a, losses))
    return summary


def _other_leaps(a: Analysis, losses: Sequence[str] | None = None) -> dict[str, Any]:
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
    extra.update(_loss_and_generative(a, losses))
    return extra


def _loss_and_generative(a: Analysis, losses: Sequence[str] | None = None) -> dict[str, Any]:
    """The DLQ leaps (boolean) or the generative exponent (gaussian), with notes.

    A value csqbound cannot compute for this input is ``None`` with
    ``"<name>_note": "not computable: <why>"``.
    """
    from csqbound.errors import ExpansionError, NotComputableError

    extra: dict[str, Any] = {}

    def attempt(name: str, compute: Any) -> Any:
        try:
            return compute()
        except (NotComputableError, ExpansionError) as exc:
            extra[name] = None
            extra[f"{name}_note"] = f"not computable: {getattr(exc, 'reason', None) or exc}"
            return None

    if a.target.domain == "gaussian":
        extra.update(_generative(a.target, a.iso_leap, attempt))
    else:
        from csqbound.dlq import dlq_leaps

        dlq = attempt("dlq_leap", lambda: dlq_leaps(a.target, losses))
        if dlq is not None:
            extra.update(dlq)
    return extra


def _generative(target: Target, iso: Any, attempt: Any) -> dict[str, Any]:
    """``generative_exponent`` of a single-index gaussian target (``None`` if not single-index)."""
    if iso is None or not iso.single_index:
        return {"generative_exponent": None}
    from csqbound.generative import generative_from_iso

    result = attempt("generative_exponent", lambda: generative_from_iso(target, iso))
    if result is None:
        return {}
    out: dict[str, Any] = {"generative_exponent": result.generative_exponent}
    out["generative_exact"] = result.exact
    if not result.exact:
        out["generative_tol"] = result.tol
    return out


def leap_tables(summary: dict[str, Any]) -> list[Table]:
    """The summary (one row of leaps) and the witness (one row per step) as tables."""
    names = ("leap", "msp", "cover", "iso_leap", "information_exponent", "generative_exponent")
    keys = [k for k in (*names, *QUERY_LEAPS, "dlq_leap", "dlq_cover") if k in summary]
    from csqbound.dlq import format_dlq

    def cell(k: str) -> Any:
        return format_dlq(summary[k]) if k in ("dlq_leap", "dlq_cover") else summary[k]

    expression = expression_latex(summary["expression"])
    head = Table(
        ("target", "domain", *keys),
        ((expression, summary["domain"], *(cell(k) for k in keys)),),
        title=Math.join("Leap of ", expression),
    )
    stage_of = {m: i + 1 for i, stage in enumerate(summary["stages"]) for m in stage}
    rows: list[tuple[Any, ...]] = []
    for step, (m, jump) in enumerate(zip(summary["order"], summary["jumps"], strict=True), 1):
        mono: Math = monomial_latex(monomial_from_text(m))
        rows.append((step, mono, jump, stage_of[m]))
    notes = tuple((k.removesuffix("_note"), summary[k]) for k in keys_with_notes(summary))
    witness = Table(
        ("step", "monomial", "jump", "stage"),
        tuple(rows),
        title="Greedy witness order",
        notes=notes,
        notes_title="Not computed",
        notes_columns=("leap", "note"),
    )
    return [head, witness]


def keys_with_notes(summary: dict[str, Any]) -> list[str]:
    """The ``<name>_note`` keys of a leap summary (leaps that could not be computed)."""
    return sorted(k for k in summary if k.endswith("_note"))


def csq_tables(data: dict[str, Any]) -> list[Table]:
    """The CSQ bound (one summary row, one row per witness step) as tables, notes under them."""
    head = Table(
        (
            "target",
            Math("$d$", "d"),
            Math(r"$\tau$", "tau"),
            "exponent",
            "bound",
            Math(r"$\log_{10}$ bound", "log10 bound"),
            "SGD samples exp.",
            "SGD time exp.",
        ),
        (
            (
                expression_latex(data["expression"]),
                data["d"],
                data["tau"],
                data["exponent"],
                data["bound"] + (" (< 1 query)" if data.get("below_one_query") else ""),
                None if data["log10_bound"] is None else round(float(data["log10_bound"]), 3),
                data["predicted_sgd_samples_exponent"],
                data["predicted_sgd_time_exponent"],
            ),
        ),
        title=f"CSQ lower bound ({data.get('class', '')})",
        compact=(
            "target", "d", "tau", "exponent", "log10 bound", "SGD samples exp.", "SGD time exp.",
        ),
    )  # fmt: skip
    rows = tuple(
        (
            _covered_cell(st["covered"]),
            st["jump"],
            st["m"],
            st["r_norm2"],
            st["gamma"],
            st["queries"],
            round(float(st["log10_queries"]), 3) if st.get("log10_queries") is not None else None,
        )
        for st in data["stages"]
    )
    notes = list(data.get("notes") or [])
    ref = data.get("rotation_reference")
    if ref:
        notes.append(f"{ref['label']}: exponent {ref['exponent']}")
        if ref.get("sq_exponent") is not None:
            notes.append(f"{ref['sq_label']}: exponent {ref['sq_exponent']}")
    stages = Table(
        (
            Math("covered $U$", "covered U"),
            "jump",
            "m",
            Math(r"$\|r\|^2$", "|r|^2"),
            Math(r"$\Gamma_U$", "Gamma_U"),
            "queries",
            Math(r"$\log_{10} q$", "log10 q"),
        ),
        rows,
        title=Math(
            r"Per stage: $q \ge (1/2 - 4\Gamma_U)\,\tau^2 / (\|r\|^2\,\Gamma_U)$",
            "Per stage: q >= (1/2 - 4 Gamma_U) tau^2 / (|r|^2 Gamma_U)",
        ),
        notes=tuple(notes),
    )
    return [head, stages]


def _covered_cell(covered: Any) -> Math:
    """A covered set of coordinates: ``{1, 2}`` in text, ``$\\{1, 2\\}$`` (or the empty set)."""
    items = ", ".join(str(c) for c in covered)
    latex = r"$\emptyset$" if not items else r"$\{" + items + r"\}$"
    return Math(latex, "{" + items + "}")


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
    if bound.below_one_query:
        notes.append(
            f"The bound is below one query (log10 bound {bound.log10_bound:.3g} < 0), so at "
            f"d={bound.d} and tau={_show_tau(bound)} it constrains no learner; it grows as "
            f"d^{bound.exponent}, so a larger d or a smaller tau makes it bite."
        )
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


def _show_tau(bound: CSQBound) -> str:
    tau = bound.tau
    return str(tau.numerator) if tau.denominator == 1 else f"{tau.numerator}/{tau.denominator}"


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
    domain), then every registered query leap (``None`` off its domains), the DLQ leaps
    and covers (boolean) and the generative exponent (gaussian single-index).
    """
    iso = a.iso_leap
    more = _loss_and_generative(a)
    return {
        "leap": a.leap.leap,
        "iso_leap": None if iso is None else iso.iso_leap,
        "information_exponent": None if iso is None else iso.information_exponent,
        **a.query_leaps,
        "dlq_leap": more.get("dlq_leap"),
        "dlq_cover": more.get("dlq_cover"),
        "generative_exponent": more.get("generative_exponent"),
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
    >>> other_leaps({"domain": "boolean", "csq_leap": 3, "sq_leap": 2, "dlq_leap": {"absolute": 2}})
    'CSQ 3, SQ 2, DLQ absolute 2'
    >>> other_leaps({"domain": "gaussian", "iso_leap": 3, "information_exponent": 3,
    ...              "generative_exponent": 1})
    'iso 3, IE 3, GE 1'
    """
    if record["domain"] == "gaussian":
        text = f"iso {record['iso_leap']}, IE {record['information_exponent']}"
        if record.get("generative_exponent") is not None:
            text += f", GE {record['generative_exponent']}"
        return text
    text = ", ".join(
        f"{q.label} {record.get(name)}"
        for name, q in QUERY_LEAPS.items()
        if record["domain"] in q.domains
    )
    dlq = {k: v for k, v in (record.get("dlq_leap") or {}).items() if k != "squared"}
    if len(dlq) > 1 and len(set(dlq.values())) == 1:
        text += f", DLQ {next(iter(dlq.values()))}"  # every non-squared loss alike
    elif dlq:
        from csqbound.dlq import format_dlq

        text += ", DLQ " + format_dlq(dlq)
    return text


def theory_cells(record: dict[str, Any]) -> tuple[Any, ...]:
    """The cells every theory row starts with: name, expression, domain, leap, other leaps.

    Shared by the zoo table and the report's theory table, so both print a target alike.

    Examples
    --------
    >>> theory_cells({"name": "staircase", "expression": "x1", "domain": "boolean",
    ...               "leap": 1, "csq_leap": 1, "sq_leap": 1})[2:]
    ('boolean', 1, 'CSQ 1, SQ 1')
    """
    return (
        record["name"],
        expression_latex(record["expression"]),
        record["domain"],
        record["leap"],
        other_leaps(record),
    )


def zoo_table(records: list[dict[str, Any]]) -> Table:
    """The catalog as one table (the booktabs table of ``csqbound zoo --format latex``)."""

    rows = tuple(
        (*theory_cells(r), r["csq_exponent"], r["sgd_samples_exponent"], r["source"])
        for r in records
    )
    columns = ("name", "expression", "domain", "leap", "other leaps", "CSQ exp.", "SGD exp.")
    return Table(
        (*columns, "source"),
        rows,
        title="Catalog of targets: leaps, CSQ exponent and predicted SGD sample exponent",
        compact=columns,
    )


def _blank_median_note(run: Any) -> tuple[str, ...]:
    """Why ``median samples to learn`` is blank, when it is."""
    if run.median_samples_to_learn() is not None:
        return ()
    if run.settings.get("stop_loss") is None:
        return (
            "median samples to learn is blank: with --stop-loss none no replica is ever "
            "declared learned (each trains to the whole budget); the learning times of the "
            "monomials below still show when each was learned.",
        )
    return (
        "median samples to learn is blank: at most half of the replicas reached the stop "
        "loss within the budget (see status; a larger --samples lets them finish).",
    )


def train_tables(run: Any) -> list[Table]:
    """A training run as tables: outcome per run, then one row per tracked monomial."""
    status = dict.fromkeys(run.status, 0)
    for s in run.status:
        status[s] += 1
    check = run.stage_order_check()
    head = Table(
        (
            "target",
            "d",
            "loss",
            "replicas",
            "status",
            "median samples to learn",
            "wall time (s)",
            "eval share",
            "stage order",
        ),
        (
            (
                expression_latex(run.settings["target"]),
                run.settings["d"],
                run.settings.get("loss") or "squared",
                len(run.status),
                ", ".join(f"{k}: {v}" for k, v in status.items()),
                run.median_samples_to_learn(),
                round(run.wall_time, 3),
                f"{run.eval_time / run.wall_time:.0%}" if run.wall_time > 0 else None,
                "respected" if check.respected else f"violated: {len(check.violations)}",
            ),
        ),
        title="Online SGD run (samples per replica)",
        notes=_blank_median_note(run),
        compact=(
            "target", "d", "replicas", "status", "median samples to learn", "stage order",
        ),
    )  # fmt: skip
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
