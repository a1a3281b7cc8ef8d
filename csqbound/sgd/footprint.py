"""The memory and sample budget of a training run, checked before anything is allocated.

A short input must not allocate gigabytes or run for days: ``--width 100000000``
would ask for 60 GiB of weights, ``--replicas 1000000000`` for a billion random
generators, ``--d 1000000000`` for a 16 TB test set. :func:`check_run_size` estimates
what a run of :func:`csqbound.sgd.train.train` will hold at once (its weights and
their gradient temporaries, a chunk of inputs, the test set and one evaluation block)
and refuses, with one :class:`~csqbound.errors.ParameterError` naming the limit, a
run above :func:`run_bytes_limit` or with more samples per replica than
:data:`csqbound.limits.MAX_SAMPLES`. The memory limit is the smaller of
:data:`csqbound.limits.MAX_RUN_BYTES` and :data:`csqbound.limits.MAX_RUN_MEMORY_FRACTION`
of this machine's memory (:func:`memory_bytes`: physical RAM, or the container's
cgroup limit when that is lower); the environment variable ``CSQBOUND_MAX_RUN_BYTES``
(:data:`RUN_BYTES_VARIABLE`, bytes or a size such as ``16GiB``) replaces it. The
estimate is of the right order, not an exact count (measured with ``tracemalloc`` on
four shapes from ``d = 64, N = 1024`` to ``d = 2048, B = 64`` it was 0.55 to 1.55
times the peak): it is there to stop absurd sizes, not to pack memory.

Examples
--------
>>> run_bytes(d=256, width=64, replicas=8, batch=8, test_size=4096, dtype="float32") < 2**26
True
>>> check_run_size(d=10, width=10**8, replicas=8, batch=8, test_size=4096,
...                samples=10**6, dtype="float32")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
csqbound.errors.ParameterError: this run would hold about 870 GiB at once (d=10, ...
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from csqbound import limits
from csqbound.errors import ParameterError, shorten

__all__ = [
    "BLOCK_ROWS",
    "CHUNK_NUMBERS",
    "EVAL_BLOCK",
    "RUN_BYTES_VARIABLE",
    "check_run_size",
    "format_bytes",
    "memory_bytes",
    "run_bytes",
    "run_bytes_limit",
]

#: The buffer sizes of :func:`csqbound.sgd.train.train` (it imports them from here, so the
#: memory estimate and the trainer read the same numbers).
#: Evaluation works on blocks of about this many hidden activations (a few MB: large enough
#: that the products, not the per-block calls, take the time; small enough for the cache).
EVAL_BLOCK = 1 << 19
#: Host chunks of inputs hold about this many numbers.
CHUNK_NUMBERS = 1 << 19
#: Steps go in blocks of about this many samples per replica
#: (:func:`~csqbound.sgd.network.sgd_block`, the first layer updated once per block);
#: 1 is the step-by-step reference path (:func:`~csqbound.sgd.network.sgd_step`).
BLOCK_ROWS = 64

#: The environment variable whose value (bytes, or a size such as ``16GiB``) replaces
#: the run memory limit, for a machine known to have the room (or a run that needs it).
RUN_BYTES_VARIABLE = "CSQBOUND_MAX_RUN_BYTES"

#: The files that hold a cgroup's memory limit: cgroup v2, then v1. A value of ``max``
#: (v2) or of more than the physical memory (v1 writes 2^63 rounded down) is no limit.
CGROUP_MEMORY_FILES = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)

#: A chunk of inputs holds at least this many steps of every replica (``train._Loop``).
_MIN_CHUNK_STEPS = 8


def run_bytes(*, d: int, width: int, replicas: int, batch: int, test_size: int, dtype: str) -> int:
    """Bytes a run holds at once, estimated from its sizes (see the module docstring).

    Parameters
    ----------
    d, width, replicas, batch, test_size
        The run's sizes (positive integers, already checked).
    dtype
        ``"float32"`` or ``"float64"``.

    Returns
    -------
    int
        Weights ``R N d`` three times (parameters, gradient, update temporaries), the
        input chunk twice (host and device or reordered copy), the test set and its
        targets, one evaluation block and one block of hidden activations.
    """
    size = 4 if dtype == "float32" else 8
    weights = 3 * replicas * width * (d + 2)
    chunk = 2 * max(CHUNK_NUMBERS, _MIN_CHUNK_STEPS * replicas * batch * d)
    test = test_size * (d + 2)
    hidden = EVAL_BLOCK + 4 * replicas * BLOCK_ROWS * width
    return size * (weights + chunk + test + hidden)


def _physical_memory() -> int | None:
    """Physical RAM in bytes from ``sysconf``, or ``None`` where it cannot be read."""
    try:
        size = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows) or no such name
        return None
    return size if size > 0 else None


def _cgroup_memory() -> int | None:
    """The memory limit of this process's cgroup in bytes, or ``None`` when none is set."""
    for path in CGROUP_MEMORY_FILES:
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text.isdigit() and 0 < int(text) < 2**62:
            return int(text)
    return None


