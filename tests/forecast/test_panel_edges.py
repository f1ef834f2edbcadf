"""A panel's edges: a series no baseline tells from naive, a window group of one series under --global,
settings --global refuses, interval levels no test point reaches, and what a folder panel's model records."""

import json
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from scratchlstm.data import as_price_series
from scratchlstm.data.panel import load_panel
from scratchlstm.errors import ConfigError
from scratchlstm.forecast import predict_next, run_forecast
from scratchlstm.forecast import panel as panel_module
from scratchlstm.forecast.panel import run_panel
from scratchlstm.forecast.report import forecast_figure, report_document
from tests.forecast.test_panel import TINY, _cli, ar_returns_series, dated_rows_of, small_panel, write_long


def step_at_the_end(n=160):
    """Prices that move before the test span, are flat through it and step at its last point: drift, the window
    mean and seasonal naive (no season) all forecast what naive forecasts, yet naive's MAE is not 0."""
    prices = ar_returns_series(3, n).prices.to_numpy().copy()
    prices[n - 40 : n - 1] = prices[n - 41]
    prices[-1] = prices[-2] * 1.01
    return as_price_series(pd.Series(prices, index=pd.date_range("2000-01-03", periods=n, freq="D"), name="close"))


def test_a_series_whose_baselines_all_equal_naive_has_no_best_other_baseline():
    """min() arg is an empty sequence: exit 3 in forecast, and in a panel every series' results were lost;
    a RuntimeWarning of 0/0 leaked from the bootstrap of the MAE ratio."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = run_forecast(step_at_the_end(), TINY, quiet=True)
        assert result.best_other_baseline is None
        assert np.all(np.isfinite(result.mae_ratio_interval))
    assert result.verdict_vs_best.startswith("none differs from naive")
    assert f"against the best other baseline: {result.verdict_vs_best}" in result.table()
    assert report_document(result)["significance_vs_best_baseline"]["baseline"] is None
    panel = run_panel({"s0": ar_returns_series(0), "flat": step_at_the_end()}, TINY, jobs=1, quiet=True)
    rows = {r["series"]: r for r in panel.summary()["series"]}
    assert rows["flat"]["best_baseline"] is None and rows["flat"]["vs_best_baseline"] == "none differs from naive"
    assert rows["s0"]["best_baseline"] is not None and "error" not in rows["s0"]
    table = panel.table()
    assert any(line.startswith("flat ") and "(none differs)" in line and "nan" not in line for line in table.splitlines()), table
    assert "; none differs from naive on 1" in table


def test_a_series_whose_summary_row_fails_keeps_the_others_rows(monkeypatch):
    panel = run_panel(small_panel(2), replace(TINY, epochs=1), jobs=1, quiet=True)
    real = panel_module.series_row

    def failing(run):
        if run.name == "s0":
            raise ValueError("boom")
        return real(run)

    monkeypatch.setattr(panel_module, "series_row", failing)
    rows = panel.summary()["series"]
    assert rows[0]["error"].startswith("its summary could not be made (ValueError: boom); this is a bug")
    assert "error" not in rows[1] and rows[1]["mae_ratio_naive"] > 0
    assert "s0                       not run: its summary could not be made" in panel.table()


def test_a_window_group_of_one_series_gets_no_global_model():
    """Its 'global model' was the series' own fit (same seed, same windows), kept on the tie of their validation
    losses and counted as the global model winning; here the panel's one series is such a group."""
    result = run_panel(small_panel(1), TINY, jobs=1, quiet=True, global_model=True)
    assert result.notes == ["global model, window 10: not trained, as only s0 has that window (a model trained across one "
                            "series is its own); it keeps its own fits"]
    run = result.runs[0]
    assert run.final is run.result
    assert [c["kept"] for c in run.choices] == ["per-series"] and run.choices[0]["why"].startswith("no global model: s0 is the only")
    assert result.summary()["overall"]["global_model_kept"] == 0
    assert "(the global model on 0)" in result.table()


def test_global_with_a_price_target_is_refused_before_any_series_runs(monkeypatch):
    def ran(*args, **kwargs):
        raise AssertionError("a series ran before --global's settings were checked")

    monkeypatch.setattr(panel_module, "map_tasks", ran)
    with pytest.raises(ConfigError, match="--global needs --target returns"):
        run_panel(small_panel(2), replace(TINY, target="price"), jobs=1, quiet=True, global_model=True)


def test_a_level_no_test_point_reaches_is_n_a_with_the_reason_and_has_no_band_in_the_figure():
    """The panel showed 'nan%' with no reason, forecast's table a width 'nan', and the figure's legend listed a
    99% band that was never drawn."""
    config = replace(TINY, interval_levels=(50, 99))
    panel = run_panel(small_panel(1), config, jobs=1, quiet=True)
    table = panel.table()
    assert "nan" not in table, table
    row = next(line for line in table.splitlines() if line.startswith("s0 "))
    assert row.split()[-2] == "n/a"
    assert ("99% intervals, pooled over the panel's test points: model covered 0 of 0 (n/a); naive covered 0 of 0 (n/a): "
            "no test point had the 99 errors known before it that a 99% interval needs") in table
    assert "n/a: no test point had the errors known before it that the interval needs (99 for 99%)" in table
    result = panel.runs[0].result
    assert "nan" not in "\n".join(line for line in result.table().splitlines() if line.startswith("model "))
    figure = forecast_figure(result)
    labels = [text.get_text() for ax in figure.axes if ax.get_legend() for text in ax.get_legend().get_texts()]
    labels += [label for ax in figure.axes for label in ax.get_legend_handles_labels()[1]]
    assert any(label.startswith("50% prediction interval") for label in labels)
    assert not any(label.startswith("99%") for label in labels), labels


def test_a_folder_panels_model_records_its_series_and_predict_picks_it_from_a_long_file(tmp_path):
    """predict said 'the model does not say which series it was trained on' of a folder panel's model."""
    folder = tmp_path / "prices"
    folder.mkdir()
    series = {"AAA": ar_returns_series(1), "BBB": ar_returns_series(2)}
    for name, s in series.items():
        (folder / f"{name}.csv").write_text(dated_rows_of(s))
    paths = run_panel(load_panel(folder), replace(TINY, epochs=1), jobs=1, quiet=True).save(tmp_path / "out")
    long = tmp_path / "long.csv"
    write_long(long, series)
    prediction = predict_next(paths["models/BBB.npz"], long)
    assert prediction.source == "long.csv[BBB]"


def test_the_cli_says_what_a_folder_panel_did_not_read_and_how_many_global_models(tmp_path):
    folder = tmp_path / "prices"
    folder.mkdir()
    for k in range(2):
        (folder / f"s{k}.csv").write_text(dated_rows_of(ar_returns_series(k, 120)))
    (folder / "more.parquet").write_bytes(b"PAR1")
    out = tmp_path / "out"
    run = _cli("panel", str(folder), "--out", str(out), "--jobs", "1", "--epochs", "1", "--hidden", "4", "--window", "5",
               "--test-size", "10", "--quiet", "--global")
    assert run.returncode == 0, run.stderr
    first = run.stdout.splitlines()[0]
    assert "one global model" not in first and first.endswith("with a global model per window length shared by two or more series")
    said = [line for line in run.stdout.splitlines() if "not read: more.parquet" in line]
    assert len(said) == 1 and said[0].startswith("note: prices: not read: more.parquet")
    assert any("not read: more.parquet" in note for note in json.loads((out / "summary.json").read_text())["notes"])
