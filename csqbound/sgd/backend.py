"""Array backends, device transfers and the host random-number streams of SGD runs.

This is the only module that knows which array library is running
(docs/architecture.md, "Backends and scale"). Everything else in :mod:`csqbound.sgd`
receives an array namespace ``xp`` and calls only ``xp.*`` functions of the
array API standard.

Backends
    ``"numpy"`` (the default; numpy >= 2 implements the standard in its main
    namespace, so it is used directly, without a wrapper), ``"numba"`` (the
    ``fast`` extra: numpy arrays and BLAS, and the per-step work of a block as one
    compiled kernel, :mod:`csqbound.sgd.fused`; the same SGD up to rounding), ``"cupy"`` (the
    ``gpu`` extra), ``"torch"`` (the ``torch`` extra; CUDA when available) and
    ``"array_api_strict"`` (the reference implementation, used by the tests to
    keep the code honest). cupy and torch are imported only when asked for.

Transfers
    :func:`asarray` (host numpy -> backend) and :func:`to_numpy`
    (backend -> host numpy) are the only two places where data crosses devices.

Threads
    :class:`HostThreads`: a context that pins numpy's BLAS to one thread around
    the small products of SGD, which are several times slower threaded. A sweep
    uses the cores as processes.

Random numbers
    Every random number of a run is drawn on the host from numpy generators
    (PCG64) seeded by :class:`numpy.random.SeedSequence` with fixed spawn keys
    (:func:`seed_sequences`), generated in chunks of many steps and transferred
    in one go. So the numbers are the same on every backend (bitwise on the
    host; after the transfer up to the backend's float rounding) and bitwise
    reproducible on numpy. Boolean inputs come from the raw 64-bit output of the
    generator, one bit per coordinate; gaussian ones from
    :meth:`numpy.random.Generator.standard_normal` in the requested precision.
    Either way a replica's stream does not depend on how it is cut into chunks.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, get_args

import numpy as np

from csqbound.errors import BackendUnavailableError, CsqboundError, ParameterError
from csqbound.monomial import Domain, check_domain

__all__ = [
    "BACKENDS",
    "BACKEND_TABLE",
    "DTYPES",
    "Backend",
    "BackendName",
    "BackendSpec",
    "DTypeName",
    "HostThreads",
    "SeedPlan",
    "asarray",
    "backend_matrix",
    "backend_help",
    "check_dtype",
    "get_backend",
    "sample_inputs",
    "seed_sequences",
    "to_numpy",
]

#: The backend names, in the order of :data:`BACKEND_TABLE` (the one place they are listed:
#: :data:`BACKENDS`, the sweep's check, the CLI's ``--backend`` help and the tests' backend
#: matrix are read from the table).
BackendName = Literal["numpy", "numba", "cupy", "torch", "array_api_strict"]
DTypeName = Literal["float32", "float64"]

#: The backend names :func:`get_backend` accepts.
BACKENDS: tuple[BackendName, ...] = get_args(BackendName)
#: The floating dtypes SGD runs in.
DTYPES: tuple[str, ...] = ("float32", "float64")


@dataclass(frozen=True)
class Backend:
    """An array namespace with the device it computes on.

    Parameters
    ----------
    name
        One of :data:`BACKENDS`.
    xp
        The array-API namespace (``numpy`` itself for ``"numpy"``, the
        ``array_api_compat`` wrapper for cupy and torch).
    device
        Where arrays are created (``None``: the namespace's default; torch:
        ``"cuda"`` when available, else ``"cpu"``).
    compiled_steps
        Whether SGD blocks run their per-step work through the compiled kernel of
        :mod:`csqbound.sgd.fused` (the ``"numba"`` backend) instead of the array-API
        reference; the trainer asks this, not the name.

    Examples
    --------
    >>> be = get_backend("numpy")
    >>> be.name, be.xp.__name__
    ('numpy', 'numpy')
    >>> be.asarray([1, 2], "float32")
    array([1., 2.], dtype=float32)
    """

    name: BackendName
    xp: Any
    device: Any = None
    compiled_steps: bool = False

    def dtype(self, name: str) -> Any:
        """The backend's dtype object for ``"float32"`` or ``"float64"``."""
        return getattr(self.xp, check_dtype(name))

    def asarray(self, host: Any, dtype: str, *, copy: bool = True) -> Any:
        """Transfer a host array to this backend (see :func:`asarray`).

        ``copy=False`` hands over a host array that nothing else holds (a fresh
        chunk of inputs): numpy then uses it as it is when its dtype matches.
        """
        return asarray(self.xp, host, check_dtype(dtype), device=self.device, copy=copy)

    def synchronize(self) -> None:
        """Wait for queued device work (cupy and torch on a GPU); a no-op elsewhere."""
        match self.name:
            case "cupy":
                import cupy

                cupy.cuda.Device().synchronize()
            case "torch":
                import torch

                if torch.cuda.is_available() and str(self.device).startswith("cuda"):
                    torch.cuda.synchronize()
            case _:
                return


