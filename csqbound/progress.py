"""Progress of training runs and sweeps on stderr: a bar when interactive, log lines when not.

The ``progress=`` argument of :func:`csqbound.train`, :func:`csqbound.verify` and
:func:`csqbound.report.pipeline.build_report` is resolved here (:func:`with_progress`
wraps each of them):

* ``"auto"`` (the default) or ``True``: when stderr is a terminal or the code runs
  in Jupyter with ipywidgets (:func:`interactive`), a rich progress bar (training: samples per
  replica, in ``samples/s``, with the whole total, ETA and the current relative
  loss; sweeps: runs, with ETA and the done/resumed/failed counts). Otherwise
  plain log lines on stderr: one per finished run of a sweep with ``done/total``
  and an ETA, and for a single training run one line every
  :data:`LOG_INTERVAL` seconds at most (a run that finishes sooner prints none).
  The display is off inside another one (the runs of a sweep, the report's
  example run) and in worker processes (the sweep's own display counts them).
* ``False`` or ``None``: nothing is printed.
* a callable: called exactly as before (``train``: ``(done, total, loss)`` at every
  evaluation; sweeps: with a :class:`~csqbound.experiments.sweep.SweepProgress`
  after every run), and nothing is printed.

The training loop calls its callback once per evaluation (a logarithmic grid of
about 16 per decade of samples), so neither display adds work to the SGD steps.

Examples
--------
>>> import io
>>> log = TrainLog(io.StringIO(), "train", interval=0.0)
>>> log(500, 1000, 0.5)
>>> line = log.stream.getvalue()
>>> line.startswith("csqbound train: 500/1,000 samples (50%)"), "ETA" in line
(True, True)
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import inspect
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Any, Literal, ParamSpec, TypeVar

from csqbound.errors import ParameterError, shorten

__all__ = [
    "LOG_INTERVAL",
    "Kind",
    "SweepBar",
    "SweepLog",
    "TrainBar",
    "TrainLog",
    "WIDE",
    "as_callback",
    "display",
    "interactive",
    "with_progress",
]

#: Most frequent log line of one training run without a terminal, in seconds.
LOG_INTERVAL = 10.0

#: Terminal width from which the training bar draws the bar itself (below it, only
#: the numbers: samples done of the whole total, samples/s, ETA, loss).
WIDE = 100

Kind = Literal["train", "sweep"]

#: How a sweep's outcomes read in a log line (as in its counts).
_OUTCOMES = {"done": "done", "skipped": "resumed", "failed": "failed"}

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

#: Displays (or sweeps with any ``progress``) running in this process: an inner
#: ``"auto"`` is off while one is, so a sweep's runs do not draw their own bars.
_active = 0


def _in_jupyter() -> bool:
    """Whether this is a Jupyter (IPython kernel) process that can draw rich's live bar.

    rich draws it in an ``ipywidgets`` output; without ipywidgets it would warn at every
    refresh, so a kernel without it gets the plain lines instead.
    """
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def interactive(stream: IO[str] | None = None) -> bool:
    """Whether a live progress bar can be drawn: ``stream`` is a terminal, or in Jupyter.

    In Jupyter the bar needs ``ipywidgets`` (rich draws into a widget); a kernel
    without it counts as not interactive and gets the plain lines.

    Parameters
    ----------
    stream
        The stream the display writes to (default: ``sys.stderr``).

    Returns
    -------
    bool

    Examples
    --------
    >>> import io
    >>> interactive(io.StringIO())
    False
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):  # a closed or detached stream
        tty = False
    return tty or _in_jupyter()


def _clock(seconds: float) -> str:
    """``H:MM:SS`` for a duration."""
    return str(datetime.timedelta(seconds=round(max(seconds, 0.0))))


def _eta(done: float, total: float, elapsed: float) -> str:
    """Remaining time at the rate so far, or ``?`` before any progress."""
    if done <= 0 or elapsed <= 0:
        return "?"
    return _clock((total - done) * elapsed / done)


