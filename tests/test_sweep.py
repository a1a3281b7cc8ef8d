"""Sweeps: grid validation, executors (inline, processes, Dask), resume, failures and faults.

The runners below are module-level (picklable by reference): process pools and
Dask workers import this module to run them.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from csqbound.errors import BackendUnavailableError, CsqboundError, ParameterError, ParseError
from csqbound.experiments.store import Store, code_version, run_key
from csqbound.experiments.sweep import (
    DEFAULT_SETTINGS,
    RunSpec,
    SweepProgress,
    check_settings,
    make_grid,
    run_sweep,
)

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


# -- fake runners (pure functions of the spec) ----------------------------------------------
def fake_runner(spec: RunSpec) -> dict[str, Any]:
    """Samples-to-learn ``20 d^2`` times log-normal noise per replica, censored at the budget."""
    rng = np.random.default_rng([spec.seed, spec.d, 7])
    budget = int(spec.settings.get("samples", DEFAULT_SETTINGS["samples"]))
    status, learn, seen, t1, t2 = [], [], [], [], []
    for _ in range(spec.replicas):
        n = int(20 * spec.d**2 * rng.lognormal(0.0, 0.1))
        if n <= budget:
            status.append("ok")
            learn.append(n)
            seen.append(n)
            t2.append(n)
        else:
            status.append("budget_exhausted")
            learn.append(None)
            seen.append(budget)
            t2.append(None)
        t1.append(max(1, n // 3))
    return {
        "target": spec.target,
        "seed": spec.seed,
        "status": status,
        "samples_to_learn": learn,
        "samples_seen": seen,
        "wall_time": 0.0,
        "learning_times_per_replica": {"x1": t1, "x1*x2": t2},
        "noise": float(rng.random()),
    }


def sleepy_runner(spec: RunSpec) -> dict[str, Any]:
    """:func:`fake_runner` after 0.1 s of sleep (fault tests)."""
    time.sleep(0.1)
    return fake_runner(spec)


def slow_runner(spec: RunSpec) -> dict[str, Any]:
    """:func:`fake_runner` after 0.4 s of sleep (the Dask worker-kill test)."""
    time.sleep(0.4)
    return fake_runner(spec)


def failing_runner(spec: RunSpec) -> dict[str, Any]:
    """Raises for seed 1."""
    if spec.seed == 1:
        msg = f"boom at d={spec.d}"
        raise ValueError(msg)
    return fake_runner(spec)


def malformed_runner(spec: RunSpec) -> dict[str, Any]:
    """Returns a dict without the required fields."""
    return {"status": ["ok"]}


def crashing_runner(spec: RunSpec) -> dict[str, Any]:
    """Kills its own worker process for seed 2 (as the OOM killer would)."""
    if spec.seed == 2:
        os._exit(3)
    return fake_runner(spec)


SETTINGS = {"replicas": 3, "samples": 50_000}


def small_grid(seeds: int | list[int] = 4) -> list[RunSpec]:
    return make_grid("x1*x2", [8, 16, 32, 64], seeds, SETTINGS)


def stored_numbers(path: Path) -> dict[str, tuple[Any, ...]]:
    """Key -> the numbers of each stored run, wall time left out."""
    with Store(path) as store:
        return {
            r.key: (r.status, r.samples_to_learn, r.samples_seen, dict(r.learning_times))
            for r in store.runs()
        }


# -- grids --------------------------------------------------------------------------------------
def test_make_grid_product_order_and_defaults():
    grid = make_grid(["x1*x2", " x1  +  x1*x2 "], [8, 16], [5, 3], [{"width": 32}, {}])
    assert len(grid) == 2 * 2 * 2 * 2
    assert [(s.target, s.settings["width"], s.d, s.seed) for s in grid[:4]] == [
        ("x1*x2", 32, 8, 5),
        ("x1*x2", 32, 8, 3),
        ("x1*x2", 32, 16, 5),
        ("x1*x2", 32, 16, 3),
    ]
    assert grid[-1].target == "x1 + x1*x2"  # whitespace normalised
    assert grid[-1].settings == {**DEFAULT_SETTINGS}
    assert len({s.key for s in grid}) == len(grid)
    assert all(s.code_version == code_version() for s in grid)


def test_make_grid_seed_count_and_duplicates():
    grid = make_grid("x1*x2", [8, 8, 16], 3)
    assert [(s.d, s.seed) for s in grid] == [(8, 0), (8, 1), (8, 2), (16, 0), (16, 1), (16, 2)]
    assert make_grid("x1*x2", 8, [0, 0, 1])[1].seed == 1


def test_spec_key_matches_run_key_and_is_stable():
    spec = make_grid("x1*x2", [8], [3], {"samples": 1000})[0]
    expected = run_key("x1*x2", "boolean", 8, 3, check_settings({"samples": 1000}), code_version())
    assert spec.key == expected
    again = make_grid("x1*x2", [8], [3], {"samples": 1000, "width": 64})[0]  # 64 is the default
    assert again.key == spec.key
    import pickle

    back = pickle.loads(pickle.dumps(spec))
    assert back == spec
    assert back.key == spec.key
    assert hash(back) == hash(spec)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"targets": []}, "targets is empty"),
        ({"ds": []}, "d values is empty"),
        ({"seeds": []}, "seeds is empty"),
        ({"ds": [8, 2]}, r"d=2 is smaller than the number of variables of x1\*x2\*x3 \(P=3\)"),
        ({"ds": [0]}, "d must be an integer >= 1"),
        ({"seeds": [-1]}, "seed must be an integer >= 0"),
        ({"seeds": 0}, "number of seeds must be an integer >= 1"),
        ({"settings": {"samples": 0}}, "samples must be an integer >= 1"),
        ({"settings": {"samples": -5}}, "samples must be an integer >= 1"),
        ({"settings": {"width": 0}}, "width must be"),
        ({"settings": {"replicas": 0}}, "replicas must be"),
        ({"settings": {"lr": 0.0}}, "lr must be a finite number > 0"),
        ({"settings": {"stop_loss": -0.1}}, "stop_loss must be"),
        ({"settings": {"samples": 4, "batch": 8}}, "less than one batch"),
        ({"settings": {"sample": 10}}, "unknown setting"),
        ({"settings": {"backend": "jax"}}, "unknown backend"),
        ({"settings": {"activation": "tanh"}}, "unknown activation"),
        ({"targets": ["1/2"]}, "constant"),
    ],
)
def test_make_grid_rejects_bad_grids(kwargs, match):
    args = {"targets": ["x1*x2*x3"], "ds": [8], "seeds": [0], "settings": None, **kwargs}
    with pytest.raises(ParameterError, match=match):
        make_grid(args["targets"], args["ds"], args["seeds"], args["settings"])


def test_make_grid_parse_errors_are_csqbound_errors():
    with pytest.raises(ParseError):
        make_grid("__import__('os')", [8], 1)
    with pytest.raises(CsqboundError):
        make_grid("x1*x2", [8], 1, domain="sphere")


# -- executing ---------------------------------------------------------------------------------
def test_inline_sweep_stores_every_run_then_resumes(tmp_path):
    path = tmp_path / "s.sqlite"
    grid = small_grid()
    events: list[SweepProgress] = []
    result = run_sweep(grid, store=path, workers=1, runner=fake_runner, progress=events.append)
    assert (result.total, result.done, result.skipped, result.failed) == (16, 16, 0, 0)
    assert result.executor == "inline"
    assert [e.finished for e in events] == list(range(1, 17))
    assert {e.outcome for e in events} == {"done"}
    with Store(path) as store:
        assert len(store) == 16
        row = store.get(grid[5].key)
        assert row is not None
    expected = fake_runner(grid[5])
    assert list(row.samples_to_learn) == expected["samples_to_learn"]
    assert row.run["noise"] == expected["noise"]
    # resume: nothing is run again; a grown grid runs only the new specs
    again = run_sweep(grid, store=path, workers=1, runner=failing_runner)
    assert (again.done, again.skipped, again.failed) == (0, 16, 0)
    bigger = run_sweep(small_grid(6), store=path, workers=1, runner=fake_runner)
    assert (bigger.done, bigger.skipped) == (8, 16)


def test_duplicate_specs_run_once(tmp_path):
    grid = small_grid(2)
    result = run_sweep(grid + grid, store=tmp_path / "s.sqlite", workers=1, runner=fake_runner)
    assert (result.total, result.done) == (8, 8)


def test_failed_runs_are_recorded_and_retried(tmp_path):
    path = tmp_path / "s.sqlite"
    grid = small_grid(3)
    result = run_sweep(grid, store=path, workers=1, runner=failing_runner)
    assert (result.done, result.failed) == (8, 4)
    assert all("ValueError: boom" in message for _, message in result.errors)
    with Store(path) as store:
        bad = [r for r in store.runs() if r.failed]
        assert len(bad) == 4
        assert {r.seed for r in bad} == {1}
        assert all(r.status == ("error",) * 3 for r in bad)
        assert all("boom at d=" in (r.error or "") for r in bad)
        assert len(store.runs(include_failed=False)) == 8
    skipped = run_sweep(grid, store=path, workers=1, runner=fake_runner, retry_failed=False)
    assert (skipped.done, skipped.skipped) == (0, 12)
    retried = run_sweep(grid, store=path, workers=1, runner=fake_runner)
    assert (retried.done, retried.skipped, retried.failed) == (4, 8, 0)
    with Store(path) as store:
        assert not any(r.failed for r in store.runs())
        assert len(store) == 12


def test_malformed_result_is_a_failed_run(tmp_path):
    result = run_sweep(
        small_grid(1), store=tmp_path / "s.sqlite", workers=1, runner=malformed_runner
    )
    assert result.failed == 4
    assert "lacks samples_to_learn" in result.errors[0][1]


def test_process_pool_gives_the_same_numbers_as_inline(tmp_path):
    grid = small_grid(3)
    inline = run_sweep(grid, store=tmp_path / "a.sqlite", workers=1, runner=fake_runner)
    pooled = run_sweep(grid, store=tmp_path / "b.sqlite", workers=2, runner=fake_runner)
    assert pooled.executor == "processes:2"
    assert (inline.done, pooled.done) == (12, 12)
    assert stored_numbers(tmp_path / "a.sqlite") == stored_numbers(tmp_path / "b.sqlite")


def test_real_trainer_is_pure_across_executors(tmp_path):
    grid = make_grid("x1 + x1*x2", [6, 8], [0, 1], {"replicas": 2, "samples": 4000})
    a = run_sweep(grid, store=tmp_path / "a.sqlite", workers=1)
    b = run_sweep(grid, store=tmp_path / "b.sqlite", workers=2)
    assert (a.done, b.done, a.failed, b.failed) == (4, 4, 0, 0)
    numbers_a, numbers_b = (
        stored_numbers(tmp_path / "a.sqlite"),
        stored_numbers(tmp_path / "b.sqlite"),
    )
    assert numbers_a == numbers_b
    assert any(None not in v[1] for v in numbers_a.values())  # something was learned


# kills pool workers and waits them out (16 s): the slow step; fast: the SIGKILL resume
@pytest.mark.slow
def test_dead_worker_fails_only_the_run_that_killed_it(tmp_path):
    path = tmp_path / "s.sqlite"
    grid = small_grid(4)
    culprits = {s.key for s in grid if s.seed == 2}
    result = run_sweep(grid, store=path, workers=2, runner=crashing_runner)
    assert (result.done, result.failed) == (12, 4)
    assert {k for k, _ in result.errors} == culprits  # bystanders were retried, alone
    assert all("worker process died" in m for _, m in result.errors)
    with Store(path) as store:
        assert {r.key for r in store.runs() if r.failed} == culprits
        assert len(store) == 16
    rerun = run_sweep(grid, store=path, workers=2, runner=fake_runner)
    assert (rerun.done, rerun.skipped, rerun.failed) == (4, 12, 0)


def test_executor_arguments_are_checked(tmp_path):
    path = tmp_path / "s.sqlite"
    with pytest.raises(ParameterError, match="not both"):
        run_sweep(small_grid(1), store=path, workers=2, dask="local:2")
    with pytest.raises(ParameterError, match="workers must be"):
        run_sweep(small_grid(1), store=path, workers=0)
    with pytest.raises(ParameterError, match="RunSpec"):
        run_sweep([("x1", 8)], store=path)  # type: ignore[list-item]


def test_dask_missing_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    path = tmp_path / "s.sqlite"
    with pytest.raises(BackendUnavailableError, match=r"pip install 'csqbound\[dask\]'"):
        run_sweep(small_grid(1), store=path, dask="local:2", runner=fake_runner)
    assert not path.exists()  # checked before any work
    run_sweep(small_grid(1), store=path, workers=1, runner=fake_runner)
    with pytest.raises(BackendUnavailableError, match="Dask is not installed"):
        run_sweep(small_grid(1), store=path, dask="tcp://127.0.0.1:8786", runner=fake_runner)


def test_bad_dask_address(tmp_path):
    pytest.importorskip("distributed", reason="Dask is an optional extra (csqbound[dask])")
    with pytest.raises(ParameterError, match="scheduler address"):
        run_sweep(small_grid(1), store=tmp_path / "s.sqlite", dask="myhost", runner=fake_runner)
    with pytest.raises(ParameterError, match="positive integer"):
        run_sweep(small_grid(1), store=tmp_path / "s.sqlite", dask="local:x", runner=fake_runner)


def test_dask_local_cluster_gives_the_same_numbers(tmp_path):
    pytest.importorskip("distributed", reason="Dask is an optional extra (csqbound[dask])")
    grid = small_grid(2)
    run_sweep(grid, store=tmp_path / "a.sqlite", workers=1, runner=fake_runner)
    result = run_sweep(grid, store=tmp_path / "b.sqlite", dask="local:2", runner=fake_runner)
    assert result.executor.startswith("dask:tcp://")
    assert (result.done, result.failed) == (8, 0)
    assert stored_numbers(tmp_path / "a.sqlite") == stored_numbers(tmp_path / "b.sqlite")


def test_dask_worker_killed_mid_sweep_still_completes(tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="Dask is an optional extra (csqbound[dask])"
    )
    import logging

    grid = small_grid(3)  # 12 runs of 0.4 s on 2 workers
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        killed: list[int] = []

        def progress(event: SweepProgress) -> None:
            if event.outcome == "done" and not killed:
                os.kill(victim, signal.SIGKILL)  # both workers are busy: a task dies with it
                killed.append(victim)

        result = run_sweep(
            grid,
            store=tmp_path / "s.sqlite",
            dask=cluster.scheduler_address,  # "tcp://127.0.0.1:PORT": an existing scheduler
            runner=slow_runner,
            progress=progress,
        )
        assert killed == [victim]
        client.wait_for_workers(2, timeout=60)  # the nanny restarted the dead one
        assert victim not in client.run(os.getpid).values()
    assert result.executor == f"dask:{cluster.scheduler_address}"
    assert (result.done, result.failed) == (12, 0)
    with Store(tmp_path / "s.sqlite") as store:
        assert len(store) == 12
        assert store.integrity_check() == "ok"
    reference = {s.key: fake_runner(s)["samples_to_learn"] for s in grid}
    assert {k: list(v[1]) for k, v in stored_numbers(tmp_path / "s.sqlite").items()} == reference


# -- faults: SIGKILL, concurrent sweeps ----------------------------------------------------------
def _sweep_script(store: Path, seeds: list[int], workers: int, reverse: bool = False) -> str:
    return textwrap.dedent(
        f"""
        import json, sys
        sys.path[:0] = [{str(REPO)!r}, {str(TESTS)!r}]
        from test_sweep import sleepy_runner, small_grid
        from csqbound.experiments.sweep import run_sweep
        if __name__ == "__main__":
            grid = small_grid({seeds!r})
            if {reverse!r}:
                grid = grid[::-1]
            result = run_sweep(grid, store={str(store)!r}, workers={workers}, runner=sleepy_runner)
            print(json.dumps(result.to_dict()))
        """
    )


def _count_rows(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return 0


def _children(pid: int) -> list[int]:
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            out.append(int(status.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state  # a zombie has exited


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_pool_workers_die_with_a_killed_parent(tmp_path):
    path = tmp_path / "w.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", _sweep_script(path, [0, 1, 2, 3, 4], workers=2)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip  (no pipes: surviving workers would hold them open)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while _count_rows(path) < 1:
            assert proc.poll() is None, "the sweep exited early"
            assert time.monotonic() < deadline, "the sweep stored nothing within 60 s"
            time.sleep(0.02)
        workers = _children(proc.pid)
        assert workers, "no pool worker found"
        os.kill(proc.pid, signal.SIGKILL)  # the parent only: its workers are left behind
        proc.wait()
        deadline = time.monotonic() + 20
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), "pool workers outlived their parent"
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)


def test_sigkill_mid_sweep_loses_nothing_stored_and_resumes(tmp_path):
    path = tmp_path / "s.sqlite"
    seeds = [0, 1, 2, 3, 4]  # 20 runs of 0.1 s
    proc = subprocess.Popen(
        [sys.executable, "-c", _sweep_script(path, seeds, workers=2)],
        cwd=tmp_path,
        start_new_session=True,  # its own process group: the pool workers die with it
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _count_rows(path) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the sweep stored nothing within 60 s"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    before = stored_numbers(path)
    assert 3 <= len(before) < 20
    grid = small_grid(seeds)
    result = run_sweep(grid, store=path, workers=2, runner=sleepy_runner)
    assert (result.skipped, result.done, result.failed) == (len(before), 20 - len(before), 0)
    after = stored_numbers(path)
    assert set(after) == {s.key for s in grid}
    assert all(after[k] == v for k, v in before.items())  # stored runs untouched
    with Store(path) as store:
        assert store.integrity_check() == "ok"
        (count,) = store.conn.execute("SELECT count(*) FROM runs").fetchone()
        (distinct,) = store.conn.execute("SELECT count(DISTINCT key) FROM runs").fetchone()
    assert count == distinct == 20
    for spec in grid:
        assert list(after[spec.key][1]) == fake_runner(spec)["samples_to_learn"]


def test_two_sweeps_share_one_store(tmp_path):
    path = tmp_path / "s.sqlite"
    seeds = [0, 1, 2, 3, 4]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _sweep_script(path, seeds, workers=1, reverse=rev)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rev in (False, True)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert all(r["failed"] == 0 and r["total"] == 20 for r in results)
    assert sum(r["done"] for r in results) == 20  # each run stored by exactly one sweep
    assert all(r["done"] + r["skipped"] == 20 for r in results)
    with Store(path) as store:
        assert store.integrity_check() == "ok"
        assert len(store) == 20
        assert {r.key for r in store.runs()} == {s.key for s in small_grid(seeds)}


def test_points_of_a_sweep_are_seed_times_replica(tmp_path):
    from csqbound.experiments.scaling import points_from_runs

    path = tmp_path / "s.sqlite"
    run_sweep(small_grid(2), store=path, workers=1, runner=fake_runner)
    with Store(path) as store:
        points = points_from_runs(store.runs(d=16))
    assert points.d.tolist() == [16] * 6
    assert sorted(zip(points.seed.tolist(), points.replica.tolist(), strict=True)) == [
        (s, r) for s in (0, 1) for r in range(3)
    ]
    assert not np.isnan(points.n).any()
    assert math.isfinite(points.n[0])


def test_driver_resubmits_lost_runs_then_gives_up(tmp_path):
    """The executor-independent driver: lost results are resubmitted, at most MAX_RESUBMITS."""
    from csqbound.experiments import sweep as sw

    grid = small_grid(2)
    flaky, lost = grid[1], grid[2]
    losses = {flaky.key: 2, lost.key: 10**6}
    submitted: list[str] = []

    def submit(spec):
        submitted.append(spec.key)
        return (spec, len(submitted))  # a "future"

    def result_of(future):
        spec = future[0]
        if losses.get(spec.key, 0) > 0:
            losses[spec.key] -= 1
            return sw._Resubmit("lost")
        return sw._execute(fake_runner, spec)

    with Store(tmp_path / "s.sqlite") as store:
        tracker = sw._Tracker(store, len(grid), True, None)
        sw._drive(grid, tracker, submit, lambda fs: fs[:1], result_of, lambda: 3, {})
        assert (tracker.done, tracker.failed) == (len(grid) - 1, 1)
        assert tracker.errors[0][0] == lost.key
        assert f"after {sw.MAX_RESUBMITS} resubmissions" in tracker.errors[0][1]
    assert submitted.count(flaky.key) == 3
    assert submitted.count(lost.key) == sw.MAX_RESUBMITS + 1


def test_a_script_without_a_main_guard_is_named_not_blamed_on_the_runs(tmp_path):
    script = tmp_path / "noguard.py"
    script.write_text(
        "import csqbound\n"
        "csqbound.verify('x1', ds=[8, 16], seeds=2, store='g.sqlite', workers=2,\n"
        "                settings={'samples': 20000, 'replicas': 2})\n"
    )
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode != 0
    assert "__main__" in done.stderr and "guard" in done.stderr
    assert "worker process died" not in done.stderr


def test_missing_main_guard_reads_the_script_and_never_runs_it(tmp_path, monkeypatch):
    import types

    from csqbound.experiments.sweep import missing_main_guard

    guarded = tmp_path / "ok.py"
    guarded.write_text("raise SystemExit('never run')\nif __name__ == '__main__':\n    pass\n")
    bare = tmp_path / "bare.py"
    bare.write_text("raise SystemExit('never run')\n")
    for path, expect in ((guarded, None), (bare, str(bare))):
        monkeypatch.setitem(sys.modules, "__main__", types.SimpleNamespace(__file__=str(path)))
        hint = missing_main_guard()
        assert hint is None if expect is None else expect in hint
    monkeypatch.setitem(sys.modules, "__main__", types.SimpleNamespace())  # interactive
    assert missing_main_guard() is None