class HostThreads:
    """A context that runs the host BLAS on the calling thread only (numpy; a no-op elsewhere).

    The products of SGD are small (``64 x d x 64`` per replica): OpenBLAS's
    default of one thread per core made a run 7x slower in CPU time on two cores.
    Created once per run (finding the BLAS takes milliseconds), entered per
    stretch of steps (microseconds), through :mod:`threadpoolctl`.

    Parameters
    ----------
    backend
        The run's backend; only ``"numpy"`` and ``"numba"`` are managed (the others schedule
        their own threads).

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> with HostThreads(get_backend("numpy")).single():
    ...     {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
    {1}
    """

    def __init__(self, backend: Backend) -> None:
        self._controller: Any = None
        if backend.name in ("numpy", "numba"):
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController().select(user_api="blas")

    def single(self) -> AbstractContextManager[Any]:
        """A context in which the BLAS runs on the calling thread only."""
        if self._controller is None:
            return nullcontext()
        return self._controller.limit(limits=1)  # type: ignore[no-any-return]


def check_dtype(name: str) -> DTypeName:
    """Validate a dtype name.

    Raises
    ------
    ParameterError
        For anything but ``"float32"`` and ``"float64"``.

    Examples
    --------
    >>> check_dtype("float64")
    'float64'
    """
    match name:
        case "float32":
            return "float32"
        case "float64":
            return "float64"
        case _:
            msg = f"unknown dtype {name!r}: use 'float32' or 'float64'"
            raise ParameterError(msg)


