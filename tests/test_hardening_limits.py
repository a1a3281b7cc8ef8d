"""Issue 11 through the API: each limit named in its error, the store's file checks and rows,
exact SQ values, and the documentation of every limit."""

from __future__ import annotations

import os
import re
import sqlite3
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy

from csqbound import limits
from csqbound.analysis import analyze
from csqbound.csq import csq_bound
from csqbound.errors import CsqboundError, NotComputableError, ParameterError, ParseError, shorten
from csqbound.expansion import expand
from csqbound.experiments.store import Store, StoreError
from csqbound.parsing import check_expression, exact_number, parse, symbol
from csqbound.queries import sq_leap, sq_oracle
from csqbound.report.summary import csq_notes
from csqbound.sgd import footprint
from csqbound.target import Target
from csqbound.walsh import multilinear_reduce

ROOT = Path(__file__).resolve().parents[1]


def _sum(n: int) -> str:
    return "+".join(f"x{i}" for i in range(1, n + 1))


# -- every limit is named in its error -------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("x10001", "MAX_COORDINATE"),
        (_sum(501), "MAX_VARIABLES"),
        (f"({_sum(40)})**8", "MAX_EXPANDED_TERMS"),
        ("He12(He12(He12(x1 + x2)))", "MAX_DEGREE"),
        ("(x1**64)**64", "MAX_DEGREE"),
        ("x1**65", "MAX_EXPONENT"),
        ("exp(exp(exp(100)))", "MAX_EXP_ARGUMENT"),
        ("exp(1000*x1)", "MAX_EXP_ARGUMENT"),
        ("1e4000", "MAX_DECIMAL_EXPONENT"),
        ("1e-309*x1", "MAX_DECIMAL_EXPONENT"),
        ("1e300*1e300*x1", "MAX_MAGNITUDE"),
        ("max(" + ",".join(f"x{i}" for i in range(1, 22)) + ")", "MAX_FUNCTION_ARGUMENTS"),
        ("max(max(x1, x2, x3), " + ",".join(f"x{i}" for i in range(4, 23)) + ")", "ARGUMENTS"),
        ("He13(x1)", "MAX_HERMITE_INDEX"),
        ("x" * 10_001, "MAX_EXPRESSION_LENGTH"),
    ],
)
def test_parse_errors_name_their_limit(text: str, name: str) -> None:
    with pytest.raises(ParseError, match=name):
        parse(text)


def test_limits_are_checked_before_the_work() -> None:
    # each of these used to take seconds to hours or gigabytes; refused at once now
    import time

    start = time.perf_counter()
    for text in ["x99999999999", f"({_sum(40)})**8", "exp(-1e4000)", f"max({_sum(199)})"]:
        with pytest.raises(ParseError):
            parse(text.replace("+", ",") if text.startswith("max") else text)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    ("text", "column", "what"),
    [
        ("x1 # + x2", 4, "'#'"),
        ("x1 + \x1b[31m", 6, "U+001B"),
        ("x1\x00 + x2", 3, "U+0000"),
        ("\uff58\uff11", 1, "FULLWIDTH LATIN SMALL LETTER X"),
        ("x1 + \U0001d431" + "1", 6, "MATHEMATICAL BOLD SMALL X"),
    ],
)
def test_characters_python_would_misread_are_refused(text: str, column: int, what: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert f"column {column}" in str(info.value)
    assert what in str(info.value)
    assert info.value.position == column - 1
    assert "\x1b" not in str(info.value)
    assert "\x00" not in str(info.value)


def test_non_ascii_whitespace_is_a_space() -> None:
    assert parse("x1\u00a0+\tx2\n") == symbol(1) + symbol(2)


def test_a_long_expression_is_never_echoed_whole() -> None:
    with pytest.raises(ParseError) as info:
        parse("x1 + " + "y" * 1_000_000)
    assert len(str(info.value)) < 300
    with pytest.raises(ParseError) as info:
        parse("x1 + " * 1000 + "foo" + " + x1" * 900)
    assert len(str(info.value)) < 300


def test_sympy_input_gets_the_same_checks() -> None:
    x1 = symbol(1)
    with pytest.raises(CsqboundError, match="MAX_MAGNITUDE"):
        Target.coerce(sympy.exp(sympy.exp(sympy.exp(100))) * x1)
    with pytest.raises(CsqboundError, match="MAX_COORDINATE"):
        Target.coerce(sympy.Symbol("x99999999999"))
    with pytest.raises(CsqboundError, match="MAX_COORDINATE"):
        Target(x1, "boolean", 10**9)
    check_expression(x1**-2 + 2**x1)  # no bound known: not refused for its size


@pytest.mark.parametrize("text", ["1e155*x1", "exp(600)*x1", "1e-200*x1"])
def test_scale_that_overflows_floats_is_an_input_error(text: str) -> None:
    with pytest.raises(CsqboundError, match="NORM2"):
        expand(text)


def test_many_variables_use_the_sparse_ring() -> None:
    e = expand(_sum(500) + " + x1*x2*x3**3")
    assert len(e) == 501
    reduced = multilinear_reduce(parse("(x1 + sqrt(2)*x40)**2"), [symbol(i) for i in range(1, 41)])
    assert {str(m): c for m, c in reduced.items()} == {"1": 3, "x1*x40": 2 * sympy.sqrt(2)}


# -- numbers given as text --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [("0.01", Fraction(1, 100)), ("1/3", Fraction(1, 3)), ("-2e-3", Fraction(-1, 500))],
)
def test_exact_number(text: str, value: Fraction) -> None:
    assert exact_number(text) == value


