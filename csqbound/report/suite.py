"""Report suites: the TOML file ``csqbound report`` reads, validated into plain data.

A suite names targets and the settings of the verification sweep::

    [report]
    title = "..."
    d = [16, 32, 64]        # dimensions, or "auto" (AUTO_D by the predicted exponent)
    seeds = 4               # independent runs per (target, d)
    tau = "0.01"            # CSQ query tolerance (read exactly)
    csq_d = 64              # dimension of the CSQ bound (default: the largest d)
    calibration = true      # add the built-in calibration cases (default false)

    [settings]              # keywords of csqbound.train shared by all targets
    replicas = 8
    samples = 400000        # or "auto": BUDGET_FACTOR x the predicted law at each d
    output_step = "mean-field"

    [[target]]
    name = "parity3"        # optional; default: the expression
    expression = "x1*x2*x3" # or: catalog = "parity3"
    domain = "boolean"      # default boolean
    d = [8, 16, 32]         # optional override
    settings = { lr = 0.25 }  # optional override
    exponent = 2            # optional: test d^exponent log^log_power d instead of the leap's
    log_power = 0           #   prediction (the same rule, so a wrong one is rejected)
    known = "d^2: source"   # optional: a calibration case (a proven law and its source)
    expect = "agree"        # the verdict a calibration case must give ("disagree": control)

Every key is checked: an unknown key, a wrong type, ``d < P``, an empty ``d``
list or garbage TOML is one :class:`~csqbound.errors.CsqboundError` naming the
file and the key. ``examples/default_suite.toml`` is the built-in suite.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from csqbound.catalog import catalog_entry
from csqbound.csq import read_tau
from csqbound.errors import CsqboundError, ParameterError
from csqbound.monomial import Domain, check_domain
from csqbound.target import Target

__all__ = [
    "AUTO_D",
    "BUDGET_CAP",
    "BUDGET_FACTOR",
    "SETTINGS_KEYS",
    "Suite",
    "SuiteTarget",
    "auto_ds",
    "calibration_suite_path",
    "calibration_targets",
    "default_suite_path",
    "load_suite",
    "parse_suite",
]

#: Keywords of :func:`csqbound.sgd.train.train` a suite may set, with their types.
SETTINGS_KEYS: dict[str, tuple[type, ...]] = {
    "width": (int,),
    "replicas": (int,),
    "batch": (int,),
    "samples": (int,),
    "lr": (int, float),
    "activation": (str,),
    "backend": (str,),
    "dtype": (str,),
    "stop_loss": (int, float),
    "test_size": (int,),
    "evals_per_decade": (int,),
    "schedule": (str,),
    "output_step": (str, int, float),
    "step_rule": (str,),
    "loss": (str,),
    "huber_delta": (int, float),
}
_REPORT_KEYS = {"title", "d", "seeds", "tau", "csq_d", "calibration"}
_TARGET_KEYS = {
    "name", "expression", "catalog", "domain", "d", "settings", "exponent", "log_power",
    "known", "expect",
}  # fmt: skip
#: ``d = "auto"``: the dimensions of a target by its predicted exponent ``k0``. Leap <= 2
#: (``k0 = 1``) reaches 512 and leap 3 (``k0 = 2``, the 3-parity and ``He3`` alike) 256
#: within the default report's time; each list spans 8x with four values, the least the
#: verdict rule accepts.
AUTO_D: Mapping[int, tuple[int, ...]] = {1: (64, 128, 256, 512), 2: (32, 64, 128, 256)}
#: ... and beyond (``k0 >= 3``).
AUTO_D_HIGH: tuple[int, ...] = (16, 32, 64, 128)
#: ``samples = "auto"``: the budget at ``d`` is this many times the predicted law
#: ``d^k0 log^q0 d``. Measured medians of the stage end at the default protocol were 5
#: to 300 times it (the gaussian staircase ``x1 + x1*x2`` the most); replicas stop as
#: soon as they have learned, so the budget costs only where a replica does not ...
BUDGET_FACTOR = 2000
#: ... capped here (a run of 8 replicas at this budget takes minutes, not hours).
BUDGET_CAP = 8_000_000


@dataclass(frozen=True)
class SuiteTarget:
    """One target of a suite, with its own ``d`` grid and SGD settings.

    ``exponent`` / ``log_power`` are a conjecture to test instead of the leap's
    prediction; ``known`` names a proven law and its source (a calibration case), and
    ``expect`` the verdict a calibration case must give (``"agree"``, or
    ``"disagree"`` for a negative control).
    """

    name: str
    expression: str
    domain: Domain
    ds: tuple[int, ...]
    settings: Mapping[str, Any] = field(hash=False)
    exponent: float | None = None
    log_power: float | None = None
    known: str | None = None
    expect: str | None = None

    @cached_property
    def prediction(self) -> Any:
        """The leap's predicted law (a :class:`~csqbound.experiments.verify.Conjecture`)."""
        from csqbound.experiments.verify import Conjecture

        loss = str(self.settings.get("loss", "squared"))
        return Conjecture.of(self.expression, self.domain, None, None, loss)

    def budget(self, d: int) -> int:
        """The sample budget at ``d``: the setting, or for ``"auto"`` from the leap's prediction."""
        samples = self.settings.get("samples", "auto")
        if samples != "auto":
            return int(samples)
        import math

        law = self.prediction
        value = BUDGET_FACTOR * d**law.exponent * math.log(d) ** law.log_power
        return int(min(BUDGET_CAP, max(50_000, round(value, -3))))

    @property
    def target(self) -> Target:
        """The parsed target."""
        return Target.from_text(self.expression, self.domain)