def _import_extra(module: str, backend: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = BACKEND_TABLE[backend].extra
        msg = (
            f"backend {backend!r} needs the package {module.split('.')[0]!r}, which is not "
            f"installed: pip install 'csqbound[{extra}]'"
        )
        raise BackendUnavailableError(msg) from None


def _load_numpy(device: Any) -> Backend:
    return Backend("numpy", np, None)


def _load_numba(device: Any) -> Backend:
    _import_extra("numba", "numba")
    return Backend("numba", np, None, compiled_steps=True)


def _load_array_api_strict(device: Any) -> Backend:
    return Backend(
        "array_api_strict", _import_extra("array_api_strict", "array_api_strict"), device
    )


def _load_cupy(device: Any) -> Backend:
    _import_extra("cupy", "cupy")
    return Backend("cupy", importlib.import_module("array_api_compat.cupy"), device)


def _load_torch(device: Any) -> Backend:
    torch = _import_extra("torch", "torch")
    xp = importlib.import_module("array_api_compat.torch")
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return Backend("torch", xp, torch.device(device))


def _cuda_devices() -> str | None:
    """Why cupy cannot run here (``None``: it sees a GPU)."""
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - any CUDA failure means: no usable GPU
        return "cupy is installed but cannot reach a GPU"
    return None if count else "cupy is installed but sees no GPU"


@dataclass(frozen=True)
class BackendSpec:
    """One row of :data:`BACKEND_TABLE`: a backend, what it needs, how it is loaded.

    Attributes
    ----------
    name
        The name :func:`get_backend` takes.
    package
        The package its arrays come from (imported only when the backend is asked for).
    extra
        The ``pip install 'csqbound[EXTRA]'`` that installs the package.
    summary
        A few words for help texts (``--backend``).
    load
        ``load(device) -> Backend``.
    usable
        ``usable() -> None`` when the backend can run here, else why not (after the
        package is found; e.g. cupy without a GPU).

    Examples
    --------
    >>> BACKEND_TABLE["torch"].extra, BACKEND_TABLE["numpy"].missing()
    ('torch', None)
    """

    name: BackendName
    package: str
    extra: str | None
    summary: str
    load: Callable[[Any], Backend]
    usable: Callable[[], str | None] = lambda: None

    def missing(self) -> str | None:
        """Why this backend cannot run here (its package or device is missing), or ``None``."""
        if importlib.util.find_spec(self.package) is None:
            return f"{self.package} is not installed (pip install 'csqbound[{self.extra}]')"
        return self.usable()


#: Every backend, one row each, in the order of :data:`BACKENDS`.
BACKEND_TABLE: Mapping[str, BackendSpec] = {
    spec.name: spec
    for spec in (
        BackendSpec("numpy", "numpy", None, "the default", _load_numpy),
        BackendSpec("numba", "numba", "fast", "numpy with a compiled step kernel", _load_numba),
        BackendSpec("cupy", "cupy", "gpu", "NVIDIA GPUs", _load_cupy, _cuda_devices),
        BackendSpec("torch", "torch", "torch", "CUDA when available, else CPU", _load_torch),
        BackendSpec(
            "array_api_strict",
            "array_api_strict",
            "test",
            "the reference, for tests",
            _load_array_api_strict,
        ),  # fmt: skip
    )
}
if tuple(BACKEND_TABLE) != BACKENDS:  # pragma: no cover - a row added to one and not the other
    msg = f"BACKEND_TABLE lists {tuple(BACKEND_TABLE)}, BackendName {BACKENDS}"
    raise RuntimeError(msg)


def backend_help() -> str:
    """The help text of a ``--backend`` option, from :data:`BACKEND_TABLE`.

    Examples
    --------
    >>> backend_help().split(": ")[0]
    'Array backend'
    """
    return "Array backend: " + ", ".join(f"{s.name} ({s.summary})" for s in BACKEND_TABLE.values())


def backend_matrix() -> Iterator[tuple[str, str | None]]:
    """Every backend with why it cannot run here (``None``: it can), for test matrices.

    The tests parametrize over it (scikit-learn's
    ``yield_namespace_device_dtype_combinations``): a backend that cannot run is
    skipped, saying why, never left out silently.

    Examples
    --------
    >>> dict(backend_matrix())["numpy"] is None
    True
    """
    for spec in BACKEND_TABLE.values():
        yield spec.name, spec.missing()


def get_backend(name: str = "numpy", *, device: Any = None) -> Backend:
    """The array backend called ``name``.

    Parameters
    ----------
    name
        One of :data:`BACKENDS`: ``"numpy"``, ``"numba"``, ``"cupy"``, ``"torch"`` or
        ``"array_api_strict"``.
    device
        Optional device for cupy/torch (e.g. ``"cpu"`` or ``"cuda:1"``); by
        default torch uses CUDA when available.

    Returns
    -------
    Backend

    Raises
    ------
    BackendUnavailableError
        When the package of a known backend is not installed (the message
        names the extra to install).
    CsqboundError
        For an unknown backend name.

    Examples
    --------
    >>> get_backend("array_api_strict").name
    'array_api_strict'
    >>> get_backend("jax")
    Traceback (most recent call last):
    ...
    csqbound.errors.CsqboundError: unknown backend 'jax': use one of numpy, numba, cupy, ...
    """
    spec = BACKEND_TABLE.get(name) if isinstance(name, str) else None
    if spec is None:
        msg = f"unknown backend {name!r}: use one of {', '.join(BACKENDS)}"
        raise CsqboundError(msg)
    return spec.load(device)


def asarray(xp: Any, host_array: Any, dtype: Any, *, device: Any = None, copy: bool = True) -> Any:
    """Transfer a host (numpy) array to the namespace ``xp``, converting its dtype.

    Parameters
    ----------
    xp
        The target array namespace.
    host_array
        A numpy array (or anything ``numpy.asarray`` accepts).
    dtype
        ``"float32"``/``"float64"`` or a dtype object of ``xp``.
    device
        Optional target device.
    copy
        ``False``: on numpy, return ``host_array`` itself when it already has
        ``dtype`` (for a host array that nothing else holds; other backends
        always transfer).

    Returns
    -------
    array
        A new array of ``xp`` (never a view of ``host_array`` that could be
        modified through it, except for numpy where it is a copy too, unless
        ``copy=False``).

    Examples
    --------
    >>> import numpy as np
    >>> asarray(np, [[1, 2]], "float64")
    array([[1., 2.]])
    """
    if isinstance(dtype, str):
        dtype = getattr(xp, check_dtype(dtype))
    host = np.asarray(host_array)
    if xp is np:
        return np.array(host, dtype=dtype, copy=True if copy else None)
    if device is None:
        return xp.asarray(host, dtype=dtype, copy=True)
    return xp.asarray(host, dtype=dtype, device=device, copy=True)


def to_numpy(a: Any) -> np.ndarray:
    """Copy an array of any backend to a host numpy array.

    Examples
    --------
    >>> import array_api_strict as xps
    >>> to_numpy(xps.asarray([1.0, 2.0]))
    array([1., 2.])
    """
    if isinstance(a, np.ndarray | np.generic):
        return np.asarray(a)
    module = type(a).__module__.split(".")[0]
    match module:
        case "cupy":
            return a.get()  # type: ignore[no-any-return]
        case "torch":
            return a.detach().cpu().numpy()  # type: ignore[no-any-return]
        case _:
            try:
                return np.from_dlpack(a)
            except (TypeError, AttributeError, BufferError, RuntimeError):
                return np.asarray(a)


class SeedPlan(NamedTuple):
    """The independent random streams of one run (all from one integer seed).

    Attributes
    ----------
    test
        The test set (shared by all replicas).
    probes
        The choice of probe monomials.
    init
        Per replica: the network's initialisation.
    data
        Per replica: the training inputs.
    readout
        The sample on which a layer-wise run fits its second layer (shared by all replicas).
    """

    test: np.random.Generator
    probes: np.random.Generator
    init: tuple[np.random.Generator, ...]
    data: tuple[np.random.Generator, ...]
    readout: np.random.Generator


def seed_sequences(seed: int, replicas: int) -> SeedPlan:
    """The generators of a run: fixed spawn keys under ``SeedSequence(seed)``.

    Spawn keys: test set ``(0,)``, probes ``(1,)``, replica ``r``'s
    initialisation ``(2, r, 0)`` and data ``(2, r, 1)``, the layer-wise readout
    sample ``(3,)``. Replica ``r`` thus gets
    the same network and the same data whatever the number of replicas.

    Examples
    --------
    >>> a = seed_sequences(7, 2)
    >>> b = seed_sequences(7, 5)
    >>> bool(a.data[1].random() == b.data[1].random())
    True
    >>> bool(a.data[0].random() == a.data[1].random())
    False
    """
    if replicas < 1:
        msg = f"replicas must be >= 1, got {replicas}"
        raise ParameterError(msg)

    def gen(*key: int) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))

    return SeedPlan(
        test=gen(0),
        probes=gen(1),
        init=tuple(gen(2, r, 0) for r in range(replicas)),
        data=tuple(gen(2, r, 1) for r in range(replicas)),
        readout=gen(3),
    )


