"""Speed of csqbound's SGD runner against the loop a researcher would write with torch.

Problem: online SGD on ``x1 + x1*x2*x3`` (boolean), ``d = 32``, width 64, ReLU.

* baseline: ``torch.nn.Sequential(Linear, ReLU, Linear)`` + ``torch.optim.SGD`` +
  autograd, one replica at a time, batch 1, fresh sample every step (drawn with
  ``torch.randint``), the same per-layer step sizes as csqbound;
* csqbound: :func:`csqbound.sgd.train.train` with ``R = 32`` and ``R = 1``
  replicas (batch 8, its default), ``stop_loss=None`` so every replica trains for
  the whole budget; the whole call is timed (setup and evaluation included), and
  the training-only rate (``wall_time - eval_time``) is printed too.

Printed: samples per second (summed over replicas), the ratios to the baseline
(goals: >= 100x with 32 replicas, >= 5x with one), and the achieved GFLOP/s of
the training matrix products against the matrix-multiply peak of the same
array library measured in the same run. By default everything runs on one
thread (``--threads``), so the comparison is per core.

Run: ``python benchmarks/sgd_bench.py [--backend numpy|cupy|torch] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="numpy", help="numpy (default), cupy or torch")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/torch threads (default 1)")
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--samples", type=int, default=40_000, help="per replica, for csqbound")
    parser.add_argument("--baseline-steps", type=int, default=4_000)
    return parser.parse_args()


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

try:
    import csqbound  # noqa: F401
except ImportError:  # run from a checkout that is not installed
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from csqbound.errors import CsqboundError  # noqa: E402
from csqbound.sgd.backend import get_backend, to_numpy  # noqa: E402
from csqbound.sgd.train import train  # noqa: E402

TARGET = "x1 + x1*x2*x3"
ETA0 = 0.5


def matmul_peak(backend: str) -> float:
    """GFLOP/s of a large float32 matrix product on ``backend`` (best of 5)."""
    be = get_backend(backend)
    xp = be.xp
    n = 1024
    rng = np.random.default_rng(0)
    a = be.asarray(rng.standard_normal((n, n)), "float32")
    b = be.asarray(rng.standard_normal((n, n)), "float32")
    to_numpy(xp.matmul(a, b)[:1, :1])
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        c = xp.matmul(a, b)
        to_numpy(c[:1, :1])
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def torch_baseline(d: int, width: int, steps: int) -> float | None:
    """Samples per second of the plain torch loop (batch 1, one replica), or None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(ARGS.threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(d, width), torch.nn.ReLU(), torch.nn.Linear(width, 1)
    )
    hidden = [*model[0].parameters()]
    out = [*model[2].parameters()]
    opt = torch.optim.SGD(
        [{"params": hidden, "lr": ETA0 * width / d}, {"params": out, "lr": ETA0 / d}]
    )

    def step() -> None:
        x = torch.randint(0, 2, (1, d), dtype=torch.float32) * 2 - 1
        y = x[:, 0] + x[:, 0] * x[:, 1] * x[:, 2]
        loss = 0.5 * ((model(x)[:, 0] - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(200):  # warm-up
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t0)


def run_csqbound(backend: str, replicas: int, batch: int = 8) -> tuple[float, float, float]:
    """(samples/s whole call, samples/s training only, GFLOP/s of training products)."""
    kwargs = {
        "d": ARGS.d,
        "width": ARGS.width,
        "replicas": replicas,
        "batch": batch,
        # The step multiplies a batch-mean gradient: at batch 1 the default eta0 = 0.5 (tuned
        # for batch 8) diverges, so the batch-1 line uses the same step per *sample*.
        "lr": 0.5 * batch / 8,
        "samples": ARGS.samples,
        "stop_loss": None,
        "backend": backend,
    }
    train(TARGET, **{**kwargs, "samples": 800})  # warm-up (imports, kernels)
    run = train(TARGET, **kwargs)
    total = replicas * max(run.samples_seen)
    train_time = run.wall_time - run.eval_time
    steps = max(run.samples_seen) // run.settings["batch"]
    B, N, d = run.settings["batch"], ARGS.width, ARGS.d
    # forward X W^T and backward G^T X: 2 * (2 B N d); output layer: 2 * (2 B N)
    flops = replicas * steps * (4 * B * N * d + 4 * B * N)
    print(
        f"  R={replicas:3d}, batch {batch}: {total:,} samples in {run.wall_time:.3f} s "
        f"(evaluation {run.eval_time:.3f} s = {100 * run.eval_time / run.wall_time:.0f}%)"
    )
    return total / run.wall_time, total / train_time, flops / train_time / 1e9


def main() -> int:
    print(
        f"problem: {TARGET} (boolean), d={ARGS.d}, width={ARGS.width}, ReLU, threads={ARGS.threads}"
    )
    try:
        get_backend(ARGS.backend)
    except CsqboundError as exc:
        print(f"backend {ARGS.backend!r} is not available: {exc}")
        if ARGS.backend == "numpy":
            return 1
        print("falling back to numpy")
        ARGS.backend = "numpy"

    base = torch_baseline(ARGS.d, ARGS.width, ARGS.baseline_steps)
    if base is None:
        print("torch is not installed (pip install 'csqbound[torch]'): no baseline, no ratios")
    else:
        print(f"torch loop (nn.Sequential + optim.SGD + autograd, batch 1): {base:,.0f} samples/s")

    peak = matmul_peak(ARGS.backend)
    print(f"{ARGS.backend} float32 matmul peak (1024^3): {peak:.1f} GFLOP/s")
    print(f"csqbound train on {ARGS.backend}:")
    # The default batch is 8; the last line is the like-for-like batch-1 comparison.
    for replicas, batch, goal in ((32, 8, 100), (1, 8, 5), (1, 1, 5)):
        rate, train_rate, gflops = run_csqbound(ARGS.backend, replicas, batch)
        line = f"    {rate:,.0f} samples/s ({train_rate:,.0f} training only), "
        line += f"{gflops:.2f} GFLOP/s = {100 * gflops / peak:.1f}% of peak"
        if base is not None:
            line += f"; {rate / base:.0f}x the torch loop (goal >= {goal}x)"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
