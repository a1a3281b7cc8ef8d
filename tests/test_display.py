"""Notebook-first results (issue 14): short reprs, HTML summaries, DataFrames."""

from __future__ import annotations

import sys

import pytest

import csqbound
from csqbound.errors import BackendUnavailableError


@pytest.fixture(scope="module")
def run():
    return csqbound.train("x1 + x1*x2", d=8, replicas=3, samples=20_000, seed=1)


@pytest.fixture(scope="module")
def verification(tmp_path_factory):
    store = tmp_path_factory.mktemp("v") / "s.sqlite"
    return csqbound.verify("x1", ds=[8, 16, 32, 64], seeds=4, store=store, workers=1,
                           settings={"replicas": 2, "samples": 20_000}, resamples=200)  # fmt: skip


def test_reprs_are_one_short_line(run, verification):
    for obj in (run, verification):
        text = repr(obj)
        assert "\n" not in text and len(text) < 400, text
    assert repr(run).startswith("Run(target='x1 + x1*x2', domain='boolean', d=8")
    assert f"verdict='{verification.selection.verdict}'" in repr(verification)


def test_html_is_a_compact_escaped_table(run, verification):
    for obj in (run, verification):
        page = obj._repr_html_()
        assert page.startswith("<table>") and page.endswith("</table>")
        assert len(page) < 5000
    assert "<script" not in csqbound.train("x1", d=4, replicas=1, samples=2000)._repr_html_()


def test_dataframes_have_one_row_per_replica_and_per_d(run, verification):
    pytest.importorskip("pandas")
    frame = run.to_dataframe()
    assert len(frame) == 3
    assert list(frame.columns[:5]) == ["target", "d", "seed", "replica", "status"]
    assert frame["samples_to_learn"].tolist() == list(run.samples_to_learn)
    per_d = verification.to_dataframe()
    assert per_d["d"].tolist() == [8, 16, 32, 64]
    assert per_d["median_stage_end"].tolist() == [verification.selection.medians[d]
                                                  for d in (8, 16, 32, 64)]  # fmt: skip


def test_without_pandas_the_error_names_the_extra(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with pytest.raises(BackendUnavailableError, match=r"csqbound\[pandas\]"):
        run.to_dataframe()
