"""The per-step work of :func:`~csqbound.sgd.network.sgd_block` as one compiled kernel.

The ``"numba"`` backend (the ``fast`` extra): numpy arrays, numpy's BLAS for the
three block products, and this kernel for what is left per step. In
:func:`~csqbound.sgd.network.sgd_block` that work is about sixteen numpy calls on
``(R, B, N)`` arrays per step (the corrections ``C[j,<j] G_<j``, the activation,
the output layer, the loss derivative, ``G_j`` and the update of ``a``), a third
of a block at ``d = 128`` and more at smaller ``d``. Here it is one call per
block that runs replica by replica, step by step, so a replica's ``H``, ``C`` and
``G`` (``3 x 16`` KiB at width 64) stay in the core's cache for the whole block
(``benchmarks/README.md`` has the measurements).

On Boolean inputs the block's Gram matrix ``X X^T`` is no product either: the
trainer packs each chunk's signs 64 to a word (:func:`pack_signs`) and the kernel
takes ``x . x' = d - 2 popcount(bits(x) xor bits(x'))`` for the pairs it needs
(the earlier steps of the block), the same integer the float product gives, so a
Boolean block costs two products, ``X W^T`` and ``G^T X``, and the numbers do not
change by a bit.

The arithmetic is that of :class:`~csqbound.sgd.network._BlockStep`, the
reference, up to rounding: the kernel sums the corrections and the outputs in its
own order (LLVM may reassociate those two sums to vectorise them and contract
products into fused multiply-adds) and nowhere else. Non-finite values travel as
they do in the reference (``Z = H [H > 0]``, so a ``nan`` or ``inf`` pre-activation
gives ``nan``, which the run's divergence check catches). A compiled kernel is
deterministic: the same inputs give the same bits, run after run, on one machine.

Only ReLU is compiled; the other activations run the reference path on the
``"numba"`` backend (the same numbers as ``"numpy"``), as do the single steps at
the ends of chunks and before evaluations. numba is imported with this module,
which :func:`~csqbound.sgd.train.train` imports only for a ``"numba"`` run; the
compiled code is cached on disk (``NUMBA_CACHE_DIR`` moves the cache), so only the
first run on a machine compiles (a few seconds).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from csqbound.sgd.losses import HUBER_DELTA, check_loss
from csqbound.sgd.network import Params

numba: Any
try:
    import numba
    import numba.extending
except ImportError:  # the fast extra is optional: the kernel is then plain (slow) Python
    numba = None

__all__ = ["LOSS_CODES", "fused_block", "is_compiled", "pack_signs"]

#: The kernel's code for each loss (its derivative is computed inline).
LOSS_CODES: dict[str, int] = {"squared": 0, "absolute": 1, "huber": 2, "logcosh": 3}


def fused_block(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    scale: np.ndarray,
    lr_hidden: float,
    lr_out: float,
    batch: int,
    loss: str = "squared",
    delta: float | None = None,
    *,
    bits: np.ndarray | None = None,
) -> Params:
    """:func:`~csqbound.sgd.network.sgd_block` (ReLU) with its per-step work compiled.

    The block's products stay numpy's (``X W^T`` and the update ``G^T X``). The
    kernel adds ``b`` and the ``1`` of ``C = X X^T + 1`` as it reads them and sums
    ``b``'s update as it writes ``G``, instead of three more passes over the block's
    arrays. Where ``X`` holds signs (the Boolean cube) and ``bits`` packs them, the
    Gram matrix is not a product at all: rows of ``±1`` have
    ``x . x' = d - 2 popcount(bits(x) xor bits(x'))``, an integer, which is exactly
    what the floating-point product gives (integers below ``2^24`` are exact in
    float32). The kernel counts bits, on the pairs it needs (earlier steps of the
    block only), instead of multiplying ``d``-vectors of floats; the numbers are the
    same, bit for bit.

    Parameters
    ----------
    params, X, y, scale, lr_hidden, lr_out, batch, loss, delta
        As in :func:`~csqbound.sgd.network.sgd_block` (numpy arrays; ``params`` is left
        as it was).
    bits
        ``pack_signs(X)``, where every entry of ``X`` is ``+1`` or ``-1`` (Boolean
        inputs): take the Gram matrix from bit counts. Bits of any other ``X`` give
        wrong numbers. ``None`` (the default): the Gram matrix is numpy's product.

    Examples
    --------
    >>> from csqbound.sgd.network import init_params, sgd_block
    >>> rng = np.random.default_rng(0)
    >>> X = np.sign(rng.standard_normal((2, 12, 5)))
    >>> y = X[:, :, 0] * X[:, :, 1]
    >>> p = init_params(5, 4, seeds=[0, 1])
    >>> scale = np.full((2, 1, 1), 1 / 3)
    >>> q = fused_block(p, X, y, scale, 0.4, 0.05, 3)
    >>> r = sgd_block(p, X, y, scale, 0.4, 0.05, "relu", np, 3)
    >>> all(np.allclose(u, v, rtol=1e-12) for u, v in ((q.W, r.W), (q.b, r.b), (q.a, r.a)))
    True
    """
    name = check_loss(loss)
    d = (HUBER_DELTA if delta is None else float(delta)) if name == "huber" else 0.0
    W = params.W
    H = np.matmul(X, W.mT)
    R, M, dim = X.shape
    if bits is None:
        C = np.matmul(X, X.mT)
        bits = np.empty((R, M, 0), dtype=np.uint64)
    else:  # a chunk's rows: one layout, so the kernel is compiled once
        C, bits = np.empty((R, M, 0), dtype=H.dtype), np.ascontiguousarray(bits)
    G = np.empty_like(H)
    a = np.array(params.a, copy=True)
    b = np.empty_like(params.b)
    t = H.dtype.type
    _kernel(
        H, C, bits, G, a, params.b, b, y, scale, t(lr_hidden), t(lr_out), int(batch), dim,
        LOSS_CODES[name], t(d), t(0), t(1),
    )  # fmt: skip
    dW = np.matmul(G.mT, X)
    return Params(np.subtract(W, dW, out=dW), b, a)


def pack_signs(X: np.ndarray) -> np.ndarray:
    """The signs of ``X`` (shape ``(R, M, d)``), 64 to a word: bit ``k`` of word ``w`` of row
    ``m`` is set where ``X[r, m, 64 w + k] < 0``; unused bits are 0.

    Examples
    --------
    >>> X = np.array([[[-1.0, 1.0, -1.0] + [1.0] * 62 + [-1.0]]])  # 66 signs: two words
    >>> pack_signs(X).tolist()
    [[[5, 2]]]
    """
    R, M, d = X.shape
    bits = np.empty((R, M, -(-d // 64)), dtype=np.uint64)
    _pack_signs(X, bits)
    return bits


def is_compiled() -> bool:
    """Whether numba is installed (the kernel runs compiled).

    Examples
    --------
    >>> isinstance(is_compiled(), bool)
    True
    """
    return numba is not None


def _jit(function: Any) -> Any:
    """numba's ``njit`` as the kernel uses it; the function itself where numba is missing.

    The ``"numba"`` backend refuses to load without numba; the plain function lets the
    kernel's arithmetic be tested everywhere, on small arrays (``_kernel.py_func`` is
    the same source where numba compiled it).
    """
    if numba is None:
        return function
    fastmath = {"reassoc", "contract"}
    return numba.njit(cache=True, nogil=True, boundscheck=False, fastmath=fastmath)(function)


def _python_popcount(word: Any) -> Any:
    """The number of set bits of a 64-bit word (the kernel's plain-Python form)."""
    return np.uint64(int(word).bit_count())


_popcount: Any = _python_popcount
if numba is not None:

    @numba.extending.intrinsic
    def _popcount(typingctx: Any, word: Any) -> Any:  # pragma: no cover - compiled
        """LLVM's ``ctpop`` (one ``popcnt`` instruction) on a 64-bit word."""

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.ctpop(args[0])

        return numba.types.uint64(numba.types.uint64), codegen


@_jit
def _pack_signs(X: Any, bits: Any) -> None:  # pragma: no cover - compiled
    """``bits[r, m, w]`` bit ``k``: ``X[r, m, 64 w + k] < 0`` (the word's unused bits 0)."""
    R, M, d = X.shape
    one = np.uint64(1)
    for r in range(R):
        for m in range(M):
            for w in range(bits.shape[2]):
                word = np.uint64(0)
                for k in range(64 * w, min(d, 64 * w + 64)):
                    if X[r, m, k] < 0:
                        word |= one << np.uint64(k - 64 * w)
                bits[r, m, w] = word


@_jit
def _gram_plus_one(C: Any, bits: Any, r: int, row: int, i: int, dim: int, one: Any) -> Any:
    """``C[r, row, i] + 1``: from the Gram matrix, or from bit counts where ``bits`` has words.

    Rows of ``d`` signs differing in ``k`` places have ``x . x' = d - 2 k``; the integer
    ``d + 1 - 2 k`` is exact in the array's float type, as the product's entry is.
    """
    words = bits.shape[2]
    if words == 0:
        return C[r, row, i] + one
    differ = np.int64(0)
    for w in range(words):
        differ += np.int64(_popcount(bits[r, row, w] ^ bits[r, i, w]))
    return C.dtype.type(dim + 1 - 2 * differ)


@_jit
def _rho_prime(r: Any, code: int, delta: Any, zero: Any, one: Any) -> Any:  # pragma: no cover
    """``rho'(r)`` of :func:`csqbound.sgd.losses.loss_derivative`, ``nan`` kept as ``nan``."""
    if code == 0:
        return r
    if code == 1:
        if r > zero:
            return one
        if r < zero:
            return -one
        return r * zero  # 0, and nan stays nan
    if code == 2:
        if r > delta:
            return delta
        if r < -delta:
            return -delta
        return r
    return np.tanh(r)


@_jit
def _correct_and_forward(
    H: Any, C: Any, bits: Any, G: Any, a: Any, b: Any, y: Any, r: int, lo: int, B: int,
    dim: int, e: Any, acc: Any, zero: Any, one: Any,
) -> None:  # pragma: no cover - compiled  # fmt: skip
    """Rows ``lo..lo+B`` of replica ``r``: ``H <- Z`` and ``e <- f - y`` (before ``rho'``).

    ``H`` holds ``X W^T`` and ``C`` holds ``X X^T`` (or ``bits`` the signs of ``X``):
    the pre-activation is ``(H + b) - sum_i (C + 1) G_i``, rounded as the reference
    rounds it.
    """
    N = H.shape[2]
    for q in range(B):
        for n in range(N):
            acc[q, n] = zero
    for i in range(lo):  # an earlier row of G, read once for the step's B rows
        for q in range(B):
            c = _gram_plus_one(C, bits, r, lo + q, i, dim, one)
            for n in range(N):
                acc[q, n] += c * G[r, i, n]
    for q in range(B):
        row = lo + q
        f = zero
        for n in range(N):
            h = (H[r, row, n] + b[r, n]) - acc[q, n]
            z = h if h > zero else h * zero  # Z = H [H > 0]: nan and inf give nan
            H[r, row, n] = z
            f += z * a[r, n]
        e[q] = f - y[r, row]


@_jit
def _kernel(
    H: Any, C: Any, bits: Any, G: Any, a: Any, b: Any, b_out: Any, y: Any, scale: Any,
    lr_h: Any, lr_o: Any, B: int, dim: int, code: int, delta: Any, zero: Any, one: Any,
) -> None:  # pragma: no cover - compiled  # fmt: skip
    """Every replica's ``k`` steps (:func:`fused_block`): ``H <- Z``, ``G``, ``a``, ``b_out``."""
    R, M, N = H.shape
    acc = np.empty((B, N), dtype=H.dtype)
    ga = np.empty(N, dtype=H.dtype)
    la = np.empty(N, dtype=H.dtype)
    e = np.empty(B, dtype=H.dtype)
    for r in range(R):
        s = scale[r, 0, 0]
        for n in range(N):
            b_out[r, n] = zero
        for lo in range(0, M, B):
            _correct_and_forward(H, C, bits, G, a, b, y, r, lo, B, dim, e, acc, zero, one)
            for n in range(N):
                ga[n] = zero
                la[n] = lr_h * a[r, n]
            for q in range(B):
                eq = _rho_prime(e[q], code, delta, zero, one) * s
                for n in range(N):
                    z = H[r, lo + q, n]
                    ga[n] += eq * z
                    g = eq * la[n]
                    g = g if z > zero else g * zero  # G = e (lr a) [H > 0]
                    G[r, lo + q, n] = g
                    b_out[r, n] += g
            for n in range(N):
                a[r, n] -= lr_o * ga[n]
        for n in range(N):
            b_out[r, n] = b[r, n] - b_out[r, n]
