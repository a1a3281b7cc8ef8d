"""The progress display (issue 14): bars on a terminal, log lines with an ETA elsewhere, off
when asked, inside a sweep and in worker processes."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import csqbound
from csqbound import progress
from csqbound.errors import ParameterError
from csqbound.experiments.sweep import RunSpec, SweepProgress

TRAIN_LINE = re.compile(
    r"csqbound train: [\d,]+/[\d,]+ samples \(\d+%\), [\d,]+ samples/s, "
    r"loss/Var f \S+, (ETA \d+:\d\d:\d\d|ETA \?|in \d+:\d\d:\d\d)"
)
SWEEP_LINE = re.compile(
    r"csqbound (verify|report): \d+/\d+ runs \((done|resumed|failed): .+, d=\d+, seed \d+.*\); "
    r"done \d+, resumed \d+, failed \d+; elapsed \d+:\d\d:\d\d, ETA (\d+:\d\d:\d\d|\?)"
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _step(finished: int, total: int, outcome: str, counts: tuple[int, int, int]) -> SweepProgress:
    spec = RunSpec("x1*x2", "boolean", 16, finished, {"replicas": 2})
    error = "ValueError: boom" if outcome == "failed" else None
    done, skipped, failed = counts
    return SweepProgress(finished, total, spec, outcome, error, done, skipped, failed)  # type: ignore[arg-type]


# -- plain lines without a terminal ----------------------------------------------------------
def test_train_log_is_throttled_and_has_an_eta() -> None:
    clock, out = Clock(), io.StringIO()
    log = progress.TrainLog(out, "train", interval=10.0, clock=clock)
    for k in range(1, 40):  # an evaluation every second, 1,000 samples each
        clock.now += 1.0
        log(1000 * k, 100_000, 0.5)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # at 10, 20 and 30 seconds
    assert all(TRAIN_LINE.fullmatch(line) for line in lines), lines
    assert lines[0] == (
        "csqbound train: 10,000/100,000 samples (10%), 1,000 samples/s, loss/Var f 0.5, ETA 0:01:30"
    )
    log.close()
    last = out.getvalue().splitlines()[-1]
    assert TRAIN_LINE.fullmatch(last)
    assert last.endswith("in 0:00:39")


def test_a_short_run_prints_no_line() -> None:
    clock, out = Clock(), io.StringIO()
    log = progress.TrainLog(out, "train", interval=10.0, clock=clock)
    clock.now += 3.0
    log(50, 100, 0.1)
    log.close()
    assert out.getvalue() == ""


def test_sweep_log_has_one_line_per_executed_run_and_an_eta() -> None:
    clock, out = Clock(), io.StringIO()
    log = progress.SweepLog(out, "verify", clock=clock)
    log(_step(1, 6, "skipped", (0, 1, 0)))  # resumed: counted, no line of its own
    clock.now += 10.0
    log(_step(2, 6, "done", (1, 1, 0)))
    clock.now += 10.0
    log(_step(3, 6, "failed", (1, 1, 1)))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert all(SWEEP_LINE.fullmatch(line) for line in lines), lines
    assert lines[0].startswith("csqbound verify: 2/6 runs (done: x1*x2, d=16, seed 2)")
    assert lines[0].endswith("elapsed 0:00:10, ETA 0:00:40")  # 4 left at 10 s per run
    assert "ValueError: boom" in lines[1]
    assert lines[1].endswith("elapsed 0:00:20, ETA 0:00:30")


def test_a_sweep_entirely_resumed_prints_its_last_line() -> None:
    out = io.StringIO()
    log = progress.SweepLog(out, "report", clock=Clock())
    for k in range(1, 4):
        log(_step(k, 3, "skipped", (0, k, 0)))
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert SWEEP_LINE.fullmatch(lines[0])
    assert "3/3 runs (resumed" in lines[0]
    assert lines[0].endswith("ETA 0:00:00")


# -- which display, if any -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("stream", "kind", "expected"),
    [
        (io.StringIO(), "train", progress.TrainLog),
        (Terminal(), "train", progress.TrainBar),
        (io.StringIO(), "sweep", progress.SweepLog),
        (Terminal(), "sweep", progress.SweepBar),
    ],
)
def test_auto_picks_a_bar_on_a_terminal_and_lines_elsewhere(
    stream: io.StringIO, kind: progress.Kind, expected: type
) -> None:
    for option in ("auto", True):
        with progress.display(option, kind, "x", stream) as callback:
            assert type(callback) is expected


@pytest.mark.parametrize("option", [False, None])
def test_off_means_no_callback(option: object) -> None:
    with progress.display(option, "train", "train", Terminal()) as callback:
        assert callback is None


def test_a_callable_is_called_and_nothing_is_shown() -> None:
    seen: list[tuple[int, int, float]] = []
    with progress.display(lambda *a: seen.append(a), "train", "train", Terminal()) as callback:
        callback(1, 2, 0.5)
    assert seen == [(1, 2, 0.5)]


def test_auto_is_off_inside_another_display_and_in_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outer = progress.display(False, "sweep", "verify", Terminal())
    with outer, progress.display("auto", "train", "train", Terminal()) as inner:
        assert inner is None
    with progress.display("auto", "train", "train", Terminal()) as after:
        assert after is not None
    monkeypatch.setattr(progress.multiprocessing, "parent_process", lambda: object())
    with progress.display("auto", "train", "train", Terminal()) as worker:
        assert worker is None


def test_jupyter_with_ipywidgets_counts_as_interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not progress.interactive(io.StringIO())
    shell = types.SimpleNamespace(kernel=object())
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import fails: rich would warn
    assert not progress.interactive(io.StringIO())
    monkeypatch.setitem(sys.modules, "ipywidgets", types.ModuleType("ipywidgets"))
    assert progress.interactive(io.StringIO())
    shell.kernel = None  # a terminal IPython without a kernel
    assert not progress.interactive(io.StringIO())


@pytest.mark.parametrize("option", ["yes", 1.5, "AUTO"])
def test_other_options_are_refused(option: object) -> None:
    with (
        pytest.raises(ParameterError, match="progress must be"),
        progress.display(option, "train", "train"),
    ):
        pass  # pragma: no cover
    with pytest.raises(ParameterError, match="progress must be"):
        csqbound.train("x1", d=8, replicas=1, samples=100, progress=option)  # type: ignore[arg-type]


# -- the bar ---------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [80, 120])
def test_the_bar_shows_samples_per_second_and_the_whole_total(width: int) -> None:
    from rich.console import Console
    from rich.progress import Progress

    bar = progress.TrainBar(io.StringIO(), "train")
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=True, color_system=None)
    shown = Progress(*bar.columns(width), console=console)
    task = shown.add_task("train", total=10_000_000, rate="750k", loss="0.0125")
    shown.update(task, completed=2_345_678)
    console.print(shown.get_renderable())
    text = out.getvalue()
    assert "2,345,678/10,000,000 samples" in text
    assert "750k samples/s" in text
    assert "loss/Var f 0.0125" in text
    assert "B/s" not in text
    assert ("━" in text) is (width >= progress.WIDE)
    assert max(len(line) for line in text.splitlines()) <= width


def test_train_on_a_terminal_draws_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    run = csqbound.train("x1*x2", d=8, replicas=2, samples=4000, stop_loss=None)
    assert max(run.samples_seen) == 4000
    assert re.search(r"[\d,]+/4,000 samples .* samples/s ETA", screen.getvalue())


# -- through the API and the CLI -------------------------------------------------------------
def test_progress_false_prints_nothing(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    csqbound.train("x1*x2", d=8, replicas=2, samples=2000, progress=False)
    tiny = {"samples": 2000, "replicas": 2}
    csqbound.verify("x1*x2", ds=[8], seeds=2, settings=tiny, store=tmp_path / "a.sqlite",
                    workers=1, resamples=50, progress=False)  # fmt: skip
    assert capfd.readouterr().err == ""


def test_verify_writes_one_line_per_run_and_its_runs_none(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)  # a train outside a sweep would log
    csqbound.verify("x1*x2", ds=[8, 16], seeds=2, settings={"samples": 2000, "replicas": 2},
                    store=tmp_path / "b.sqlite", workers=1, resamples=50)  # fmt: skip
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4, lines
    assert all(SWEEP_LINE.fullmatch(line) for line in lines), lines
    assert lines[-1].startswith("csqbound verify: 4/4 runs")
    csqbound.train("x1*x2", d=8, replicas=2, samples=2000)
    alone = capsys.readouterr().err.splitlines()
    assert alone, "a train outside a sweep logs its progress"
    assert all(TRAIN_LINE.fullmatch(line) for line in alone), alone


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "csqbound", *argv], capture_output=True, text=True, check=False
    )


def test_cli_verify_without_a_terminal_logs_each_run(tmp_path: Path) -> None:
    argv = ["verify", "x1*x2", "--d", "8,16", "--seeds", "1", "--samples", "2000",
            "--replicas", "2", "--workers", "1", "--db", str(tmp_path / "c.sqlite")]  # fmt: skip
    done = _cli(*argv)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("csqbound verify:")]
    assert len(lines) == 2, done.stderr
    assert all(SWEEP_LINE.fullmatch(line) for line in lines)
    quiet = _cli(*argv, "--quiet")
    assert quiet.returncode == 0
    assert "csqbound verify:" not in quiet.stderr
