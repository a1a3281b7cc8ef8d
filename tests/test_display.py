"""Notebook-first results (issue 14): short reprs, HTML summaries, DataFrames."""

from __future__ import annotations

import importlib.util
import json
import sys
from fractions import Fraction

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


# --- the exact results: Expansion, LeapResult, CSQBound; and the report's records ---------------
@pytest.fixture(scope="module")
def exact_results():
    from csqbound.expansion import expand
    from csqbound.target import Target

    many = " + ".join(f"x{i}*x{i + 1}" for i in range(1, 40))  # 39 monomials
    return {
        "expansion": expand(Target.from_text("x1 + x1*x2*x3/3")),
        "big": expand(Target.from_text(many)),
        "leap": csqbound.leap("x1 + x1*x2*x3"),
        "csq": csqbound.csq_bound("x1*x2*x3", d=64, tau="0.01"),
    }


def test_exact_results_have_short_reprs(exact_results):
    for obj in exact_results.values():
        text = repr(obj)
        assert "\n" not in text
        assert len(text) < 400, text
    assert repr(exact_results["expansion"]) == (
        "Expansion(domain='boolean', variables=3, terms=2, exact=True, norm2='10/9', "
        "support='x1, x1*x2*x3')"
    )
    assert repr(exact_results["leap"]).startswith("LeapResult(leap=2, msp=False")
    assert "bound='5207/2500'" in repr(exact_results["csq"])


def test_exact_results_show_as_compact_tables(exact_results):
    for obj in exact_results.values():
        page = obj._repr_html_()
        assert page.startswith("<table>")
        assert page.endswith("</table>")
        assert "<thead>" in page
    big = exact_results["big"]._repr_html_()
    assert big.count("<tr>") == 1 + 20 + 1  # header, 20 monomials, "... 19 more"
    assert "19 more" in big
    assert '<td style="text-align:left">1/3</td>' in exact_results["expansion"]._repr_html_()
    assert "5207/2500" in exact_results["csq"]._repr_html_()


def test_exact_results_to_dict(exact_results):
    e = exact_results["expansion"].to_dict()
    assert e["norm2"] == "10/9"
    assert e["support"][1] == {"monomial": "x1*x2*x3", "coefficient": "1/3", "degree": 3,
                               "weight": "1/9"}  # fmt: skip
    leap = exact_results["leap"].to_dict()
    assert leap["stages"] == [["x1"], ["x1*x2*x3"]]
    assert leap["jumps"] == [1, 2]
    assert exact_results["csq"].to_dict()["below_one_query"] is False


def test_exact_results_to_dataframe(exact_results):
    pytest.importorskip("pandas")
    frame = exact_results["expansion"].to_dataframe()
    assert frame["monomial"].tolist() == ["x1", "x1*x2*x3"]
    assert frame["coefficient"].tolist() == ["1", "1/3"]
    assert frame["coefficient_float"].tolist() == [1.0, 1 / 3]
    steps = exact_results["leap"].to_dataframe()
    assert steps["jump"].tolist() == [1, 2]
    assert steps["new_coordinates"].tolist() == ["x1", "x2, x3"]
    stages = exact_results["csq"].to_dataframe()
    assert stages["queries"].tolist() == ["5207/2500"]
    assert stages["queries_float"].tolist() == [2.0828]


@pytest.mark.parametrize("name", ["expansion", "leap", "csq"])
def test_exact_results_without_pandas_name_the_extra(exact_results, monkeypatch, name):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'csqbound\[pandas\]'"):
        exact_results[name].to_dataframe()


def test_report_result_records(tmp_path):
    from csqbound.report.pipeline import RECORD_COLUMNS, build_report
    from csqbound.report.suite import parse_suite

    suite = parse_suite(
        "[report]\nd = [8, 16]\nseeds = 2\n[settings]\nreplicas = 2\nsamples = 20000\n"
        '[[target]]\nname = "parity2"\nexpression = "x1*x2"'
    )
    result = build_report(suite, tmp_path / "r", workers=1, compile_pdf=False)
    assert "\n" not in repr(result)
    assert repr(result).startswith("ReportResult(out_dir=")
    (row,) = result.records()
    assert tuple(row) == RECORD_COLUMNS
    verdict = result.data["targets"][0]["verification"]["verdict"]
    assert row["name"] == "parity2"
    assert row["verdict"] == verdict
    assert row["leap"] == 2
    assert (row["d_min"], row["d_max"]) == (8, 16)
    assert "parity2" in result._repr_html_()
    assert result.to_dict()["targets"] == result.data["targets"]
    written = json.loads(result.json.read_text(encoding="utf-8"))
    assert written["schema_version"] == 1
    theory = written["targets"][0]["theory"]
    assert theory["csq_bound_float"] == float(Fraction(theory["csq_bound"]))
    if importlib.util.find_spec("pandas") is not None:
        assert result.to_dataframe()["verdict"].tolist() == [verdict]
