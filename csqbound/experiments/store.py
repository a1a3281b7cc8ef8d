"""The SQLite results store of SGD sweeps: one row per run, one transaction per finished run.

A store is one SQLite file (stdlib :mod:`sqlite3`; default ``csqbound.sqlite``
in the working directory). Every finished run of a sweep is committed on its
own, under a key that is the SHA-256 of a canonical JSON of what determines the
run's numbers: target text, domain, ``d``, seed, settings and code version
(:func:`run_key`). Hence:

Resume
    A repeated sweep asks :meth:`Store.keys` (or :meth:`Store.has`) and skips
    what is stored.
Crash safety
    The file is in WAL mode with ``synchronous=FULL``; a row is written by a
    single ``INSERT`` in autocommit mode, which SQLite makes atomic and durable.
    A sweep killed at any moment (``kill -9`` included) loses at most the runs
    in flight, never a stored one.
No duplicates
    ``key`` is the PRIMARY KEY and rows are written with
    ``INSERT ... ON CONFLICT(key) DO UPDATE ... WHERE runs.error IS NOT NULL``:
    a finished run is never stored twice nor overwritten; only a failed run
    (status ``"error"``) is replaced when it is rerun. Concurrent writers (two
    sweeps on one file) wait for each other (``busy_timeout``).
Recognising foreign files
    The header's ``application_id`` is :data:`APPLICATION_ID` (``"CSQB"``) and
    ``user_version`` is :data:`SCHEMA_VERSION`; a ``meta`` table repeats both
    for humans. A text file, another application's SQLite file, a truncated or
    corrupt file or a store written by a newer csqbound is one clear
    :class:`StoreError`, never a traceback from :mod:`sqlite3`, and a foreign
    file is never modified.

Stored per run: key, target, domain, d, seed, settings (JSON), code version,
status per replica (JSON), samples-to-learn per replica (JSON), samples seen per
replica (JSON), wall time, learning times per monomial and replica (JSON), the
full run dict (JSON), the error message of a failed run, and the UTC time the
row was written.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import math
import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from csqbound._version import __version__
from csqbound.errors import CsqboundError, ParameterError, shorten

__all__ = [
    "APPLICATION_ID",
    "DEFAULT_PATH",
    "SCHEMA_VERSION",
    "SQLITE_MAGIC",
    "SpecLike",
    "Store",
    "StoreError",
    "StoredRun",
    "canonical_json",
    "code_version",
    "distinguishing_settings",
    "jsonable",
    "normalize_run_dict",
    "run_key",
    "same_target",
]

#: ``PRAGMA application_id`` of a csqbound store: the bytes ``b"CSQB"``.
APPLICATION_ID = 0x43535142
#: ``PRAGMA user_version``: the schema version this code writes and reads.
SCHEMA_VERSION = 1
#: The store's file name when the caller gives none (in the working directory).
DEFAULT_PATH = "csqbound.sqlite"
#: The first 16 bytes of every SQLite 3 database file.
SQLITE_MAGIC = b"SQLite format 3\x00"

#: SQLite's message for SQLITE_FULL (no room left on the store's disk).
_DISK_FULL = "database or disk is full"

_SCHEMA = """
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE runs (
    key              TEXT PRIMARY KEY,
    target           TEXT NOT NULL,
    domain           TEXT NOT NULL,
    d                INTEGER NOT NULL,
    seed             INTEGER NOT NULL,
    settings         TEXT NOT NULL,
    code_version     TEXT NOT NULL,
    status           TEXT NOT NULL,
    samples_to_learn TEXT NOT NULL,
    samples_seen     TEXT NOT NULL,
    wall_time        REAL,
    learning_times   TEXT NOT NULL,
    run              TEXT NOT NULL,
    error            TEXT,
    created          TEXT NOT NULL
);
CREATE INDEX runs_by_target ON runs (target, domain, d, seed);
"""

_COLUMNS = (
    "key",
    "target",
    "domain",
    "d",
    "seed",
    "settings",
    "code_version",
    "status",
    "samples_to_learn",
    "samples_seen",
    "wall_time",
    "learning_times",
    "run",
    "error",
    "created",
)

_UPSERT = (
    f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT(key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "key")
    + " WHERE runs.error IS NOT NULL"
)


class _StoreBusyError(Exception):
    """Another connection holds the lock while the store is being opened (retried)."""


class StoreError(CsqboundError):
    """A results store that cannot be used: foreign, corrupt, newer, missing or unwritable."""


class SpecLike(Protocol):
    """What :meth:`Store.put` needs of a run spec (:class:`~csqbound.experiments.sweep.RunSpec`)."""

    @property
    def key(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def domain(self) -> str: ...
    @property
    def d(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def settings(self) -> Mapping[str, Any]: ...
    @property
    def code_version(self) -> str: ...


# -- keys ---------------------------------------------------------------------------------
#: Modules whose source decides the numbers a run produces; their hash is part of the
#: code version, so editing the trainer invalidates stored runs even without a release.
_NUMERIC_MODULES = (
    "sgd/backend.py",
    "sgd/footprint.py",  # the block and chunk sizes: where blocks start decides the rounding
    "sgd/fused.py",
    "sgd/network.py",
    "sgd/losses.py",
    "sgd/protocol.py",
    "sgd/train.py",
    "sgd/plateaus.py",
    "target.py",
    "parsing.py",
    "expansion.py",
    "walsh.py",
    "hermite.py",
    "_polyutils.py",
    "leaps.py",
    "queries.py",
    "isoleap.py",
    "prediction.py",
    "dlq.py",
    "monomial.py",
)


@functools.cache
def code_version() -> str:
    """The version of csqbound that produced a run (part of every run's key).

    ``"<release>+<hash>"``: the release number and a short SHA-256 of the
    sources of the modules that decide a run's numbers (the trainer, the
    target evaluation, the expansions), so a stored run is reused only by the
    very code that would reproduce it.

    Examples
    --------
    >>> import csqbound
    >>> code_version().startswith(csqbound.__version__ + "+")
    True
    """
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in _NUMERIC_MODULES:
        digest.update(name.encode())
        digest.update((root / name).read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def jsonable(value: Any) -> Any:
    """A JSON-ready copy: tuples and arrays become lists, numpy scalars Python numbers.

    Mapping keys become strings; non-finite floats (``nan``, ``inf``) become ``None``.

    Raises
    ------
    ParameterError
        For a value with no JSON form (a set, an object, ...).

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"a": (1, np.int64(2)), 3: [np.float32(0.5), float("nan")]})
    {'a': [1, 2], '3': [0.5, None]}
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return jsonable(tolist())
    msg = f"{value!r} (a {type(value).__name__}) has no JSON form: use numbers, text, lists, dicts"
    raise ParameterError(msg)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, ASCII: equal data give equal text.

    Examples
    --------
    >>> canonical_json({"b": 1, "a": [1.0, None]})
    '{"a":[1.0,null],"b":1}'
    """
    return json.dumps(
        jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def run_key(
    target: str,
    domain: str,
    d: int,
    seed: int,
    settings: Mapping[str, Any],
    code_version: str,
) -> str:
    """The key of a run: SHA-256 (hex) of the canonical JSON of what determines its numbers.

    Examples
    --------
    >>> k = run_key("x1*x2", "boolean", 16, 0, {"width": 64}, "0.1.0")
    >>> len(k), k == run_key("x1*x2", "boolean", 16, 0, {"width": 64}, "0.1.0")
    (64, True)
    >>> k == run_key("x1*x2", "boolean", 16, 1, {"width": 64}, "0.1.0")
    False
    """
    payload = {
        "target": target,
        "domain": domain,
        "d": int(d),
        "seed": int(seed),
        "settings": dict(settings),
        "code_version": code_version,
    }
    return hashlib.sha256(canonical_json(payload).encode("ascii")).hexdigest()


# -- rows ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredRun:
    """One row of a store.

    Attributes
    ----------
    key
        :func:`run_key` of the run.
    target, domain, d, seed, settings, code_version
        The run's specification.
    status
        Per replica: ``"ok"``, ``"diverged"``, ``"budget_exhausted"``, or
        ``"error"`` for every replica of a failed run.
    samples_to_learn
        Per replica (``None``: not reached).
    samples_seen
        Per replica.
    wall_time
        Seconds the run took (``None`` for a failed run).
    learning_times
        Monomial name -> per replica its learning time (``None``: not learned).
    run
        The full run dict (:meth:`csqbound.sgd.train.Run.to_dict` for real runs).
    error
        The error message of a failed run, else ``None``.
    created
        UTC time the row was written (ISO 8601).
    """

    key: str
    target: str
    domain: str
    d: int
    seed: int
    settings: Mapping[str, Any] = field(hash=False)
    code_version: str
    status: tuple[str, ...]
    samples_to_learn: tuple[int | None, ...]
    samples_seen: tuple[int, ...]
    wall_time: float | None
    learning_times: Mapping[str, tuple[int | None, ...]] = field(hash=False)
    run: Mapping[str, Any] = field(hash=False)
    error: str | None
    created: str

    @property
    def failed(self) -> bool:
        """Whether the run raised (its status is ``"error"``)."""
        return self.error is not None

    @property
    def loss(self) -> str:
        """The training loss; ``"squared"`` for runs stored before losses could be chosen.

        Examples
        --------
        >>> run = StoredRun("k", "x1", "boolean", 4, 0, {}, "0.1.0", ("ok",), (10,), (10,),
        ...                 1.0, {}, {}, None, "2026-01-01T00:00:00+00:00")
        >>> run.loss
        'squared'
        """
        return str(self.settings.get("loss") or "squared")

    @property
    def replicas(self) -> int:
        """Number of replicas (points) of the run."""
        return len(self.status)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready.

        Examples
        --------
        >>> row = StoredRun("k", "x1", "boolean", 4, 0, {}, "0", ("ok",), (10,), (10,), 0.1,
        ...                 {"x1": (10,)}, {}, None, "2026-01-01T00:00:00+00:00")
        >>> row.to_dict()["learning_times"]
        {'x1': [10]}
        """
        return {
            "key": self.key,
            "target": self.target,
            "domain": self.domain,
            "d": self.d,
            "seed": self.seed,
            "settings": jsonable(self.settings),
            "code_version": self.code_version,
            "status": list(self.status),
            "samples_to_learn": list(self.samples_to_learn),
            "samples_seen": list(self.samples_seen),
            "wall_time": self.wall_time,
            "learning_times": {k: list(v) for k, v in self.learning_times.items()},
            "run": jsonable(self.run),
            "error": self.error,
            "created": self.created,
        }