#: ``_SIGNS[v, i]`` is the sign coded by bit ``i`` of the byte ``v`` (``1 - 2 bit``).
_SIGNS = 1 - 2 * ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1)


def sample_inputs(
    generators: Sequence[np.random.Generator],
    steps: int,
    batch: int,
    d: int,
    domain: str,
    dtype: str = "float64",
    *,
    order: Literal["step", "replica"] = "step",
) -> np.ndarray:
    """Draw ``steps`` batches for each replica on the host, shape ``(steps, R, batch, d)``.

    Replica ``r`` draws from ``generators[r]``. Boolean: uniform signs, one
    bit of the generator's raw 64-bit output per coordinate (each step uses
    ``ceil(batch*d/64)`` words, bit ``i`` of a word, least significant first, is
    coordinate ``i``; a set bit is ``-1``); gaussian: standard normals in ``dtype``.
    Drawing ``s1`` then ``s2`` steps gives the same numbers as ``s1 + s2`` at once.

    Parameters
    ----------
    generators
        One generator per replica (``len`` is ``R``).
    steps, batch, d
        Sizes.
    domain
        ``"boolean"`` or ``"gaussian"``.
    dtype
        ``"float32"`` or ``"float64"``.
    order
        ``"step"`` (the default): shape ``(steps, R, batch, d)``; ``"replica"``:
        the same numbers with the replica first, ``(R, steps, batch, d)``, the
        order in which they are drawn (no transposing copy; what a block of
        steps of one replica, contiguous, needs).

    Returns
    -------
    numpy.ndarray
        C-contiguous, of the requested dtype.

    Notes
    -----
    Boolean signs go from the generator's bytes to ``dtype`` through a table of
    the 256 bytes' eight signs (one gather, no intermediate array of bits), and
    gaussian normals are written in place (``out=``): the inputs cost about one
    write of the chunk.

    Examples
    --------
    >>> g = seed_sequences(0, 2).data
    >>> X = sample_inputs(g, 3, 2, 5, "boolean", "float32")
    >>> X.shape, X.dtype, sorted(set(X.ravel().tolist()))
    ((3, 2, 2, 5), dtype('float32'), [-1.0, 1.0])
    >>> Y = sample_inputs(seed_sequences(0, 2).data, 3, 2, 5, "boolean", "float32", order="replica")
    >>> bool((Y == X.swapaxes(0, 1)).all())
    True
    """
    dom: Domain = check_domain(domain)
    dt = np.dtype(check_dtype(dtype))
    if order not in ("step", "replica"):
        msg = f"unknown order {order!r}: use 'step' or 'replica'"
        raise ParameterError(msg)
    R = len(generators)
    per_step = batch * d
    match dom:
        case "boolean":
            words = -(-per_step // 64)
            raw = np.empty((R, steps * words), dtype="<u8")
            for r, g in enumerate(generators):
                raw[r] = g.bit_generator.random_raw(steps * words)
            signs = np.take(_SIGNS.astype(dt), raw.view(np.uint8), axis=0)
            host = signs.reshape(R, steps, words * 64)[:, :, :per_step]
        case "gaussian":
            host = np.empty((R, steps, per_step), dtype=dt)
            for r, g in enumerate(generators):
                g.standard_normal(out=host[r], dtype=dt)
    match order:
        case "step":
            return np.ascontiguousarray(np.swapaxes(host, 0, 1)).reshape(steps, R, batch, d)
        case "replica":
            return np.ascontiguousarray(host).reshape(R, steps, batch, d)
