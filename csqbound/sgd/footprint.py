"""The memory and sample budget of a training run, checked before anything is allocated.

A short input must not allocate gigabytes or run for days: ``--width 100000000``
would ask for 60 GiB of weights, ``--replicas 1000000000`` for a billion random
generators, ``--d 1000000000`` for a 16 TB test set. :func:`check_run_size` estimates
what a run of :func:`csqbound.sgd.train.train` will hold at once (its weights and
their gradient temporaries, a chunk of inputs, the test set and one evaluation block)
and refuses, with one :class:`~csqbound.errors.ParameterError` naming the limit, a
run above :data:`csqbound.limits.MAX_RUN_BYTES` or with more samples per replica than
:data:`csqbound.limits.MAX_SAMPLES`. The estimate is of the right order, not an
exact count (measured with ``tracemalloc`` on four shapes from ``d = 64, N = 1024``
to ``d = 2048, B = 64`` it was 0.55 to 1.55 times the peak): it is there to stop
absurd sizes, not to pack memory.

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

from csqbound import limits
from csqbound.errors import ParameterError

__all__ = ["check_run_size", "run_bytes"]

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
    from csqbound.sgd.train import BLOCK_ROWS, CHUNK_NUMBERS, EVAL_BLOCK

    size = 4 if dtype == "float32" else 8
    weights = 3 * replicas * width * (d + 2)
    chunk = 2 * max(CHUNK_NUMBERS, _MIN_CHUNK_STEPS * replicas * batch * d)
    test = test_size * (d + 2)
    hidden = EVAL_BLOCK + 4 * replicas * BLOCK_ROWS * width
    return size * (weights + chunk + test + hidden)


def check_run_size(
    *, d: int, width: int, replicas: int, batch: int, test_size: int, samples: int, dtype: str
) -> None:
    """Refuse a run above ``MAX_RUN_BYTES`` or ``MAX_SAMPLES`` (:mod:`csqbound.limits`).

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
    if need > limits.MAX_RUN_BYTES:
        shown = f"{need / 2**30:,.0f} GiB" if need >= 2**30 else f"{need / 2**20:,.0f} MiB"
        msg = (
            f"this run would hold about {shown} at once (d={d}, width={width}, "
            f"replicas={replicas}, batch={batch}, test_size={test_size}), more than "
            f"MAX_RUN_BYTES = {limits.MAX_RUN_BYTES // 2**30} GiB in csqbound.limits: "
            "lower width, replicas, d or test_size"
        )
        raise ParameterError(msg)
