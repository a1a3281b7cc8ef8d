"""The SQLite results store: keys, round trips, no duplicates, foreign and corrupt files."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import CsqboundError, ParameterError
from csqbound.experiments.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    Store,
    StoreError,
    canonical_json,
    jsonable,
    normalize_run_dict,
    run_key,
)
from csqbound.experiments.sweep import RunSpec, make_grid


def run_dict(replicas: int = 2, base: int = 100) -> dict:
    return {
        "status": ["ok"] * (replicas - 1) + ["budget_exhausted"],
        "samples_to_learn": [base + i for i in range(replicas - 1)] + [None],
        "samples_seen": [base + i for i in range(replicas - 1)] + [5000],
        "wall_time": 1.5,
        "learning_times": {"x1*x2": base},  # medians: ignored in favour of per replica
        "learning_times_per_replica": {"x1*x2": [base] * (replicas - 1) + [None]},
        "var_f": float("nan"),
    }


SPEC = RunSpec("x1*x2", "boolean", 8, 0, {"replicas": 2, "samples": 5000})


# -- keys ---------------------------------------------------------------------------------------
def test_run_key_is_sha256_of_canonical_json():
    settings = {"width": 64, "lr": None, "stop_loss": 0.1}
    payload = {
        "code_version": "9.9",
        "d": 16,
        "domain": "boolean",
        "seed": 3,
        "settings": {"lr": None, "stop_loss": 0.1, "width": 64},
        "target": "x1*x2",
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    assert (
        run_key("x1*x2", "boolean", 16, 3, settings, "9.9")
        == hashlib.sha256(text.encode()).hexdigest()
    )


def test_run_key_depends_on_every_field():
    base = ("x1*x2", "boolean", 16, 3, {"width": 64}, "0.1.0")
    keys = {
        run_key(*base),
        run_key("x1*x3", *base[1:]),
        run_key(base[0], "gaussian", *base[2:]),
        run_key(*base[:2], 32, *base[3:]),
        run_key(*base[:3], 4, *base[4:]),
        run_key(*base[:4], {"width": 65}, base[5]),
        run_key(*base[:5], "0.2.0"),
    }
    assert len(keys) == 7
    assert run_key(*base[:4], {"width": 64}, base[5]) == run_key(*base)  # a copy, same key


def test_jsonable_and_canonical_json():
    assert canonical_json({"b": [1, (2, 3)], "a": float("inf")}) == '{"a":null,"b":[1,[2,3]]}'
    with pytest.raises(ParameterError, match="no JSON form"):
        jsonable({"a": {1, 2}})


def test_normalize_run_dict_checks_the_fields():
    out = normalize_run_dict(run_dict(3))
    assert out["learning_times"] == {"x1*x2": [100, 100, None]}
    assert out["run"]["var_f"] is None  # nan is not JSON
    with pytest.raises(ParameterError, match="lacks samples_seen"):
        normalize_run_dict({"status": ["ok"], "samples_to_learn": [1]})
    with pytest.raises(ParameterError, match="one entry per replica"):
        normalize_run_dict({"status": ["ok"], "samples_to_learn": [1, 2], "samples_seen": [1]})
    with pytest.raises(ParameterError, match="whole numbers"):
        normalize_run_dict({"status": ["ok"], "samples_to_learn": [1.5], "samples_seen": [1]})
    with pytest.raises(ParameterError, match="must return a dict"):
        normalize_run_dict([1, 2])  # type: ignore[arg-type]


# -- round trips --------------------------------------------------------------------------------
def test_put_get_round_trip_and_header(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        assert store.put(SPEC, run_dict()) is True
        row = store.get(SPEC.key)
        assert store.has(SPEC.key)
        assert not store.has("0" * 64)
        assert store.get("0" * 64) is None
        assert store.meta()["application"] == "csqbound"
        assert store.meta()["schema_version"] == str(SCHEMA_VERSION)
    assert row is not None
    assert (row.target, row.domain, row.d, row.seed) == ("x1*x2", "boolean", 8, 0)
    assert row.settings == {"replicas": 2, "samples": 5000}
    assert row.status == ("ok", "budget_exhausted")
    assert row.samples_to_learn == (100, None)
    assert row.samples_seen == (100, 5000)
    assert row.wall_time == 1.5
    assert row.learning_times == {"x1*x2": (100, None)}
    assert row.run["learning_times"] == {"x1*x2": 100}
    assert row.error is None
    assert not row.failed
    assert row.replicas == 2
    assert row.created.endswith("+00:00")
    assert json.loads(json.dumps(row.to_dict()))["samples_to_learn"] == [100, None]
    # what an independent reader sees in the file
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_a_finished_run_is_never_stored_twice_nor_overwritten(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        assert store.put(SPEC, run_dict(base=100))
        assert not store.put(SPEC, run_dict(base=999))
        assert not store.put_error(SPEC, "late failure")
        row = store.get(SPEC.key)
        assert row is not None
        assert row.samples_to_learn == (100, None)
        assert row.error is None
        assert len(store) == 1


def test_a_failed_run_is_replaced_by_a_rerun(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        assert store.put_error(SPEC, "ValueError: first")
        row = store.get(SPEC.key)
        assert row is not None
        assert row.failed
        assert row.status == ("error", "error")
        assert row.samples_to_learn == (None, None)
        assert store.has(SPEC.key)
        assert not store.has(SPEC.key, include_failed=False)
        assert store.keys(include_failed=False) == set()
        assert store.put_error(SPEC, "ValueError: second")
        assert store.get(SPEC.key).error == "ValueError: second"  # type: ignore[union-attr]
        assert store.put(SPEC, run_dict())
        assert not store.get(SPEC.key).failed  # type: ignore[union-attr]
        assert len(store) == 1


def test_runs_filters(tmp_path):
    grid = make_grid(["x1*x2", "x1 + x1*x2"], [8, 16], 2, {"replicas": 2, "samples": 5000})
    with Store(tmp_path / "s.sqlite") as store:
        for spec in grid:
            store.put(spec, run_dict())
        store.put_error(RunSpec("x1*x2", "gaussian", 8, 0, {"replicas": 2}), "boom")
        assert len(store.runs()) == 9
        assert len(store.runs(target="x1*x2")) == 5
        assert len(store.runs(target="x1*x2", domain="boolean")) == 4
        assert [r.d for r in store.runs(target="x1*x2", domain="boolean")] == [8, 8, 16, 16]
        assert len(store.runs(d=[8, 16], seed=1)) == 4
        assert len(store.runs(include_failed=False)) == 8
        assert len(store.runs(code_version="nope")) == 0
        assert store.keys() == {s.key for s in grid} | {
            RunSpec("x1*x2", "gaussian", 8, 0, {"replicas": 2}).key
        }


def test_two_connections_writing_the_same_keys(tmp_path):
    """Threads with their own connections: every key once, no error (busy_timeout)."""
    path = tmp_path / "s.sqlite"
    Store(path).close()
    grid = make_grid("x1*x2", [8, 16, 32], 10, {"replicas": 2, "samples": 5000})
    wrote: list[bool] = []
    errors: list[BaseException] = []

    def writer(order):
        try:
            with Store(path) as store:
                for spec in order:
                    wrote.append(store.put(spec, run_dict()))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(o,)) for o in (grid, grid[::-1])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(wrote) == len(grid)
    with Store(path) as store:
        assert len(store) == len(grid)
        assert store.integrity_check() == "ok"


@given(
    ops=st.lists(
        st.tuples(st.integers(0, 4), st.sampled_from(["ok", "error"]), st.integers(1, 50)),
        min_size=1,
        max_size=25,
    )
)
def test_store_law_one_row_per_key_first_success_wins(tmp_path_factory, ops):
    """Against a dict model: a success is kept forever; failures are replaced."""
    path = tmp_path_factory.mktemp("law") / "s.sqlite"
    specs = [RunSpec("x1*x2", "boolean", 8, seed, {"replicas": 2}) for seed in range(5)]
    model: dict[str, tuple[str, int]] = {}
    with Store(path) as store:
        for seed, kind, value in ops:
            key = specs[seed].key
            held = model.get(key)
            if kind == "ok":
                wrote = store.put(specs[seed], run_dict(base=value))
                expect = held is None or held[0] == "error"
                if expect:
                    model[key] = ("ok", value)
            else:
                wrote = store.put_error(specs[seed], f"error {value}")
                expect = held is None or held[0] == "error"
                if expect:
                    model[key] = ("error", value)
            assert wrote == expect
        assert len(store) == len(model)
        for key, (kind, value) in model.items():
            row = store.get(key)
            assert row is not None
            if kind == "ok":
                assert row.samples_to_learn[0] == value
                assert row.error is None
            else:
                assert row.error == f"error {value}"


# -- foreign, corrupt, missing ---------------------------------------------------------------
def test_text_file_is_one_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 20)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a csqbound results store.*not a SQLite database"):
        Store(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_foreign_sqlite_file_is_recognised_and_left_alone(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('ada')")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another application.*customers"):
        Store(path)
    assert path.read_bytes() == before  # not switched to WAL, not touched
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA application_id = 1234")
    conn.close()
    with pytest.raises(StoreError, match="application_id 0x4d2"):
        Store(path)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer csqbound"):
        Store(path)


@pytest.mark.parametrize("keep", [0.5, 0.2, 1000, 50])
def test_truncated_store_is_one_clear_error(tmp_path, keep):
    path = tmp_path / "s.sqlite"
    grid = make_grid("x1*x2", list(range(8, 88)), 2, {"replicas": 2, "samples": 5000})
    with Store(path) as store:
        for spec in grid:
            store.put(spec, {**run_dict(), "pad": "x" * 400})
    data = path.read_bytes()
    assert not (tmp_path / "s.sqlite-wal").exists()  # checkpointed on close
    size = int(len(data) * keep) if isinstance(keep, float) else keep
    path.write_bytes(data[:size])
    with pytest.raises(StoreError, match="truncated|malformed"):
        Store(path)


def test_corrupt_pages_are_one_clear_error(tmp_path):
    path = tmp_path / "s.sqlite"
    grid = make_grid("x1*x2", list(range(8, 88)), 2, {"replicas": 2, "samples": 5000})
    with Store(path) as store:
        for spec in grid:
            store.put(spec, {**run_dict(), "pad": "x" * 400})
    data = bytearray(path.read_bytes())
    data[8192:16384] = bytes(range(256)) * 32  # garbage over two pages
    path.write_bytes(bytes(data))
    # at open, or at the first full read
    with pytest.raises(StoreError, match="malformed"), Store(path) as store:
        store.runs()


def test_paths_that_cannot_be_stores(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "nowhere" / "s.sqlite")
    with pytest.raises(StoreError, match="no such results store"):
        Store(tmp_path / "missing.sqlite", create=False)
    assert issubclass(StoreError, CsqboundError)
    assert issubclass(StoreError, ValueError)


def test_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "s.sqlite"
    path.touch()
    with Store(path) as store:
        assert len(store) == 0
        assert store.integrity_check() == "ok"
    with Store(path, create=False) as store:  # reopening finds a store
        assert store.meta()["application_id"] == str(APPLICATION_ID)


def test_closed_store_is_an_error(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.has("x")


def test_opening_waits_for_another_process_creating_the_store(tmp_path):
    """A store opened while another connection holds the file locked waits, then opens."""
    import sqlite3
    import threading
    import time

    path = tmp_path / "busy.sqlite"
    held = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN EXCLUSIVE")
        held.set()
        time.sleep(0.6)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    start = time.monotonic()
    with Store(path, timeout=10) as store:
        assert len(store) == 0
        assert store.integrity_check() == "ok"
    thread.join()
    assert time.monotonic() - start >= 0.3  # it waited for the lock instead of failing


def test_a_store_locked_for_too_long_is_a_clear_error(tmp_path):
    import sqlite3

    path = tmp_path / "locked.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(CsqboundError, match="locked"):
            Store(path, timeout=0.5)
    finally:
        conn.execute("COMMIT")
        conn.close()


# many processes at once (18 s): the slow step; the fast suite keeps the two-sweep case
@pytest.mark.slow
def test_many_processes_creating_one_store_at_once_all_succeed(tmp_path):
    """Creation race: every process must see either no store or a whole one, never half."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    code = (
        "import sys; from csqbound.experiments.store import Store\n"
        "with Store(sys.argv[1]) as s: assert len(s) == 0\n"
    )
    for round_ in range(4):
        path = tmp_path / f"race{round_}.sqlite"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(5)
        ]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        with Store(path) as store:
            assert store.integrity_check() == "ok"


