"""Issue 11: report outputs are written atomically and never through planted links."""

from __future__ import annotations

import os
from collections import namedtuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from csqbound.errors import CsqboundError
from csqbound.report import files
from csqbound.report.files import check_folder, save_figure, staged, write_text


def test_a_planted_symlink_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.tex").symlink_to(victim)
    write_text(out / "report.tex", "new")
    assert victim.read_text() == "precious"
    assert not (out / "report.tex").is_symlink()
    assert (out / "report.tex").read_text() == "new"


def test_a_symlinked_output_folder_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "figures").symlink_to(elsewhere)
    with pytest.raises(CsqboundError, match="symbolic link"):
        check_folder(tmp_path / "figures")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "table.tex"
    path.write_text("old")
    with pytest.raises(RuntimeError), staged(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.tex"]


def test_files_get_the_permissions_open_would_give(tmp_path):
    mask = os.umask(0o022)
    try:
        path = write_text(tmp_path / "a.tex", "x")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_full_disk_is_one_input_error_and_no_truncated_figure(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(files.shutil, "disk_usage", lambda _: usage(10, 10, 0))
    fig = plt.figure()
    fig.savefig = lambda *a, **k: (_ for _ in ()).throw(AttributeError("'Stream' has no 'pos'"))
    try:
        with pytest.raises(CsqboundError, match="disk is full"):
            save_figure(fig, tmp_path / "f.pdf")
    finally:
        plt.close(fig)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_is_one_input_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # root ignores permissions
            pytest.skip("running as root: the folder stays writable")
        with pytest.raises(CsqboundError, match="cannot"):
            write_text(folder / "a.tex", "x")
    finally:
        folder.chmod(0o700)
