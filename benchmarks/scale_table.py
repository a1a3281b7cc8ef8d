"""What the d ranges of a verification cost: one seed of the default protocol per cell.

For ``x1*x2*x3`` at ``d = 64, 128, 256, 512`` and ``x1*x2`` at ``d = 256, 512,
1024``: the wall time of one :func:`csqbound.sgd.train.train` call with ``R = 8``
replicas (one seed of a sweep) and every other setting at its default (width 64,
batch 8, ``eta0`` 0.5, mean-field output step, joint schedule, ``stop_loss``
0.05, test set 4096), with a sample budget large enough that the replicas stop
because they learned (``--budget``, 20 M per replica); the median samples to
learn; and the memory: per replica, the arrays a replica holds while it trains
(its parameters, its share of a chunk of inputs, the temporaries of a block of
steps; counted from the shapes the loop uses), next to the measured peak of the
whole run at ``R = 8`` (:mod:`tracemalloc`, which sees numpy's arrays, in a short
run; the shared test set and its basis values dominate it).

One BLAS thread (a sweep runs one per process). Each cell runs once: the largest
take minutes; ``--quick`` skips them (``x1*x2*x3`` at 512, ``x1*x2`` at 1024).
The machine may be shared, so the wall times are upper bounds under its load.

Run: ``python benchmarks/scale_table.py [--quick] [--backend numpy|numba|cupy|torch]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from typing import Any

try:
    import csqbound  # noqa: F401
except ImportError:  # run from a checkout that is not installed
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from csqbound.sgd import train as train_module
from csqbound.sgd.train import train

WIDTH, BATCH, FLOAT = 64, 8, 4  # the defaults: width, batch, float32 bytes

CELLS: tuple[tuple[str, int], ...] = (
    ("x1*x2*x3", 64),
    ("x1*x2*x3", 128),
    ("x1*x2*x3", 256),
    ("x1*x2*x3", 512),
    ("x1*x2", 256),
    ("x1*x2", 512),
    ("x1*x2", 1024),
)
LARGEST = {("x1*x2*x3", 512), ("x1*x2", 1024)}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the two largest cells")
    parser.add_argument("--budget", type=int, default=20_000_000, help="samples per replica")
    parser.add_argument("--replicas", type=int, default=8)
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--device", default=None)
    return parser.parse_args(argv)


def peak_memory(target: str, d: int, replicas: int, backend: str, device: Any) -> int:
    """Peak traced bytes of a short run (a few chunks and evaluations)."""
    tracemalloc.start()
    try:
        train(target, d=d, replicas=replicas, samples=20_000, stop_loss=None,
              backend=backend, device=device)  # fmt: skip
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def replica_bytes(d: int, replicas: int) -> int:
    """Bytes one replica holds while training (float32, the loop's shapes)."""
    N, B = WIDTH, BATCH
    params = N * d + 2 * N
    chunk_steps = max(8, min(1024, train_module.CHUNK_NUMBERS // (replicas * B * d)))
    chunk = chunk_steps * B * (d + 1)  # inputs and targets
    rows = max(1, train_module.BLOCK_ROWS // B) * B
    block = 2 * rows * N + rows * rows + N * d  # H, G, the Gram matrix, the update G^T X
    return FLOAT * (params + chunk + block)


def cell(args: argparse.Namespace, target: str, d: int) -> dict[str, Any]:
    """One row: the timed run, then the memory measurement."""
    t0 = time.perf_counter()
    run = train(target, d=d, replicas=args.replicas, samples=args.budget, seed=0,
                backend=args.backend, device=args.device)  # fmt: skip
    wall = time.perf_counter() - t0
    return {
        "wall": wall,
        "learned": run.median_samples_to_learn(),
        "ok": run.status.count("ok"),
        "seen": sum(run.samples_seen),
        "eval": run.eval_time / run.wall_time,
        "per_replica": replica_bytes(d, args.replicas),
        "peak": peak_memory(target, d, args.replicas, args.backend, args.device),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the table."""
    args = parse(argv)
    from threadpoolctl import threadpool_limits

    cells = [c for c in CELLS if not (args.quick and c in LARGEST)]
    print(
        f"one seed = one train() call, R={args.replicas}, default protocol, budget "
        f"{args.budget:,} samples per replica, {args.backend}, 1 BLAS thread; one run per cell"
    )
    print(
        "target      d |   wall s | median samples to learn | ok/R | samples/s (all R) | eval "
        f"| MB per replica | peak MB (R={args.replicas})"
    )
    with threadpool_limits(limits=1):
        for target, d in cells:
            r = cell(args, target, d)
            learned = "-" if r["learned"] is None else f"{r['learned']:,}"
            print(
                f"{target:9s} {d:4d} | {r['wall']:8.1f} | {learned:>23s} | "
                f"{r['ok']:2d}/{args.replicas:<2d}| {r['seen'] / r['wall']:17,.0f} | "
                f"{100 * r['eval']:3.0f}% | {r['per_replica'] / 2**20:14.2f} | "
                f"{r['peak'] / 2**20:13.1f}",
                flush=True,
            )
    if args.quick:
        print("(--quick: x1*x2*x3 at d=512 and x1*x2 at d=1024 skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