def test_identity_is_read_from_one_snapshot(tmp_path):
    """Deterministic version of the creation race: another process commits the new store's
    schema between two of our reads; what we read must still be one consistent state."""
    import sqlite3

    from csqbound.experiments.store import APPLICATION_ID

    path = tmp_path / "snap.sqlite"
    creator = sqlite3.connect(path, isolation_level=None)
    creator.execute("PRAGMA journal_mode = WAL")
    creator.execute("BEGIN IMMEDIATE")
    creator.execute("CREATE TABLE meta (x)")
    creator.execute("CREATE TABLE runs (x)")
    creator.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    creator.execute("PRAGMA user_version = 1")
    reader = sqlite3.connect(path, isolation_level=None)

    class CommitAfterFirstRead:
        """A connection whose first read lets the creator commit (the unlucky timing)."""

        reads = 0

        @property
        def in_transaction(self) -> bool:
            return reader.in_transaction

        def execute(self, sql: str) -> sqlite3.Cursor:
            cursor = reader.execute(sql)
            if not sql.startswith(("BEGIN", "COMMIT")):
                self.reads += 1
                if self.reads == 1:
                    creator.execute("COMMIT")
            return cursor

    state = Store._identity(CommitAfterFirstRead())  # type: ignore[arg-type]
    assert state in ((0, 0, set()), (APPLICATION_ID, 1, {"meta", "runs"}))
    reader.close()
    creator.close()