@dataclass(frozen=True)
class Suite:
    """A validated report suite."""

    title: str
    ds: tuple[int, ...] | None
    seeds: int
    tau: Fraction
    csq_d: int
    settings: Mapping[str, Any] = field(hash=False)
    targets: tuple[SuiteTarget, ...]
    source: str


def with_backend(suite: Suite, backend: str | None) -> Suite:
    """``suite`` with every target's runs on ``backend`` (``None``: as the suite says).

    The backend is a run setting like any other: runs on another backend are other
    runs in the store (they agree up to rounding), so a report never mixes them.

    Examples
    --------
    >>> suite = load_suite(calibration_suite_path())
    >>> {t.settings["backend"] for t in with_backend(suite, "numba").targets}
    {'numba'}
    >>> with_backend(suite, None) is suite
    True
    """
    if backend is None:
        return suite
    targets = tuple(replace(t, settings={**t.settings, "backend": backend}) for t in suite.targets)
    return replace(suite, settings={**suite.settings, "backend": backend}, targets=targets)


def default_suite_path() -> Path:
    """The built-in suite, ``examples/default_suite.toml`` (shipped inside the package too)."""
    packaged = resources.files("csqbound") / "data" / "default_suite.toml"
    path = Path(str(packaged))
    if path.is_file():
        return path
    return Path(__file__).resolve().parents[2] / "examples" / "default_suite.toml"


def load_suite(path: str | Path | None = None) -> Suite:
    """Read and validate a suite file (the built-in suite when ``path`` is None).

    Examples
    --------
    >>> suite = load_suite()
    >>> [t.name for t in suite.targets][:4]
    ['staircase_leap2', 'parity3', 'gaussian_staircase', 'x1_boolean']
    >>> sum(t.known is not None for t in suite.targets)       # the calibration cases
    7
    """
    file = Path(path) if path is not None else default_suite_path()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"no such suite file: {file}"
        raise CsqboundError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read suite file {file}: {exc}"
        raise CsqboundError(msg) from None
    return parse_suite(text, source=str(file))


def _fail(source: str, where: str, what: str) -> CsqboundError:
    return CsqboundError(f"{source}: {where}: {what}")