def _int_or_none(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        msg = f"{what} must be whole numbers or None, got {value!r}"
        raise ParameterError(msg)
    return int(value)


def normalize_run_dict(run: Mapping[str, Any]) -> dict[str, Any]:
    """Check a runner's result and pull out the columns the store keeps.

    The run dict needs ``status``, ``samples_to_learn`` and ``samples_seen``
    (lists of one entry per replica); ``wall_time`` and the per-replica learning
    times (``learning_times_per_replica``, else ``learning_times`` when its
    values are lists) are optional.

    Returns
    -------
    dict
        ``status``, ``samples_to_learn``, ``samples_seen``, ``wall_time``,
        ``learning_times`` and ``run`` (the whole dict, JSON-ready).

    Raises
    ------
    ParameterError
        For a missing field or lists of different lengths.

    Examples
    --------
    >>> out = normalize_run_dict({"status": ["ok", "budget_exhausted"],
    ...                           "samples_to_learn": [96, None], "samples_seen": [96, 400]})
    >>> out["status"], out["learning_times"], out["wall_time"]
    (['ok', 'budget_exhausted'], {}, None)
    """
    if not isinstance(run, Mapping):
        msg = f"a runner must return a dict (Run.to_dict()), got {type(run).__name__}"
        raise ParameterError(msg)
    missing = [k for k in ("status", "samples_to_learn", "samples_seen") if k not in run]
    if missing:
        msg = f"the run dict lacks {', '.join(missing)}: a runner must return Run.to_dict()"
        raise ParameterError(msg)
    status = [str(s) for s in run["status"]]
    learn = [_int_or_none(v, "samples_to_learn") for v in run["samples_to_learn"]]
    seen = [_int_or_none(v, "samples_seen") for v in run["samples_seen"]]
    if not status or len(learn) != len(status) or len(seen) != len(status):
        msg = (
            f"status, samples_to_learn and samples_seen need one entry per replica, got "
            f"{len(status)}, {len(learn)} and {len(seen)}"
        )
        raise ParameterError(msg)
    times_src = run.get("learning_times_per_replica")
    if times_src is None:
        raw = run.get("learning_times") or {}
        times_src = {k: v for k, v in raw.items() if isinstance(v, list | tuple)}
    times = {
        str(k): [_int_or_none(v, "learning times") for v in vals] for k, vals in times_src.items()
    }
    for name, vals in times.items():
        if len(vals) != len(status):
            msg = f"learning times of {name} have {len(vals)} entries for {len(status)} replicas"
            raise ParameterError(msg)
    wall = run.get("wall_time")
    if wall is not None and (isinstance(wall, bool) or not isinstance(wall, int | float)):
        msg = f"wall_time must be a number, got {wall!r}"
        raise ParameterError(msg)
    return {
        "status": status,
        "samples_to_learn": learn,
        "samples_seen": seen,
        "wall_time": None if wall is None else float(wall),
        "learning_times": times,
        "run": jsonable(run),
    }


def _json_field(rec: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """Column ``name`` decoded from JSON and checked to be of ``kind``; else ``ValueError``."""
    text = rec[name]
    if not isinstance(text, str):
        msg = f"{name} is a {type(text).__name__}, not JSON text"
        raise ValueError(msg)
    value = json.loads(text)
    if not isinstance(value, kind):
        msg = f"{name} is a JSON {type(value).__name__}"
        raise ValueError(msg)
    return value


def _counts(values: list[Any], name: str, replicas: int) -> tuple[int | None, ...]:
    """Per-replica whole numbers (or ``None``), one per replica."""
    if len(values) != replicas:
        msg = f"{name} has {len(values)} entries for {replicas} replicas"
        raise ValueError(msg)
    return tuple(_int_or_none(v, name) for v in values)


def _text(rec: Mapping[str, Any], name: str, optional: bool = False) -> str | None:
    value = rec[name]
    if (value is None and optional) or isinstance(value, str):
        return value  # type: ignore[no-any-return]
    msg = f"{name} is a {type(value).__name__}, not text"
    raise ValueError(msg)


def _whole(rec: Mapping[str, Any], name: str) -> int:
    value = rec[name]
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} is {shorten(repr(value), 30)}, not an integer"
        raise ValueError(msg)
    return value


def _stored_run(rec: Mapping[str, Any]) -> StoredRun:
    """A :class:`StoredRun` from a row, every column checked for its type.

    Raises ``ValueError`` (or ``TypeError``) naming the first damaged column.
    """
    status = _json_field(rec, "status", list)
    if not all(isinstance(s, str) for s in status):
        msg = "status holds non-text entries"
        raise ValueError(msg)
    replicas = len(status)
    times = _json_field(rec, "learning_times", dict)
    wall = rec["wall_time"]
    if wall is not None and (isinstance(wall, bool) or not isinstance(wall, int | float)):
        msg = f"wall_time is {shorten(repr(wall), 30)}, not a number"
        raise ValueError(msg)
    return StoredRun(
        key=str(_text(rec, "key")),
        target=str(_text(rec, "target")),
        domain=str(_text(rec, "domain")),
        d=_whole(rec, "d"),
        seed=_whole(rec, "seed"),
        settings=_json_field(rec, "settings", dict),
        code_version=str(_text(rec, "code_version")),
        status=tuple(status),
        samples_to_learn=_counts(
            _json_field(rec, "samples_to_learn", list), "samples_to_learn", replicas
        ),
        samples_seen=_counts(_json_field(rec, "samples_seen", list), "samples_seen", replicas),  # type: ignore[arg-type]
        wall_time=None if wall is None else float(wall),
        learning_times={
            str(k): _counts(v if isinstance(v, list) else [v], f"learning times of {k}", replicas)
            for k, v in times.items()
        },
        run=_json_field(rec, "run", dict),
        error=_text(rec, "error", optional=True),
        created=str(_text(rec, "created")),
    )


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# -- the store -------------------------------------------------------------------------------
class Store:
    """A csqbound results store (SQLite), opened or created at ``path``.

    Parameters
    ----------
    path
        The file (default :data:`DEFAULT_PATH` in the working directory).
    create
        Create the file when missing; with ``False`` a missing file is an error.
    timeout
        Seconds to wait for a concurrent writer (SQLite ``busy_timeout``).

    Raises
    ------
    StoreError
        For a directory, a missing parent directory, a file that is not a
        csqbound store (text, another application's SQLite file), a truncated
        or corrupt file, or a store of a newer schema.

    Examples
    --------
    >>> import tempfile, os
    >>> from csqbound.experiments.sweep import RunSpec
    >>> path = os.path.join(tempfile.mkdtemp(), "runs.sqlite")
    >>> spec = RunSpec("x1*x2", "boolean", 8, 0, {"replicas": 2})
    >>> with Store(path) as store:
    ...     store.put(spec, {"status": ["ok", "ok"], "samples_to_learn": [640, 720],
    ...                      "samples_seen": [640, 720], "wall_time": 0.5})
    ...     store.put(spec, {"status": ["ok"], "samples_to_learn": [1], "samples_seen": [1]})
    ...     store.has(spec.key), len(store), store.get(spec.key).samples_to_learn
    True
    False
    (True, 1, (640, 720))
    >>> with Store(path) as store:
    ...     store.integrity_check()
    'ok'
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        create: bool = True,
        timeout: float = 60.0,
    ) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._conn = self._open(create=create, timeout=timeout)

    # -- opening --
    def _fail(self, what: str) -> StoreError:
        return StoreError(f"{self.path}: {what}")

    def _check_file(self, create: bool) -> None:
        p = self.path
        self._check_kind()
        if not p.exists():
            if not create:
                msg = "no such results store; run a sweep first or check the path"
                raise self._fail(msg)
            if not p.parent.is_dir():
                msg = f"cannot create the store: directory {p.parent} does not exist"
                raise self._fail(msg)
            return
        try:
            with p.open("rb") as fh:
                head = fh.read(100)
        except OSError as exc:
            msg = f"cannot read the store ({exc.strerror or exc})"
            raise self._fail(msg) from exc
        if not head:
            if not create:
                msg = "is an empty file, not a results store (nothing has been stored in it)"
                raise self._fail(msg)
            return  # an empty file is an empty database: it becomes a store
        if not head.startswith(SQLITE_MAGIC[: len(head)]) or len(head) < len(SQLITE_MAGIC):
            msg = (
                "is not a csqbound results store (not a SQLite database); "
                "choose another path or move the file away"
            )
            raise self._fail(msg)
        if len(head) < 100:
            msg = "is a truncated SQLite file (shorter than its header); restore it or remove it"
            raise self._fail(msg)

    def _check_kind(self) -> None:
        """Refuse anything but a regular file (or nothing yet), before any open().

        Opening a FIFO blocks until a writer appears, and SQLite would put a
        journal beside a device (``/dev/null-journal``): both are checked with
        ``os.stat`` first.
        """
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            return
        except OSError as exc:
            msg = f"cannot inspect the store ({exc.strerror or exc})"
            raise self._fail(msg) from exc
        if stat.S_ISDIR(mode):
            msg = "is a directory; give the path of a store file, e.g. csqbound.sqlite"
            raise self._fail(msg)
        if not stat.S_ISREG(mode):
            kinds = (
                (stat.S_ISFIFO, "a FIFO (named pipe)"),
                (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"),
                (stat.S_ISSOCK, "a socket"),
            )
            kind = next((name for test, name in kinds if test(mode)), "not a regular file")
            msg = (
                f"is {kind}; a results store must be a regular file (give a path such as "
                "csqbound.sqlite)"
            )
            raise self._fail(msg)

    def _open(self, *, create: bool, timeout: float) -> sqlite3.Connection:
        self._check_file(create)
        fresh = not self.path.exists()
        try:
            conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            msg = f"cannot open the store ({exc})"
            raise self._fail(msg) from exc
        # Two sweeps may open (and create) the same new store at once; SQLite can answer
        # "database is locked" at once (without waiting) while the other one switches the
        # file to WAL or writes the schema, so retry until `timeout` has passed.
        deadline = time.monotonic() + timeout
        delay = 0.01
        try:
            while True:
                try:
                    self._identify_and_init(conn, timeout)
                    break
                except _StoreBusyError as busy:
                    if time.monotonic() + delay > deadline:
                        msg = f"stayed locked by another process for {timeout:g} s ({busy})"
                        raise self._fail(msg) from busy
                    time.sleep(delay)
                    delay = min(2 * delay, 0.5)
        except BaseException as exc:
            conn.close()
            if fresh and _DISK_FULL in str(exc):  # a half-made store of ours: no 0-byte file left
                for leftover in ("", "-wal", "-shm", "-journal"):
                    Path(f"{self.path}{leftover}").unlink(missing_ok=True)
            raise
        return conn

    def _identify_and_init(self, conn: sqlite3.Connection, timeout: float) -> None:
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            app, version, tables = self._identity(conn)
            if app == 0 and not tables:
                # empty database: make it a store (WAL first; then the schema, atomically)
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    app, version, tables = self._identity(conn)
                    if app == 0 and not tables:  # nobody created it meanwhile
                        for statement in _SCHEMA.split(";"):
                            if statement.strip():
                                conn.execute(statement)
                        conn.executemany(
                            "INSERT INTO meta (name, value) VALUES (?, ?)",
                            [
                                ("application", "csqbound"),
                                ("application_id", str(APPLICATION_ID)),
                                ("schema_version", str(SCHEMA_VERSION)),
                                ("created", _now()),
                                ("created_by", code_version()),
                            ],
                        )
                        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                app, version, tables = self._identity(conn)
            if app != APPLICATION_ID:
                detail = f"application_id {app:#x}" if app else "no application_id"
                msg = (
                    f"is a SQLite database of another application ({detail}, tables "
                    f"{', '.join(sorted(tables)) or 'none'}), not a csqbound results store; "
                    "choose another path"
                )
                raise self._fail(msg)
            if version > SCHEMA_VERSION:
                msg = (
                    f"was written by a newer csqbound (schema {version}, this one reads "
                    f"{SCHEMA_VERSION}); upgrade csqbound"
                )
                raise self._fail(msg)
            if version < 1 or not {"meta", "runs"} <= tables:
                msg = "is a damaged csqbound store (its tables are missing); remove it"
                raise self._fail(msg)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("SELECT count(*) FROM runs").fetchone()  # touches every b-tree page
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise _StoreBusyError(str(exc)) from exc
            if _DISK_FULL in str(exc):
                msg = f"cannot write the store: the {_DISK_FULL}; free space or choose another path"
                raise self._fail(msg) from exc
            msg = (
                f"is not a usable csqbound results store: SQLite says '{exc}' "
                "(corrupt or truncated file?); restore it or remove it"
            )
            raise self._fail(msg) from exc
        except sqlite3.DatabaseError as exc:
            msg = (
                f"is not a usable csqbound results store: SQLite says '{exc}' "
                "(corrupt or truncated file?); restore it or remove it"
            )
            raise self._fail(msg) from exc

    @staticmethod
    def _identity(conn: sqlite3.Connection) -> tuple[int, int, set[str]]:
        """Application id, schema version and tables, read from one snapshot.

        Outside a transaction each statement would see its own snapshot, so a store
        being created by another process at that moment could look half made (its
        tables without its application id) and be mistaken for a foreign file.
        """
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")
        try:
            tables = {
                str(r[0])
                for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            app = int(conn.execute("PRAGMA application_id").fetchone()[0])
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            if own and conn.in_transaction:
                conn.execute("COMMIT")
        return app, version, tables

    # -- plumbing --
    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (for read-only queries by reports)."""
        if self._conn is None:
            msg = "the store is closed"
            raise self._fail(msg)
        return self._conn

    @contextmanager
    def _sql(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self.conn
        except sqlite3.DatabaseError as exc:
            if _DISK_FULL in str(exc):  # what was stored stays; a rerun resumes from it
                msg = f"the {_DISK_FULL}; free space and rerun to resume the sweep"
            else:
                msg = (
                    f"SQLite error '{exc}' (corrupt file, full disk, or a writer holding the lock?)"
                )
            raise self._fail(msg) from exc

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __len__(self) -> int:
        with self._sql() as conn:
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- queries --
    def has(self, key: str, *, include_failed: bool = True) -> bool:
        """Whether this key is stored (failed runs too, unless ``include_failed=False``)."""
        sql = "SELECT 1 FROM runs WHERE key = ?" + ("" if include_failed else " AND error IS NULL")
        with self._sql() as conn:
            return conn.execute(sql, (key,)).fetchone() is not None

    def keys(self, *, include_failed: bool = True) -> set[str]:
        """All stored keys (failed runs included unless ``include_failed=False``)."""
        sql = "SELECT key FROM runs" + ("" if include_failed else " WHERE error IS NULL")
        with self._sql() as conn:
            return {str(r[0]) for r in conn.execute(sql)}

    def meta(self) -> dict[str, str]:
        """The ``meta`` table: application, schema version, creation time, ..."""
        with self._sql() as conn:
            return {str(k): str(v) for k, v in conn.execute("SELECT name, value FROM meta")}

    def get(self, key: str) -> StoredRun | None:
        """The stored run with this key, or ``None``."""
        with self._sql() as conn:
            row = conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else self._row(row)

    def runs(
        self,
        *,
        target: str | None = None,
        domain: str | None = None,
        d: int | Sequence[int] | None = None,
        seed: int | Sequence[int] | None = None,
        code_version: str | None = None,
        include_failed: bool = True,
        loss: str | None = None,
        expression: str | None = None,
    ) -> list[StoredRun]:
        """Stored runs matching every filter given, ordered by target, domain, d, seed.

        Parameters
        ----------
        target, domain, code_version
            Exact matches (the target as the sweep wrote it).
        expression
            Runs whose target is this expression once both are parsed
            (:func:`same_target`: ``"x1 * x2"`` finds ``x1*x2``); an expression that
            does not parse raises :class:`~csqbound.errors.ParseError`.
        d, seed
            One value or several.
        include_failed
            Keep runs that raised (status ``"error"``).
        loss
            Only runs trained under this loss (:attr:`StoredRun.loss`: a run stored
            without one is a squared-loss run).
        """
        where: list[str] = []
        args: list[Any] = []
        exact = (("target", target), ("domain", domain), ("code_version", code_version))
        for column, value in exact:
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        for column, many in (("d", d), ("seed", seed)):
            if many is None:
                continue
            values = [many] if isinstance(many, int) else list(many)
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            args.extend(int(v) for v in values)
        if not include_failed:
            where.append("error IS NULL")
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY target, domain, d, seed, key"
        with self._sql() as conn:
            rows = conn.execute(sql, args).fetchall()
        found = [self._row(r) for r in rows]
        if expression is not None:
            wanted = _canonical(expression)
            same = {t: _canonical_or_none(t) == wanted for t in {r.target for r in found}}
            found = [r for r in found if same[r.target]]
        return found if loss is None else [r for r in found if r.loss == loss]

    def _row(self, row: Sequence[Any]) -> StoredRun:
        rec = dict(zip(_COLUMNS, row, strict=True))
        try:
            return _stored_run(rec)
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            key = rec.get("key")
            if isinstance(key, str) and key.isalnum() and len(key) <= 64:
                fix = f"sqlite3 {shorten(self.path, 40)} \"DELETE FROM runs WHERE key = '{key}'\""
            else:
                fix = "delete that row with sqlite3"
            msg = f"a row is damaged ({shorten(exc, 100)}); fix: {fix} (or remove the store)"
            raise self._fail(msg) from exc

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``'ok'``, or the problems found, one per line."""
        with self._sql() as conn:
            return "\n".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))

    # -- writes --
    def _write(self, spec: SpecLike, values: Mapping[str, Any], error: str | None) -> bool:
        record = {
            "key": spec.key,
            "target": spec.target,
            "domain": spec.domain,
            "d": int(spec.d),
            "seed": int(spec.seed),
            "settings": canonical_json(spec.settings),
            "code_version": spec.code_version,
            "status": json.dumps(values["status"]),
            "samples_to_learn": json.dumps(values["samples_to_learn"]),
            "samples_seen": json.dumps(values["samples_seen"]),
            "wall_time": values["wall_time"],
            "learning_times": json.dumps(values["learning_times"], sort_keys=True),
            "run": json.dumps(values["run"], sort_keys=True, allow_nan=False),
            "error": error,
            "created": _now(),
        }
        with self._sql() as conn:
            cursor = conn.execute(_UPSERT, [record[c] for c in _COLUMNS])
            return cursor.rowcount > 0

    def put(self, spec: SpecLike, run: Mapping[str, Any]) -> bool:
        """Store a finished run in its own transaction.

        Parameters
        ----------
        spec
            The run's specification (its :attr:`key` is the row's key).
        run
            The runner's result, e.g. :meth:`csqbound.sgd.train.Run.to_dict`
            (see :func:`normalize_run_dict`).

        Returns
        -------
        bool
            ``True`` if this call stored it; ``False`` if a finished run with this
            key was already there (it is left untouched). A failed run with this
            key is replaced.

        Raises
        ------
        ParameterError
            For a malformed run dict.
        StoreError
            If SQLite fails (full disk, lock held past ``timeout``, ...).
        """
        return self._write(spec, normalize_run_dict(run), None)

    def put_error(self, spec: SpecLike, message: str) -> bool:
        """Store a run that raised: status ``"error"`` for each replica, with the message.

        Never replaces a finished run; replaces an earlier failure of the same run.
        Returns whether this call wrote the row.
        """
        replicas = spec.settings.get("replicas", 1)
        count = replicas if isinstance(replicas, int) and replicas >= 1 else 1
        values = {
            "status": ["error"] * count,
            "samples_to_learn": [None] * count,
            "samples_seen": [0] * count,
            "wall_time": None,
            "learning_times": {},
            "run": {"error": message},
        }
        return self._write(spec, values, message)


def _canonical(text: str) -> Any:
    """The canonical (expanded) sympy form of a target's text; raises ParseError."""
    import sympy

    from csqbound.parsing import parse

    return sympy.expand(parse(text))


@functools.lru_cache(maxsize=256)
def _canonical_or_none(text: str) -> Any:
    """:func:`_canonical` of a stored target, ``None`` when it does not parse."""
    try:
        return _canonical(text)
    except CsqboundError:
        return None


def same_target(a: str, b: str) -> bool:
    """Whether two target texts are one expression once parsed (spaces, order, expansion).

    Raises
    ------
    ParseError
        When ``a`` does not parse (``b``, a stored target, simply does not match then).

    Examples
    --------
    >>> same_target("x1 * x2 * x3", "x1*x2*x3"), same_target("x2*x1 + 1", "1 + x1*x2")
    (True, True)
    >>> same_target("x1*x2", "x1*x3")
    False
    """
    return bool(_canonical(a) == _canonical_or_none(b))


def _run_settings(run: StoredRun) -> dict[str, Any]:
    """The settings a run was trained under, with its loss named even where stored without."""
    return {**jsonable(run.settings), "loss": run.loss}


def distinguishing_settings(
    runs: Sequence[StoredRun],
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The settings that differ among ``runs`` and those they all share.

    Returns
    -------
    varying, common
        ``varying``: setting names (in the runs' order of keys) whose values differ
        between runs, or that some runs lack; ``common``: name -> value of the rest.

    Examples
    --------
    >>> def row(seed, lr):
    ...     return StoredRun(f"k{seed}", "x1", "boolean", 4, seed, {"lr": lr, "width": 8}, "0",
    ...                      ("ok",), (10,), (10,), 1.0, {}, {}, None, "2026-01-01")
    >>> distinguishing_settings([row(0, 0.5), row(1, 0.1)])
    (('lr',), {'width': 8, 'loss': 'squared'})
    """
    settings = [_run_settings(r) for r in runs]
    names: dict[str, None] = {}
    for s in settings:
        names.update(dict.fromkeys(s))
    absent = "(absent)"  # not JSON text, so never equal to a stored value
    varying = tuple(
        n for n in names if len({canonical_json(s[n]) if n in s else absent for s in settings}) > 1
    )
    common = {n: settings[0][n] for n in names if n not in varying} if settings else {}
    return varying, common
