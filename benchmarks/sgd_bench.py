"""Speed of csqbound's SGD runner against the loop a researcher would write with torch.

Problem: online SGD on ``x1 + x1*x2*x3`` (boolean), width 64, ReLU, at each
``d`` of ``--d`` (default 32, 128, 256, 512).

* baseline: ``torch.nn.Sequential(Linear, ReLU, Linear)`` + ``torch.optim.SGD`` +
  autograd, one replica at a time, batch 1, fresh sample every step (drawn with
  ``torch.randint``), the same per-layer step sizes as csqbound, on the CPU with
  one thread;
* csqbound: :func:`csqbound.sgd.train.train` with ``R = 32`` replicas and batch
  8 (the default protocol), ``R = 1`` batch 8, and ``R = 1`` batch 1 (the
  like-for-like comparison), ``stop_loss=None`` so every replica trains for the
  whole budget; the whole call is timed (setup and evaluation included), and the
  training-only rate (``wall_time - eval_time``) gives the GFLOP/s of the
  training products.

Printed: samples per second (summed over replicas); the ratio to the baseline
(goals: >= 100x with 32 replicas, >= 10x with one replica at batch 1); the
GFLOP/s of the training products as a share of the float32 matrix-multiply peak
of the same array library on the same device, measured in the same run (goal:
>= 30% at d >= 128 with 32 replicas), next to the ceiling of the algorithm (the
same share if a block cost only its matrix products, timed alone: three, or two on
``numba``, which counts bits for the Gram matrix of these Boolean inputs); then
the scaling from 1 to 2 workers (processes with one BLAS thread each, as a sweep
runs them), and one run with 2 BLAS threads allowed (it pins its own BLAS to one
thread: replica groups on threads measured 0.7-0.9x, the BLAS threaded 7x slower
in CPU time).

The machine may be shared with other work, so every rate is the best of
``--repeats`` runs (3 by default) and the ratios, measured side by side in one
run, are the figures to quote; the absolute rates move with the load.

Run: ``python benchmarks/sgd_bench.py [--backend numpy|numba|cupy|torch] [--device cuda]
[--d 32,128] [--quick]``. On a GPU (``--backend cupy`` or ``--backend torch
--device cuda``) the peak is that device's float32 matmul peak; the torch
baseline stays the one-thread CPU loop.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    import csqbound  # noqa: F401
except ImportError:  # run from a checkout that is not installed
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from csqbound.errors import CsqboundError
from csqbound.sgd.backend import Backend, get_backend, to_numpy
from csqbound.sgd.train import train

TARGET = "x1 + x1*x2*x3"
ETA0 = 0.5
WIDTH = 64
#: (replicas, batch, goal as a multiple of the torch loop)
CONFIGS = ((32, 8, 100), (1, 8, None), (1, 1, 10))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="numpy", help="numpy (default), numba, cupy or torch")
    parser.add_argument("--device", default=None, help="cupy/torch device (torch: cuda or cpu)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/torch threads (default 1)")
    parser.add_argument("--d", default="32,128,256,512", help="comma-separated dimensions")
    parser.add_argument("--samples", type=int, default=40_000, help="per replica, for csqbound")
    parser.add_argument("--baseline-steps", type=int, default=4_000)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--scaling-d", type=int, default=128, help="d of the scaling lines")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1 -> 2 lines")
    parser.add_argument("--quick", action="store_true", help="d=32,128, 1 repeat, short runs")
    parser.add_argument(
        "--no-fallback", action="store_true", help="stop (exit 0) if the backend is unavailable"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.d, args.repeats = "32,128", 1
        args.samples, args.baseline_steps = 8_000, 1_000
    args.dims = [int(v) for v in str(args.d).split(",") if v.strip()]
    return args


# -- measurements ------------------------------------------------------------------------
def best_of(repeats: int, measure: Callable[[], Any], key: Callable[[Any], float]) -> Any:
    """The best (largest ``key``) of ``repeats`` calls of ``measure``."""
    return max((measure() for _ in range(repeats)), key=key)


def matmul_peak(be: Backend) -> float:
    """GFLOP/s of a large float32 matrix product on ``be`` (best of 5)."""
    gpu = be.name == "cupy" or (be.name == "torch" and str(be.device).startswith("cuda"))
    n = 8192 if gpu else 1024
    rng = np.random.default_rng(0)
    a = be.asarray(rng.standard_normal((n, n)), "float32")
    b = be.asarray(rng.standard_normal((n, n)), "float32")
    xp = be.xp
    xp.matmul(a, b)
    be.synchronize()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        c = xp.matmul(a, b)
        be.synchronize()
        best = min(best, time.perf_counter() - t0)
    to_numpy(c[:1, :1])
    return 2 * n**3 / best / 1e9


def products_ceiling(be: Backend, d: int, replicas: int = 32) -> float:
    """GFLOP/s of the training flops if a block cost only its products (an upper bound).

    A block of ``BLOCK_ROWS`` rows per replica needs ``X W^T``, the Gram matrix
    ``X X^T`` and the update ``G^T X`` (``csqbound.sgd.network.sgd_block``): timed alone,
    on warm arrays, best of 5. The useful flops of those rows (``4 M N d`` per replica)
    over that time is what the runner would reach with every other cost (the per-step
    work, drawing inputs, the checks) at zero: the ceiling of this algorithm at this ``d``.
    On a compiled backend (``numba``) the Gram matrix of Boolean inputs is no product
    (the kernel counts bits, ``csqbound.sgd.fused``), so only the other two are timed.
    """
    from csqbound.sgd.footprint import BLOCK_ROWS

    rng = np.random.default_rng(0)
    M, N, xp = BLOCK_ROWS, WIDTH, be.xp
    X = be.asarray(np.sign(rng.standard_normal((replicas, M, d))), "float32")
    W = be.asarray(rng.standard_normal((replicas, N, d)), "float32")
    G = be.asarray(rng.standard_normal((replicas, M, N)), "float32")

    gram = not be.compiled_steps  # TARGET is Boolean

    def block() -> None:
        xp.matmul(X, W.mT)
        if gram:
            xp.matmul(X, X.mT)
        xp.matmul(G.mT, X)

    block()
    be.synchronize()
    best, reps = float("inf"), 20
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            block()
        be.synchronize()
        best = min(best, (time.perf_counter() - t0) / reps)
    return 4 * replicas * M * N * d / best / 1e9


def torch_baseline(d: int, steps: int, threads: int) -> float | None:
    """Samples per second of the plain torch loop (batch 1, one replica, CPU), or None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(d, WIDTH), torch.nn.ReLU(), torch.nn.Linear(WIDTH, 1)
    )
    hidden = [*model[0].parameters()]
    out = [*model[2].parameters()]
    opt = torch.optim.SGD(
        [{"params": hidden, "lr": ETA0 * WIDTH / d}, {"params": out, "lr": ETA0 / d}]
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


def train_kwargs(args: argparse.Namespace, d: int, replicas: int, batch: int) -> dict[str, Any]:
    """The settings of one csqbound measurement."""
    return {
        "d": d,
        "width": WIDTH,
        "replicas": replicas,
        "batch": batch,
        # The step multiplies a batch-mean gradient: at batch 1 the default eta0 = 0.5 (tuned
        # for batch 8) diverges, so the batch-1 line uses the same step per *sample*.
        "lr": ETA0 * batch / 8,
        "samples": args.samples,
        "stop_loss": None,
        "backend": args.backend,
        "device": args.device,
    }


def run_once(kwargs: dict[str, Any]) -> dict[str, float]:
    """One timed :func:`train` call: samples/s (whole call, training only), GFLOP/s, eval share."""
    run = train(TARGET, **kwargs)
    total = kwargs["replicas"] * max(run.samples_seen)
    train_time = run.wall_time - run.eval_time
    steps = max(run.samples_seen) // kwargs["batch"]
    B, N, d = kwargs["batch"], WIDTH, kwargs["d"]
    # forward X W^T and backward G^T X: 2 * (2 B N d); output layer: 2 * (2 B N)
    flops = kwargs["replicas"] * steps * (4 * B * N * d + 4 * B * N)
    return {
        "rate": total / run.wall_time,
        "train_rate": total / train_time,
        "gflops": flops / train_time / 1e9,
        "eval_share": run.eval_time / run.wall_time,
    }


def measure(args: argparse.Namespace, d: int, replicas: int, batch: int) -> dict[str, float]:
    """The best of ``args.repeats`` calls (after a warm-up)."""
    kwargs = train_kwargs(args, d, replicas, batch)
    train(TARGET, **{**kwargs, "samples": 800})  # warm-up (imports, kernels)
    return best_of(args.repeats, lambda: run_once(kwargs), key=lambda r: r["rate"])


# -- scaling ----------------------------------------------------------------------------
def _worker(kwargs: dict[str, Any], barrier: Any, results: Any) -> None:
    """One sweep-like worker: one BLAS thread, warm up, wait for the others, run, report."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        train(TARGET, **{**kwargs, "samples": 800})
        barrier.wait()
        t0 = time.perf_counter()
        run = train(TARGET, **kwargs)
        results.put((t0, time.perf_counter(), kwargs["replicas"] * max(run.samples_seen)))


def worker_rate(kwargs: dict[str, Any], workers: int) -> float:
    """Samples/s of ``workers`` processes running the same run at once (summed)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    results = context.Queue()
    procs = [
        context.Process(target=_worker, args=({**kwargs, "seed": i}, barrier, results))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    spans = [results.get() for _ in procs]
    for p in procs:
        p.join()
    start, end = min(s[0] for s in spans), max(s[1] for s in spans)
    return sum(s[2] for s in spans) / (end - start)


def thread_rate(kwargs: dict[str, Any], threads: int) -> float:
    """Samples/s of one run with ``threads`` BLAS threads."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return run_once(kwargs)["rate"]


# -- report -----------------------------------------------------------------------------
def header(args: argparse.Namespace, be: Backend, peak: float) -> None:
    """The problem, the protocol and the peak."""
    where = be.name if be.device is None else f"{be.name} on {be.device}"
    print(f"problem: {TARGET} (boolean), width {WIDTH}, ReLU, {where}, threads={args.threads}")
    print(
        f"every rate is the best of {args.repeats} runs (a shared machine: absolute rates move "
        "with the load; the ratios, measured side by side in this run, are the figures)"
    )
    print(f"{be.name} float32 matmul peak, best of the run: {peak:.1f} GFLOP/s")


def table(args: argparse.Namespace, be: Backend) -> float:
    """The per-d table; returns the peak used."""
    rows = []
    peak = matmul_peak(be)
    for d in args.dims:
        base = best_of(
            args.repeats,
            lambda d=d: torch_baseline(d, args.baseline_steps, args.threads),
            key=lambda rate: rate or 0.0,
        )
        results = [measure(args, d, R, B) for R, B, _ in CONFIGS]
        peak = max(peak, matmul_peak(be))
        rows.append((d, base, results, products_ceiling(be, d)))
    header(args, be, peak)
    print(
        "    d | torch loop |  R=32 B=8: samples/s  train GFLOP/s  % peak  ceiling  eval  x torch"
        " |  R=1 B=8: samples/s  x torch |  R=1 B=1: samples/s  x torch"
    )
    for d, base, results, ceiling in rows:
        main, one8, one1 = results

        def ratio(r: dict[str, float], base: float | None = base) -> str:
            return "      -" if base is None else f"{r['rate'] / base:6.0f}x"

        base_txt = "         -" if base is None else f"{base:10,.0f}"
        print(
            f"{d:5d} | {base_txt} | {main['rate']:19,.0f}  {main['gflops']:13.1f}  "
            f"{100 * main['gflops'] / peak:5.1f}%  {100 * ceiling / peak:6.1f}%  "
            f"{100 * main['eval_share']:3.0f}%  {ratio(main)}"
            f" | {one8['rate']:18,.0f}  {ratio(one8)} | {one1['rate']:18,.0f}  {ratio(one1)}"
        )
    goals = ", ".join(f"R={R} B={B}: >= {g}x" for R, B, g in CONFIGS if g is not None)
    print(f"goals: {goals} the torch loop; >= 30% of peak at d >= 128 with R=32")
    print(
        "ceiling: the share of peak if a block cost only its products (X W^T, X X^T, "
        "G^T X, timed alone): every other cost at zero"
        + (" (X X^T not timed: this backend counts bits for it)" if be.compiled_steps else "")
    )
    return peak


def scaling(args: argparse.Namespace) -> None:
    """1 -> 2 workers (processes, one BLAS thread each); one run with 1 or 2 BLAS threads."""
    kwargs = train_kwargs(args, args.scaling_d, 32, 8)
    train(TARGET, **{**kwargs, "samples": 800})
    one = best_of(args.repeats, lambda: worker_rate(kwargs, 1), key=float)
    two = best_of(args.repeats, lambda: worker_rate(kwargs, 2), key=float)
    print(
        f"workers (processes, 1 BLAS thread each; R=32 B=8 d={args.scaling_d}): "
        f"1: {one:,.0f} samples/s, 2: {two:,.0f} samples/s = {two / one:.2f}x "
        f"(on {os.cpu_count()} CPUs)"
    )
    t1 = best_of(args.repeats, lambda: thread_rate(kwargs, 1), key=float)
    t2 = best_of(args.repeats, lambda: thread_rate(kwargs, 2), key=float)
    print(
        f"one run with 1 / 2 BLAS threads allowed: {t1:,.0f} / {t2:,.0f} samples/s "
        f"= {t2 / t1:.2f}x (a run pins its BLAS to one thread: its products are small)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 1 if numpy itself is unavailable."""
    args = parse(argv)
    from threadpoolctl import threadpool_limits

    try:
        be = get_backend(args.backend, device=args.device)
        missing_cuda = be.name == "torch" and str(be.device).startswith("cuda")
        if missing_cuda and not __import__("torch").cuda.is_available():
            msg = "torch has no CUDA device here (a CPU build, or no GPU)"
            raise CsqboundError(msg)
    except CsqboundError as exc:
        print(f"backend {args.backend!r} is not available: {exc}")
        if args.backend == "numpy":
            return 1
        if args.no_fallback:
            return 0
        print("falling back to numpy")
        args.backend, args.device = "numpy", None
        be = get_backend("numpy")
    with threadpool_limits(limits=args.threads):
        table(args, be)
    if not args.no_scaling and be.name in ("numpy", "numba"):
        scaling(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