def _int_list(value: Any, source: str, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(source, where, "must be a non-empty list of dimensions, e.g. [16, 32, 64]")
    if not all(type(v) is int and v >= 1 for v in value):
        raise _fail(source, where, f"dimensions must be positive integers, got {value!r}")
    if len(set(value)) < 2:
        raise _fail(source, where, "needs at least two distinct dimensions to fit a slope")
    return tuple(sorted(set(value)))


def _settings(value: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(source, where, "must be a table of csqbound.train keywords")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in SETTINGS_KEYS:
            known = ", ".join(sorted(SETTINGS_KEYS))
            raise _fail(source, f"{where}.{key}", f"unknown setting (known: {known})")
        if key == "samples" and item == "auto":
            out[key] = item
            continue
        if isinstance(item, bool) or not isinstance(item, SETTINGS_KEYS[key]):
            raise _fail(source, f"{where}.{key}", f"wrong type {type(item).__name__}")
        if isinstance(item, int | float) and item <= 0:
            raise _fail(source, f"{where}.{key}", f"must be positive, got {item!r}")
        out[key] = item
    return out


def parse_suite(text: str, source: str = "<suite>") -> Suite:
    """Validate the text of a suite file.

    Examples
    --------
    >>> s = parse_suite('''
    ... [report]
    ... d = [8, 16]
    ... [[target]]
    ... expression = "x1*x2"
    ... ''')
    >>> s.targets[0].name, s.ds, s.seeds, s.csq_d
    ('x1*x2', (8, 16), 4, 16)
    >>> parse_suite('[report]\\nd = [2, 4]\\n[[target]]\\nexpression = "x1*x2*x3"')
    Traceback (most recent call last):
    ...
    csqbound.errors.CsqboundError: <suite>: target 'x1*x2*x3': d = 2 is smaller than its 3 variables
    """
    data = _load_toml(text, source)
    report = data.get("report", {})
    _check_report_table(report, source)
    ds = None if report["d"] == "auto" else _int_list(report["d"], source, "report.d")
    seeds = report.get("seeds", 4)
    if type(seeds) is not int or seeds < 1:
        raise _fail(source, "report.seeds", f"must be a positive integer, got {seeds!r}")
    try:  # the limits of csq --tau: "1e-999999999" must not become a billion-digit Fraction
        tau = read_tau(report.get("tau", "0.01"))
    except CsqboundError as exc:
        raise _fail(source, "report.tau", str(exc)) from None
    settings = _settings(data.get("settings", {}), source, "settings")
    raw_targets = data.get("target")
    if not isinstance(raw_targets, list) or not raw_targets:
        raise _fail(source, "target", "no targets: add [[target]] tables with an expression")
    targets = []
    calibration = report.get("calibration", False)
    if not isinstance(calibration, bool):
        raise _fail(source, "report.calibration", f"must be true or false, got {calibration!r}")
    for i, raw in enumerate(raw_targets):
        targets.append(_target(raw, i, ds, settings, source))
    if calibration and not any(t.known for t in targets):
        targets.extend(calibration_targets(ds, settings, {t.name for t in targets}))
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise _fail(source, "target", f"duplicate target names in {names}")
    all_ds = sorted({d for t in targets for d in t.ds})
    csq_d = report.get("csq_d", all_ds[-1])
    if type(csq_d) is not int or csq_d < max(t.target.variables for t in targets):
        raise _fail(
            source, "report.csq_d", f"must be an integer >= every target's P, got {csq_d!r}"
        )
    return Suite(
        title=str(report.get("title", "csqbound report")),
        ds=ds,
        seeds=seeds,
        tau=tau,
        csq_d=csq_d,
        settings=settings,
        targets=tuple(targets),
        source=source,
    )


def _load_toml(text: str, source: str) -> dict[str, Any]:
    """The suite's TOML with only the known top-level tables."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(source, "not valid TOML", str(exc)) from None
    except RecursionError:  # tomllib recurses per nested inline table or array
        raise _fail(source, "not valid TOML", "nested too deeply to read") from None
    unknown = set(data) - {"report", "settings", "target"}
    if unknown:
        raise _fail(
            source,
            "top level",
            f"unknown table(s) {sorted(unknown)} (use report, settings, target)",
        )
    return data


def _check_report_table(report: object, source: str) -> None:
    """Refuse a ``[report]`` that is not a table, has unknown keys or lacks ``d``."""
    if not isinstance(report, dict):
        raise _fail(source, "report", "must be a table")
    bad = set(report) - _REPORT_KEYS
    if bad:
        raise _fail(
            source, "report", f"unknown key(s) {sorted(bad)} (known: {sorted(_REPORT_KEYS)})"
        )
    if "d" not in report:
        raise _fail(
            source, "report.d", 'missing: give the dimensions, e.g. d = [16, 32, 64], or "auto"'
        )


def _target(
    raw: Any, index: int, ds: tuple[int, ...] | None, settings: Mapping[str, Any], source: str
) -> SuiteTarget:
    where = f"target #{index + 1}"
    if not isinstance(raw, dict):
        raise _fail(source, where, "must be a table")
    bad = set(raw) - _TARGET_KEYS
    if bad:
        raise _fail(source, where, f"unknown key(s) {sorted(bad)} (known: {sorted(_TARGET_KEYS)})")
    if ("expression" in raw) == ("catalog" in raw):
        raise _fail(source, where, "give exactly one of expression = '...' or catalog = '<name>'")
    if "catalog" in raw:
        entry = catalog_entry(str(raw["catalog"]))
        expression, domain = entry.expression, raw.get("domain", entry.domain)
        name = str(raw.get("name", entry.name))
    else:
        expression = raw["expression"]
        if not isinstance(expression, str):
            raise _fail(source, f"{where}.expression", "must be a string")
        domain = raw.get("domain", "boolean")
        name = str(raw.get("name", expression))
    where = f"target {name!r}"
    try:
        dom = check_domain(str(domain))
        target = Target.from_text(expression, dom)
    except CsqboundError as exc:
        raise _fail(source, where, str(exc)) from None
    extra = _conjecture_keys(raw, source, where)
    if "d" in raw and raw["d"] != "auto":
        tds = _int_list(raw["d"], source, f"{where}.d")
    elif ds is not None and "d" not in raw:
        tds = ds
    else:
        tds = auto_ds(expression, dom)
    for d in tds:
        if d < target.variables:
            raise _fail(source, where, f"d = {d} is smaller than its {target.variables} variables")
    merged = {**settings, **_settings(raw.get("settings", {}), source, f"{where}.settings")}
    if target.variables == 0:
        msg = f"{source}: {where}: a constant target has nothing to learn"
        raise ParameterError(msg)
    return SuiteTarget(name, expression, dom, tds, merged, **extra)


def auto_ds(expression: str, domain: str) -> tuple[int, ...]:
    """The dimensions of ``d = "auto"``: :data:`AUTO_D` by the predicted exponent.

    The range follows the target's prediction, not a conjecture given for it, so a
    conjecture is tested on the same runs as the prediction (and shares them).

    Examples
    --------
    >>> auto_ds("x1*x2", "boolean"), auto_ds("He3(x1)", "gaussian")
    ((64, 128, 256, 512), (32, 64, 128, 256))
    """
    from csqbound.prediction import predict

    k = int(predict(expression, domain).samples_exponent)
    return AUTO_D.get(k, AUTO_D_HIGH)


def _conjecture_keys(raw: Mapping[str, Any], source: str, where: str) -> dict[str, Any]:
    """``exponent``, ``log_power``, ``known`` and ``expect`` of a target table, checked."""
    out: dict[str, Any] = {}
    for key in ("exponent", "log_power"):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _fail(source, f"{where}.{key}", f"must be a number, got {value!r}")
            if key == "exponent" and not 0 < value <= 100:
                raise _fail(source, f"{where}.{key}", f"must be in (0, 100], got {value!r}")
            out[key] = float(value)
    if "known" in raw:
        if not isinstance(raw["known"], str) or not raw["known"].strip():
            raise _fail(source, f"{where}.known", "must name the proven law and its source")
        out["known"] = raw["known"]
    if "expect" in raw:
        if raw["expect"] not in ("agree", "disagree"):
            raise _fail(source, f"{where}.expect", "must be 'agree' or 'disagree'")
        out["expect"] = raw["expect"]
    return out


def calibration_suite_path() -> Path:
    """The built-in calibration suite, ``examples/calibration_suite.toml``."""
    packaged = resources.files("csqbound") / "data" / "calibration_suite.toml"
    path = Path(str(packaged))
    if path.is_file():
        return path
    return Path(__file__).resolve().parents[2] / "examples" / "calibration_suite.toml"


def calibration_targets(
    ds: tuple[int, ...] | None, settings: Mapping[str, Any], taken: set[str]
) -> list[SuiteTarget]:
    """The built-in calibration cases, at a suite's settings (so at its protocol).

    Their ``d`` grids are the suite's when it gives one, else ``"auto"``.
    """
    data = tomllib.loads(calibration_suite_path().read_text(encoding="utf-8"))
    source = str(calibration_suite_path())
    out = []
    for i, raw in enumerate(data["target"]):
        raw = dict(raw)
        raw.pop("settings", None)
        if ds is not None:
            raw.pop("d", None)
        target = _target(raw, i, ds, settings, source)
        if target.name not in taken:
            out.append(target)
    return out