@pytest.mark.parametrize("tau", ["1e-999999999", "1e-4000", "1e-301", "1" * 101, "1/0"])
def test_tau_beyond_the_limits(tau: str) -> None:
    with pytest.raises(CsqboundError):
        csq_bound("x1", d=10, tau=tau)


@pytest.mark.parametrize("d", [0, -1, "10**1001", "10**5000"])
def test_d_beyond_the_limits(d: int | str) -> None:
    value = 10 ** int(d[4:]) if isinstance(d, str) else d  # no 5000-digit test id
    with pytest.raises(CsqboundError, match="MAX_DIMENSION"):
        csq_bound("x1", d=value, tau="0.1")


def test_huge_exact_values_print() -> None:
    b = csq_bound("x1*x2*x3*x4*x5*x6*x7*x8*x9*x10", d=10**900, tau="1e-300").to_dict()
    assert "e+" in b["bound"]
    assert len(b["bound"]) < 60
    assert "e+" in b["bound_ceiling"]


def test_csq_of_a_dense_power_is_bounded() -> None:
    b = csq_bound(f"({_sum(20)})**4", d=64, tau="0.01")
    assert b.exponent == 2
    assert b.lexicographic
    assert any("MAX_CSQ_WORK" in n for n in csq_notes(analyze(f"({_sum(20)})**4", d=64)))


# -- the exact SQ oracle beyond rational values ------------------------------------------------
@pytest.mark.parametrize(
    ("text", "leap"),
    [
        ("tanh(x1 + x2)", 1),
        ("exp(x1)", 1),
        ("sin(x1)*x2", 2),
        ("sqrt(2)*x1*x2", 2),
        ("x1*x2*x3 - sqrt(2)*x1*x2*x4", 2),
        ("(sin(1)**2 + cos(1)**2 - 1)*x1*x2 + x3", 1),
        ("sin(x1 + x2) - 2*sin(x1)*cos(x2)", 1),
        ("exp(x1)*exp(x2) - exp(x1 + x2) + x3*x4", 2),
    ],
)
def test_sq_leap_of_irrational_values(text: str, leap: int) -> None:
    assert sq_leap(text) == leap


def test_sq_leap_not_computable_says_why() -> None:
    with pytest.raises(NotComputableError, match="MAX_SQ_POINTWISE_VARIABLES") as info:
        sq_leap("tanh(" + _sum(13) + ")")
    assert "12" in info.value.reason
    numeric = expand("tanh(x1 + x2)")
    with pytest.raises(NotComputableError, match="numeric"):
        sq_oracle(numeric)


