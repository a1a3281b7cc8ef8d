"""Issue 11: a really full disk (a small tmpfs), not a simulated one.

Each test mounts a tmpfs of :data:`SIZE` bytes, fills it up to a few kilobytes and
runs the CLI as a subprocess with its outputs there: ``report --out``, ``train
--plot``, ``graph --out`` and a sweep's store. Every one must end with exit code 2
and one line on stderr, leave no empty, truncated or temporary file behind, and
leave a results store exact (a resumed sweep stores the same rows as a sweep on a
roomy disk). Mounting needs root (or CAP_SYS_ADMIN) in a system that allows it;
elsewhere the tests are skipped with the reason.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

#: Size of the small filesystem: room for the Python-free part of a report.
SIZE = 4 * 2**20

SUITE = """
[report]
title = "full disk"
d = [8, 16]
seeds = 1
[settings]
replicas = 2
samples = 4000
[[target]]
name = "pair"
expression = "x1 + x1*x2"
"""

TINY = ["--samples", "4000", "--replicas", "2"]

#: Byte signatures of complete files, by suffix.
_ENDS = {".png": b"IEND\xaeB`\x82", ".pdf": b"%%EOF"}


def _mount(point: Path, options: str = "") -> str | None:
    """Mount a tmpfs at ``point``; the reason it is not possible, or ``None``."""
    if not sys.platform.startswith("linux"):
        return "tmpfs mounts need Linux"
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return "no mount command"
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}{options}", "tmpfs", str(point)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}"
    return None


def _fill(point: Path, free: int) -> None:
    """Fill the filesystem at ``point`` until about ``free`` bytes are left."""
    filler = point / "filler"
    with filler.open("wb") as handle:
        block = b"\0" * 65536
        try:
            while True:
                handle.write(block)
                handle.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - free))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """``fill(free)`` -> a folder on a full tmpfs with about ``free`` bytes left."""
    point = tmp_path / "small"
    point.mkdir()
    reason = _mount(point)
    if reason is not None:
        pytest.skip(reason)

    def fill(free: int) -> Path:
        _fill(point, free)
        return point

    try:
        yield fill
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)  # noqa: S603, S607


def _cli(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "csqbound", *map(str, argv)],
        capture_output=True, text=True, cwd=cwd, env=env, check=False, timeout=600,
    )  # fmt: skip


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder on a read-only tmpfs (root may write anywhere else)."""
    point = tmp_path / "ro"
    point.mkdir()
    reason = _mount(point, ",ro")
    if reason is not None:
        pytest.skip(reason)
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)  # noqa: S603, S607


def _assert_one_error(
    done: subprocess.CompletedProcess[str],
    needles: tuple[str, ...] = ("disk is full", "No space left"),
) -> None:
    assert done.returncode == 2, f"exit {done.returncode}: {done.stderr[-800:]}"
    lines = [line for line in done.stderr.splitlines() if line.startswith("csqbound: error:")]
    assert len(lines) == 1, done.stderr
    assert len(lines[0]) <= 300
    assert "internal error" not in done.stderr
    assert any(needle in lines[0] for needle in needles), lines[0]


def _assert_no_partial_file(folder: Path) -> None:
    """No empty, temporary or truncated file anywhere under ``folder``."""
    for path in folder.rglob("*"):
        if not path.is_file() or path.name == "filler":
            continue
        assert not path.name.startswith("."), f"temporary file left: {path}"
        assert path.stat().st_size > 0, f"empty file left: {path}"
        data = path.read_bytes()
        end = _ENDS.get(path.suffix)
        if end is not None:
            assert end in data[-64:], f"truncated: {path}"
        if path.suffix == ".json":
            json.loads(data)
        if path.suffix == ".tex":
            assert data.rstrip().endswith((b"\\end{document}", b"\\end{tabular}",
                                           b"\\end{table}", b"}")), path  # fmt: skip