def memory_bytes() -> int | None:
    """Memory this process may use: physical RAM, or the cgroup limit when lower.

    Returns
    -------
    int or None
        Bytes; ``None`` when neither could be read (then only the constant
        :data:`csqbound.limits.MAX_RUN_BYTES` bounds a run).

    Examples
    --------
    >>> memory = memory_bytes()
    >>> memory is None or memory > 0
    True
    """
    known = [m for m in (_physical_memory(), _cgroup_memory()) if m is not None]
    return min(known) if known else None


def format_bytes(size: float) -> str:
    """``size`` in MiB, GiB or (past 2^60 bytes) as a power of two, for messages.

    Examples
    --------
    >>> format_bytes(3 * 2**30), format_bytes(5 * 2**20), format_bytes(10**400)
    ('3 GiB', '5 MiB', '2^1328 bytes')
    """
    if size >= 2**60:
        return f"2^{int(size).bit_length() - 1} bytes"
    return f"{size / 2**30:,.0f} GiB" if size >= 2**30 else f"{size / 2**20:,.0f} MiB"


def _size_from_text(text: str) -> int:
    """Bytes from ``CSQBOUND_MAX_RUN_BYTES``'s value: ``17179869184``, ``16GiB``, ``512M``."""
    match = _SIZE.fullmatch(text)
    if match is None or float(match[1]) <= 0:
        msg = (
            f"{RUN_BYTES_VARIABLE}={text[:40]!r} is not a size: give bytes or a size "
            "such as 16GiB or 512MiB"
        )
        raise ParameterError(msg)
    return int(float(match[1]) * _UNITS[match[2].lower()])


def run_bytes_limit() -> tuple[int, str]:
    """The most bytes one run may hold here, and where that limit comes from.

    Returns
    -------
    int
        ``CSQBOUND_MAX_RUN_BYTES`` when set; otherwise the smaller of
        :data:`~csqbound.limits.MAX_RUN_BYTES` and
        :data:`~csqbound.limits.MAX_RUN_MEMORY_FRACTION` of :func:`memory_bytes`.
    str
        The limit in words, for the error that enforces it.

    Raises
    ------
    ParameterError
        If ``CSQBOUND_MAX_RUN_BYTES`` is set to something that is not a size.

    Examples
    --------
    >>> limit, why = run_bytes_limit()
    >>> 0 < limit
    True
    """
    text = os.environ.get(RUN_BYTES_VARIABLE, "").strip()
    if text:
        return _size_from_text(text), f"set by {RUN_BYTES_VARIABLE}"
    fixed = limits.MAX_RUN_BYTES
    why = "MAX_RUN_BYTES in csqbound.limits"
    memory = memory_bytes()
    if memory is not None and limits.MAX_RUN_MEMORY_FRACTION * memory < fixed:
        share = int(limits.MAX_RUN_MEMORY_FRACTION * memory)
        why = (
            f"MAX_RUN_MEMORY_FRACTION in csqbound.limits: "
            f"{limits.MAX_RUN_MEMORY_FRACTION:g} of {format_bytes(memory)} of memory here"
        )
        return share, why
    return fixed, why


def check_run_size(
    *, d: int, width: int, replicas: int, batch: int, test_size: int, samples: int, dtype: str
) -> None:
    """Refuse a run above :func:`run_bytes_limit` or ``MAX_SAMPLES`` (:mod:`csqbound.limits`).

    Raises
    ------
    ParameterError
        Naming the limit, the estimate and the sizes to lower.
    """
    if samples > limits.MAX_SAMPLES:
        msg = (
            f"samples={samples:,} per replica is more than MAX_SAMPLES = "
            f"{limits.MAX_SAMPLES:,} in csqbound.limits (days of SGD on a CPU): lower samples"
        )
        raise ParameterError(msg)
    need = run_bytes(
        d=d, width=width, replicas=replicas, batch=batch, test_size=test_size, dtype=dtype
    )
    limit, why = run_bytes_limit()
    if need > limit:
        msg = (
            f"this run would hold about {format_bytes(need)} at once (d={shorten(d, 20)}, "
            f"width={shorten(width, 20)}, replicas={shorten(replicas, 20)}, batch={batch}, "
            f"test_size={test_size}), more than {format_bytes(limit)} ({why}): lower width, "
            f"replicas, d or test_size, or raise it with {RUN_BYTES_VARIABLE}=16GiB"
        )
        raise ParameterError(msg)