def test_sq_labels_of_equal_irrational_values_are_equal() -> None:
    # tanh(2), 0, 0, -tanh(2): the two zeros share a label
    assert sq_oracle("tanh(x1 + x2)").labels.tolist() == [0, 1, 1, 2]


# -- the store -----------------------------------------------------------------------------------
def test_store_refuses_fifos_devices_and_directories(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(StoreError, match="FIFO"):
        Store(fifo)
    with pytest.raises(StoreError, match="character device"):
        Store("/dev/null")
    assert not Path("/dev/null-journal").exists()
    with pytest.raises(StoreError, match="directory"):
        Store(tmp_path)


def _store_with_one_run(path: Path) -> None:
    from csqbound.experiments.sweep import RunSpec

    spec = RunSpec("x1*x2", "boolean", 8, 0, {"replicas": 2})
    with Store(path) as store:
        store.put(
            spec, {"status": ["ok", "ok"], "samples_to_learn": [64, 72], "samples_seen": [64, 72]}
        )


@pytest.mark.parametrize(
    ("column", "value", "what"),
    [
        ("status", '"ok"', "status"),
        ("status", "[1, 2]", "status"),
        ("settings", "[]", "settings"),
        ("samples_to_learn", '["a", 1]', "samples_to_learn"),
        ("samples_seen", "[1]", "samples_seen"),
        ("learning_times", '{"x1": 5}', "learning times"),
        ("run", '"text"', "run"),
        ("run", "[" * 100_000, "recursion"),
        ("d", "eight", "d is"),
        ("wall_time", "fast", "wall_time"),
    ],
)
def test_damaged_rows_are_one_clear_error(
    tmp_path: Path, column: str, value: str, what: str
) -> None:
    path = tmp_path / "runs.sqlite"
    _store_with_one_run(path)
    conn = sqlite3.connect(path)
    conn.execute(f"UPDATE runs SET {column} = ?", (value,))  # noqa: S608 - a test's own column
    conn.commit()
    conn.close()
    with Store(path, create=False) as store, pytest.raises(StoreError, match=what) as info:
        store.runs()
    assert "DELETE FROM runs WHERE key" in str(info.value)


def test_intact_rows_still_read(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    _store_with_one_run(path)
    with Store(path, create=False) as store:
        (run,) = store.runs()
    assert run.samples_to_learn == (64, 72)


# -- helpers and documentation -------------------------------------------------------------------
def test_shorten() -> None:
    assert shorten("x" * 1000).endswith("...")
    assert len(shorten("x" * 1000)) <= 63
    assert shorten(10**5000, quote=True) == "<a int too large to print>"
    assert "\x07" not in shorten("a\x07b")


def test_every_limit_is_documented_with_its_value() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text[text.index("## Limits and errors") :]
    rows = {
        name: row
        for row in section.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`([A-Z_0-9]+)`", row.split("|")[1])
    }
    for name in limits.__all__:
        assert name in rows or name == "MAX_TEXT_NUMBER_LENGTH" and name in section, name
        value = getattr(limits, name)
        if isinstance(value, int) and name in rows and value < 10**9:
            assert f"{value:,}" in rows[name], (name, rows[name])


# -- the memory limit of a run: a fraction of this machine's memory --------------------------
_BIG_RUN = {
    "d": 100_000,
    "width": 64,
    "replicas": 8,
    "batch": 8,
    "test_size": 4096,
    "samples": 10**5,
    "dtype": "float32",
}  # about 2.5 GiB at once


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Pretend to be a machine with the given RAM and cgroup files (none by default)."""
    monkeypatch.delenv(footprint.RUN_BYTES_VARIABLE, raising=False)
    monkeypatch.setattr(footprint, "CGROUP_MEMORY_FILES", (tmp_path / "v2", tmp_path / "v1"))

    def set_machine(ram: int | None, v2: str | None = None, v1: str | None = None) -> None:
        monkeypatch.setattr(footprint, "_physical_memory", lambda: ram)
        for name, text in (("v2", v2), ("v1", v1)):
            if text is not None:
                (tmp_path / name).write_text(text + "\n", encoding="ascii")

    return set_machine


def test_run_limit_is_the_constant_on_a_large_machine(machine: Any) -> None:
    machine(64 * 2**30)
    assert footprint.run_bytes_limit()[0] == limits.MAX_RUN_BYTES
    machine(None)
    assert footprint.run_bytes_limit()[0] == limits.MAX_RUN_BYTES
    assert (
        2**30
        < footprint.run_bytes(**{k: v for k, v in _BIG_RUN.items() if k != "samples"})
        < limits.MAX_RUN_BYTES
    )
    footprint.check_run_size(**_BIG_RUN)


def test_run_limit_is_a_fraction_of_a_small_machine(machine: Any) -> None:
    machine(2 * 2**30)
    limit, why = footprint.run_bytes_limit()
    assert limit == int(limits.MAX_RUN_MEMORY_FRACTION * 2 * 2**30) < limits.MAX_RUN_BYTES
    assert "MAX_RUN_MEMORY_FRACTION" in why
    with pytest.raises(ParameterError, match="MAX_RUN_MEMORY_FRACTION") as info:
        footprint.check_run_size(**_BIG_RUN)
    message = str(info.value)
    assert "of 2 GiB of memory here" in message
    assert footprint.RUN_BYTES_VARIABLE in message
    assert len(message) <= 280


@pytest.mark.parametrize(
    ("v2", "v1", "expected"),
    [
        ("1073741824", None, 2**30),  # cgroup v2 limit below the RAM
        ("max", None, 64 * 2**30),  # v2 without a limit
        (None, "9223372036854771712", 64 * 2**30),  # v1 without a limit
        (None, "536870912", 2**29),  # v1 limit
        ("max", "536870912", 2**29),  # the first file with a limit wins
        ("garbage", None, 64 * 2**30),
    ],
)
def test_a_cgroup_limit_lowers_the_memory(
    machine: Any, v2: str | None, v1: str | None, expected: int
) -> None:
    machine(64 * 2**30, v2, v1)
    assert footprint.memory_bytes() == expected


def test_a_container_limit_refuses_a_run_the_ram_would_allow(machine: Any) -> None:
    machine(64 * 2**30, v2=str(2**30))
    with pytest.raises(ParameterError, match="of 1 GiB of memory here"):
        footprint.check_run_size(**_BIG_RUN)


@pytest.mark.parametrize(("text", "size"), [("3GiB", 3 * 2**30), ("512m", 2**29),
                                            ("1.5 G", 3 * 2**29), ("1000", 1000)])  # fmt: skip
def test_the_environment_variable_replaces_the_limit(
    machine: Any, monkeypatch: pytest.MonkeyPatch, text: str, size: int
) -> None:
    machine(2 * 2**30)
    monkeypatch.setenv(footprint.RUN_BYTES_VARIABLE, text)
    assert footprint.run_bytes_limit() == (size, f"set by {footprint.RUN_BYTES_VARIABLE}")
    if size > 3 * 2**30 - 1:
        footprint.check_run_size(**_BIG_RUN)  # the 1 GiB share of RAM no longer applies
    else:
        with pytest.raises(ParameterError, match=f"set by {footprint.RUN_BYTES_VARIABLE}"):
            footprint.check_run_size(**_BIG_RUN)


@pytest.mark.parametrize("text", ["lots", "-1GiB", "0", "16 PiB", "1e9"])
def test_a_bad_environment_variable_is_one_clear_error(
    machine: Any, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    machine(2 * 2**30)
    monkeypatch.setenv(footprint.RUN_BYTES_VARIABLE, text)
    with pytest.raises(ParameterError, match="is not a size"):
        footprint.check_run_size(**_BIG_RUN)


def test_absurd_sizes_are_printed_short(machine: Any) -> None:
    machine(None)
    with pytest.raises(ParameterError) as info:
        footprint.check_run_size(**{**_BIG_RUN, "d": 10**400})
    assert "about 2^" in str(info.value)
    assert len(str(info.value)) <= 280