def _rows(db: Path) -> list[tuple[object, ...]]:
    """The stored runs, without the columns that record when and how fast they ran."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
        keep = [n for n in names if n not in {"created", "finished", "wall_time", "host", "pid"}]
        rows = conn.execute(f"SELECT {', '.join(keep)} FROM runs ORDER BY key").fetchall()
    finally:
        conn.close()
    return [tuple(_stable(keep, row)) for row in rows]


def _stable(names: list[str], row: tuple[object, ...]) -> list[object]:
    """A row with the timings inside its JSON result removed."""
    out: list[object] = []
    for name, value in zip(names, row, strict=True):
        if isinstance(value, str) and value.startswith("{"):
            data = json.loads(value)
            for key in ("wall_time", "eval_time", "created", "host"):
                data.pop(key, None)
            value = json.dumps(data, sort_keys=True)
        out.append((name, value))
    return out


#: Free bytes left for a report (it needs about 280 kB): none, room for the tables but no
#: figure, room for some figures. Only the last is in the fast suite.
REPORT_FREE = [pytest.param(0, marks=pytest.mark.slow),
               pytest.param(32 * 2**10, marks=pytest.mark.slow), 160 * 2**10]  # fmt: skip


@pytest.mark.parametrize("free", REPORT_FREE)
def test_report_on_a_full_disk(small_disk: Callable[[int], Path], tmp_path: Path, free: int):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE, encoding="utf-8")
    db = tmp_path / "runs.sqlite"
    first = _cli("report", suite, "--out", tmp_path / "roomy", "--db", db, "--no-pdf", "-q",
                 "--workers", "1", cwd=tmp_path)  # fmt: skip
    assert first.returncode == 0, first.stderr
    before = _rows(db)
    disk = small_disk(free)
    done = _cli("report", suite, "--out", disk / "out", "--db", db, "--no-pdf", "-q",
                "--workers", "1", cwd=tmp_path)  # fmt: skip
    _assert_one_error(done)
    _assert_no_partial_file(disk)
    assert _rows(db) == before


@pytest.mark.parametrize(
    "name", ["run.png", pytest.param("run.pdf", marks=pytest.mark.slow), "run.svg"]
)
def test_train_plot_on_a_full_disk(small_disk: Callable[[int], Path], tmp_path: Path, name: str):
    disk = small_disk(8 * 2**10)
    done = _cli("train", "x1*x2", "--d", "8", *TINY, "--plot", disk / name, cwd=tmp_path)
    _assert_one_error(done)
    _assert_no_partial_file(disk)
    assert not (disk / name).exists()


def test_graph_on_a_full_disk(small_disk: Callable[[int], Path], tmp_path: Path):
    disk = small_disk(4 * 2**10)
    done = _cli("graph", "x1 + x1*x2 + x1*x2*x3", "--out", disk / "graph.png", cwd=tmp_path)
    _assert_one_error(done)
    _assert_no_partial_file(disk)


#: Free bytes for a sweep's store: too little to create it (nothing may be left), and
#: room for some runs (the sweep stops mid-way; the store must resume exactly).
SWEEP_FREE = [0, pytest.param(48 * 2**10, marks=pytest.mark.slow), 160 * 2**10]


@pytest.mark.parametrize("free", SWEEP_FREE)
def test_a_sweep_store_on_a_full_disk_stays_exact(
    small_disk: Callable[[int], Path], tmp_path: Path, free: int
):
    argv = ["verify", "x1 + x1*x2", "--d", "8,16", "--seeds", "3", *TINY, "--workers", "1",
            "-q", "-f", "json"]  # fmt: skip
    reference = tmp_path / "reference.sqlite"
    assert _cli(*argv, "--db", reference, cwd=tmp_path).returncode == 0
    disk = small_disk(free)
    db = disk / "sweep.sqlite"
    done = _cli(*argv, "--db", db, cwd=tmp_path)
    _assert_one_error(done)
    assert "free space" in done.stderr  # says what to do, not "corrupt file?"
    if free == 0:
        assert not any(disk.glob("sweep.sqlite*")), "a half-made store was left behind"
    if db.exists():
        stored = _rows(db)
        assert set(stored) <= set(_rows(reference))  # whatever is stored is complete
        (disk / "filler").unlink()  # room again: the sweep resumes and completes
        again = _cli(*argv, "--db", db, cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert _rows(db) == _rows(reference)


#: Commands whose output lies on a read-only file system, all refused before any work
#: (a finished training run is never lost to its figure).
READ_ONLY = {
    "train-plot": ["train", "x1*x2", "--d", "8", *TINY, "--plot", "{ro}/run.png"],
    "verify-plot": ["verify", "x1*x2", "--d", "8,16", "--seeds", "1", *TINY, "--workers", "1",
                    "--db", "{tmp}/v.sqlite", "--plot", "{ro}/scaling.png"],
    "graph-out": ["graph", "x1*x2", "--out", "{ro}/graph.svg"],
    "report-out": ["report", "{tmp}/suite.toml", "--out", "{ro}/report", "--no-pdf"],
    "verify-store": ["verify", "x1*x2", "--d", "8,16", "--seeds", "1", *TINY, "--db",
                     "{ro}/sweep.sqlite"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_outputs_on_a_read_only_file_system(read_only: Path, tmp_path: Path, name: str):
    (tmp_path / "suite.toml").write_text(SUITE, encoding="utf-8")
    argv = [a.format(ro=read_only, tmp=tmp_path) for a in READ_ONLY[name]]
    done = _cli(*argv, cwd=tmp_path)
    _assert_one_error(done, ("not writable", "Read-only file system", "cannot open the store"))
    assert "runs (done" not in done.stderr  # refused before the first run
    assert not (tmp_path / "v.sqlite").exists()
    assert list(read_only.iterdir()) == []
