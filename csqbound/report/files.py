"""Output files written atomically, never through a link planted in the output folder.

Every file csqbound writes for a user (tables, ``report.tex``, ``report.json``,
figures, ``report.pdf``) is first written to a temporary file in the same folder and
then renamed over its name (:func:`os.replace`, atomic on POSIX): a killed process or
a full disk leaves the previous file or none, never a truncated one, and a symbolic
link planted at the name is replaced, not followed. A full disk or an unwritable
folder is one :class:`~csqbound.errors.CsqboundError`.

Examples
--------
>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_text(folder / "a.tex", "hello").read_text()
'hello'
>>> sorted(p.name for p in folder.iterdir())        # no temporary file is left
['a.tex']
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from csqbound.errors import CsqboundError

__all__ = ["check_folder", "save_figure", "staged", "write_text"]

#: Below this many free bytes a failed write is reported as a full disk.
_FULL_DISK = 1 << 20


def check_folder(folder: Path) -> Path:
    """Create ``folder`` (and its parents) unless it exists; refuse a symbolic link.

    Raises
    ------
    CsqboundError
        When ``folder`` is a symbolic link (a planted one would send the report's
        files elsewhere) or cannot be created.
    """
    if folder.is_symlink():
        msg = f"refusing to write into {folder}: it is a symbolic link (remove it or pick --out)"
        raise CsqboundError(msg)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create the folder {folder}: {exc.strerror or exc}"
        raise CsqboundError(msg) from exc
    return folder


@contextlib.contextmanager
def staged(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) that becomes ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched; an
    ``OSError`` (or any failure on a full disk) becomes one :class:`CsqboundError`.
    """
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    except OSError as exc:  # a read-only file system, a full disk, no permission
        _raise_as_input_error(path, exc)
        raise
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 -> what open() would have given
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        _raise_as_input_error(path, exc)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _raise_as_input_error(path: Path, exc: BaseException) -> None:
    """Re-raise a failed write as a :class:`CsqboundError` when the cause is the disk."""
    if isinstance(exc, CsqboundError):
        return
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    if free is not None and free < _FULL_DISK:
        msg = f"cannot write {path}: the disk is full ({free:,} bytes free)"
        raise CsqboundError(msg) from exc
    if isinstance(exc, OSError):
        msg = f"cannot write {path}: {exc.strerror or exc}"
        raise CsqboundError(msg) from exc


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return ``path``."""
    path = Path(path)
    with staged(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def save_figure(fig: Any, path: Path, **savefig: Any) -> Path:
    """``fig.savefig`` to ``path`` atomically (the format from ``path``'s suffix)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    save: Callable[..., Any] = fig.savefig
    with staged(path) as tmp:
        save(tmp, format=fmt, **savefig)
    return path