#: Modules the trainer imports that cannot change a run's numbers (messages, checks, display).
_NOT_NUMERIC = {"errors.py", "limits.py", "_validation.py", "progress.py", "display.py"}


def _imports(root: Path, rel: str) -> set[str]:
    """The csqbound modules ``rel`` imports, at module level or inside functions."""
    import ast

    found = set()
    for node in ast.walk(ast.parse((root / rel).read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("csqbound."):
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("csqbound.")]
        else:
            continue
        for name in names:
            path = "/".join(name.split(".")[1:]) + ".py"
            if (root / path).is_file():
                found.add(path)
    return found


def test_the_code_version_hashes_every_module_the_trainer_runs() -> None:
    """A module the trainer imports (lazily too: the numba kernel) is in the run key's hash."""
    from csqbound.experiments.store import _NUMERIC_MODULES

    root = Path(__file__).resolve().parent.parent / "csqbound"
    seen, todo = set(), ["sgd/train.py"]
    while todo:
        rel = todo.pop()
        if rel not in seen:
            seen.add(rel)
            todo.extend(_imports(root, rel) - seen)
    assert {"sgd/fused.py", "sgd/footprint.py"} <= seen  # the walk sees lazy imports
    assert seen - _NOT_NUMERIC <= set(_NUMERIC_MODULES)