class TrainLog:
    """Plain progress lines of one training run: at most one per ``interval`` seconds.

    Called as ``log(done, total, loss)`` (samples per replica, relative test loss);
    :meth:`close` prints a last line if any was printed before.

    Parameters
    ----------
    stream
        Where the lines go (stderr).
    label
        First word after ``csqbound`` on each line.
    interval
        Seconds between lines (default :data:`LOG_INTERVAL`); the first comes after
        one interval.
    clock
        Monotonic seconds (a parameter for tests).
    """

    def __init__(
        self,
        stream: IO[str],
        label: str,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.label, self.clock = stream, label, clock
        self.interval = LOG_INTERVAL if interval is None else interval
        self.start = self.last = clock()
        self.lines = 0
        self.state: tuple[int, int, float] | None = None

    def __call__(self, done: int, total: int, loss: float) -> None:
        self.state = (done, total, loss)
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            self._line(now, final=False)

    def _line(self, now: float, *, final: bool) -> None:
        if self.state is None:
            return
        done, total, loss = self.state
        elapsed = now - self.start
        rate = f"{done / elapsed:,.0f} samples/s" if elapsed > 0 else "- samples/s"
        tail = f"in {_clock(elapsed)}" if final else f"ETA {_eta(done, total, elapsed)}"
        share = 100 * done / total if total else 100.0
        self.stream.write(
            f"csqbound {self.label}: {done:,}/{total:,} samples ({share:.0f}%), {rate}, "
            f"loss/Var f {loss:.3g}, {tail}\n"
        )
        self.stream.flush()
        self.lines += 1

    def close(self, ok: bool = True) -> None:
        """Print the last line (when lines were printed and the run finished)."""
        if ok and self.lines:
            self._line(self.clock(), final=True)


class SweepLog:
    """Plain progress lines of a sweep: one per run it executed, with ``done/total`` and ETA.

    Called with a :class:`~csqbound.experiments.sweep.SweepProgress` after every
    run; runs already in the store (resumed) print no line of their own but are
    counted, and the last run always prints one. The ETA is the remaining runs at
    the pace of the runs executed so far.

    Parameters
    ----------
    stream, label, clock
        As for :class:`TrainLog`.
    """

    def __init__(
        self, stream: IO[str], label: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream, self.label, self.clock = stream, label, clock
        self.start = clock()

    def __call__(self, p: Any) -> None:
        if p.outcome == "skipped" and p.finished < p.total:
            return
        elapsed = self.clock() - self.start
        executed = p.done + p.failed
        left = p.total - p.finished
        eta = _clock(left * elapsed / executed) if executed else ("0:00:00" if not left else "?")
        what = f"{shorten(p.spec.target, 40)}, d={p.spec.d}, seed {p.spec.seed}"
        if p.outcome == "failed":
            what += f": {shorten(p.error, 80)}"
        outcome = _OUTCOMES.get(p.outcome, p.outcome)
        self.stream.write(
            f"csqbound {self.label}: {p.finished}/{p.total} runs ({outcome}: {what}); "
            f"done {p.done}, resumed {p.skipped}, failed {p.failed}; "
            f"elapsed {_clock(elapsed)}, ETA {eta}\n"
        )
        self.stream.flush()

    def close(self, ok: bool = True) -> None:
        """Nothing to finish: every line is complete when written."""


def _bar(columns: Callable[[int], list[Any]], stream: IO[str]) -> Any:
    """A transient rich ``Progress`` on ``stream`` with the ``columns`` for its width."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(file=stream)
    return Progress(*columns(console.width), console=console, transient=True)


def _rate(speed: float | None) -> str:
    """A rate in thousands or millions: ``75k`` (the total stays whole beside it)."""
    if speed is None:
        return "-"
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if speed >= 10 * scale:
            return f"{speed / scale:,.0f}{suffix}"
    return f"{speed:,.0f}"


class TrainBar:
    """A rich bar for one training run: samples done of the whole total, samples/s, ETA, loss.

    Started at the first call, so an input error raised before training draws nothing.

    Parameters
    ----------
    stream
        The terminal stream (stderr).
    label
        Shown first on the bar.
    """

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream, self.label = stream, label
        self.bar: Any = None
        self.task: Any = None

    def columns(self, width: int) -> list[Any]:
        """The bar's columns: the whole total, the rate in samples/s (not bytes).

        Below :data:`WIDE` columns the bar itself is left out, so that the numbers fit.
        """
        from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

        bar = [BarColumn(bar_width=None)] if width >= WIDE else []
        return [
            TextColumn(f"[bold]{self.label}[/bold]"),
            *bar,
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} samples"),
            TextColumn("{task.fields[rate]} samples/s"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("loss/Var f {task.fields[loss]}"),
        ]

    def __call__(self, done: int, total: int, loss: float) -> None:
        if self.bar is None:
            self.bar = _bar(self.columns, self.stream)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total, rate="-", loss="-")
        rate = _rate(self.bar.tasks[0].speed)
        self.bar.update(self.task, completed=done, total=total, rate=rate, loss=f"{loss:.3g}")

    def close(self, ok: bool = True) -> None:
        """Remove the bar from the terminal."""
        if self.bar is not None:
            self.bar.stop()


class SweepBar:
    """A rich bar for a sweep: runs accounted for of the total, ETA and the counts.

    Parameters
    ----------
    stream, label
        As for :class:`TrainBar`.
    """

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream, self.label = stream, label
        self.bar: Any = None
        self.task: Any = None

    def columns(self, width: int) -> list[Any]:
        """The bar's columns (the bar shrinks first on a narrow terminal)."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        return [
            TextColumn(f"[bold]{self.label}[/bold]"),
            BarColumn(bar_width=None if width >= WIDE else 8),
            MofNCompleteColumn(),
            TextColumn("runs"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
        ]

    def __call__(self, p: Any) -> None:
        if self.bar is None:
            self.bar = _bar(self.columns, self.stream)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=p.total, info="")
        info = f"done {p.done}, resumed {p.skipped}, failed {p.failed}"
        self.bar.update(self.task, completed=p.finished, total=p.total, info=info)

    def close(self, ok: bool = True) -> None:
        """Remove the bar from the terminal."""
        if self.bar is not None:
            self.bar.stop()


_DISPLAYS = {
    ("train", True): TrainBar,
    ("train", False): TrainLog,
    ("sweep", True): SweepBar,
    ("sweep", False): SweepLog,
}


def _check_option(option: object) -> None:
    if option is None or isinstance(option, bool) or option == "auto" or callable(option):
        return
    msg = (
        f"progress must be 'auto', True, False, None or a callable, "
        f"got {shorten(option, quote=True)}"
    )
    raise ParameterError(msg)


@contextlib.contextmanager
def display(option: object, kind: Kind, label: str, stream: IO[str] | None = None) -> Iterator[Any]:
    """Resolve a ``progress=`` option into the callback to call, for the ``with`` block.

    Parameters
    ----------
    option
        ``"auto"``, ``True``, ``False``, ``None`` or a callable (module docstring).
    kind
        ``"train"`` (callback ``(done, total, loss)``) or ``"sweep"`` (callback
        with a :class:`~csqbound.experiments.sweep.SweepProgress`).
    label
        The word on the bar or the log lines (``train``, ``verify``, ``report``).
    stream
        Where a display writes (default: ``sys.stderr`` at the time of the call).

    Yields
    ------
    callable or None
        The callable ``option`` itself, a display, or ``None`` (nothing to report).

    Raises
    ------
    ParameterError
        For any other ``option``.

    Examples
    --------
    >>> with display(False, "train", "train") as callback:
    ...     callback is None
    True
    """
    global _active
    _check_option(option)
    out = sys.stderr if stream is None else stream
    shown = option is True or option == "auto"
    if shown and (_active or multiprocessing.parent_process() is not None):
        shown = False  # inside another display, or a worker of a sweep
    shown_display = _DISPLAYS[kind, interactive(out)](out, label) if shown else None
    callback = (
        shown_display if shown_display is not None else (option if callable(option) else None)
    )
    _active += 1
    ok = False
    try:
        yield callback
        ok = True
    finally:
        _active -= 1
        if shown_display is not None:
            shown_display.close(ok)


def with_progress(kind: Kind, label: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate an entry point whose keyword ``progress`` is resolved by :func:`display`.

    The wrapped function receives the resolved callback (or ``None``) as ``progress``;
    the default is read from its own signature.

    Parameters
    ----------
    kind, label
        As for :func:`display`.

    Returns
    -------
    callable
        The decorator.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        default = inspect.signature(func).parameters["progress"].default

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with display(kwargs.get("progress", default), kind, label) as callback:
                kwargs["progress"] = callback
                return func(*args, **kwargs)

        return wrapper

    return decorate


def as_callback(option: F | bool | str | None) -> F | None:
    """``option`` when it is a callable, else ``None`` (the typed form of a resolved option).

    Examples
    --------
    >>> as_callback(print) is print, as_callback("auto")
    (True, None)
    """
    return option if callable(option) else None
