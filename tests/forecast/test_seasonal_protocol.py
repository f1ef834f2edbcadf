"""Seasonal series: settings chosen from the series (and said), the seasonal adjustment without
leakage, errors that name what would fit, and reports that agree with their verdicts."""

import numpy as np
import pandas as pd
import pytest

from scratchlstm.data import PriceSeries
from scratchlstm.errors import DataError
from scratchlstm.forecast import ForecastConfig, run_forecast
from scratchlstm.forecast.evaluate import persistence_diagnostic
from scratchlstm.forecast.automatic import adapt_to_series
from scratchlstm.forecast.protocol import forecast_prices
from scratchlstm.forecast.seasonal import SeasonalIndex
from scratchlstm.forecast.windows import Scaler
from scratchlstm.nn.model import Model
from tests.helpers import random_walk, series_from


def monthly(values, name="monthly"):
    frame = pd.DataFrame({"close": values}, index=pd.date_range("1990-01-01", periods=len(values), freq="MS", name="date"))
    return PriceSeries(frame=frame, price_column="close", source=name, format="synthetic")


def airline_like(n=144, seed=0):
    """A trend, a yearly multiplicative season and noise, like the airline passengers."""
    s = np.arange(n)
    return 100 * np.exp(0.01 * s + 0.2 * np.sin(2 * np.pi * s / 12) + 0.03 * np.random.default_rng(seed).standard_normal(n))


def test_a_144_row_monthly_series_runs_with_no_flags_and_says_what_it_chose():
    result = run_forecast(monthly(airline_like()), ForecastConfig())
    used = result.config
    assert result.season == 12 and used.test_size == 36 and used.window == 24
    windows = 107 - 24  # the first fit's cutoff is the first origin, 144 - 1 - 36 = 107: windows end at 24 .. 106
    assert int(used.val_fraction * windows + 1e-9) == min(40, windows // 3) == 27
    text = result.table()
    assert "season 12" in text and "test span 36 points" in text and "validation block" in text
    assert "seasonal_naive" in text and "not run: pass --classical" in text
    assert result.metrics["model"]["rel_mae"] < result.metrics["seasonal_naive"]["rel_mae"]


@pytest.mark.parametrize("smooth_level", [False, True])
def test_untrained_seasonal_model_is_naive_on_the_adjusted_series(smooth_level):
    """log p = 0.01 s + S[s mod 4]: the untrained model forecasts p[t] exp(S[t+1] - S[t]), which is
    exp(0.01 t + S[t+1]), i.e. the next value without its trend step. The smoothed level gives the same:
    on a straight line the last value is the best level (alpha 1), any smoothing lags it."""
    S = np.array([0.1, -0.2, 0.3, -0.2])
    s = np.arange(80)
    prices = np.exp(0.01 * s + S[s % 4])
    config = ForecastConfig(window=8, test_size=10, season=4, epochs=1, smooth_level=smooth_level)
    model = Model.create(config.model_config(1), seed=0)
    origins = np.arange(60, 70)
    out = forecast_prices(model, Scaler(0.0, 0.01), prices, origins, config, season=4)
    np.testing.assert_allclose(out, prices[origins + 1] * np.exp(-0.01), rtol=1e-9)


def test_seasonal_forecast_at_an_origin_ignores_everything_after_it():
    prices = airline_like(120)
    config = ForecastConfig(window=24, test_size=10, season=12, epochs=1)
    model = Model.create(config.model_config(1), seed=1, dtype="float64")
    origins = np.arange(100, 110)
    before = forecast_prices(model, Scaler(0.0, 0.03), prices, origins, config, season=12)
    for t in origins:
        changed = prices.copy()
        changed[t + 1 :] *= 5.0
        assert forecast_prices(model, Scaler(0.0, 0.03), changed, np.array([t]), config, season=12)[0] == before[t - 100]


def test_seasonal_index_is_refitted_at_each_origin_from_the_values_so_far():
    prices = airline_like(120)
    t = 100
    expected = SeasonalIndex.fit(prices[: t + 1], t, 12)
    np.testing.assert_array_equal(SeasonalIndex.fit(prices, t, 12).index, expected.index)


def test_a_series_too_short_for_the_settings_names_the_largest_that_fit():
    with pytest.raises(DataError, match=r"the series has 144; use --test-size 96 or less with window 30"):
        run_forecast(monthly(airline_like()), ForecastConfig(window=30, test_size=250, season=1))
    with pytest.raises(DataError, match=r"use --window 5 or less with 7 test points"):
        run_forecast(series_from(random_walk(30)), ForecastConfig())
    with pytest.raises(DataError, match="no window and test span fit: use a longer history"):
        run_forecast(series_from(random_walk(10)), ForecastConfig())


def test_automatic_settings_are_given_ones_left_alone():
    config, notes = adapt_to_series(ForecastConfig(window=10, test_size=20, val_fraction=0.2, epochs=5), 300, 1)
    assert (config.window, config.test_size, config.val_fraction, config.epochs) == (10, 20, 0.2, 5) and notes == []
    config, notes = adapt_to_series(ForecastConfig(), 3000, 1)
    assert (config.window, config.test_size) == (30, 250) and len(notes) == 4


@pytest.mark.parametrize("rows", [120, 400, 3000])
def test_the_validation_note_names_the_rule_that_set_the_block(rows):
    """It read "validation block 19 of the 59 windows: 10%, at least 40, at most a third" for a block of 19."""
    import re

    config, notes = adapt_to_series(ForecastConfig(window=30, test_size=30), rows, 1)
    note = next(n for n in notes if n.startswith("validation block"))
    n_val, windows = map(int, re.match(r"validation block (\d+) of the (\d+) windows", note).groups())
    tenth, third = windows // 10, windows // 3  # the rule: 10% of the windows, raised to 40 but never past a third
    expected = max(tenth, min(40, third))
    assert n_val == expected and round(config.val_fraction * windows) == expected, note
    if expected == tenth:
        assert ": 10% (" in note, note
    elif expected == 40:
        assert f"10% would be {tenth}, raised to the least of 40 (" in note, note
    else:
        assert expected == third and f"10% would be {tenth}, raised towards 40 but to a third only" in note, note


def test_seeds_that_all_kept_the_untrained_weights_are_exactly_naive():
    config = ForecastConfig(window=10, hidden_sizes=(4,), epochs=1, lr=1e-9, test_size=60, refit_every=None, seeds=3, season=1)
    result = run_forecast(series_from(random_walk(400, seed=5)), config)
    assert all(np.array_equal(f, result.forecasts["naive"]) for f in result.seed_forecasts)
    assert np.array_equal(result.forecasts["model"], result.forecasts["naive"])  # no rounding from averaging
    assert result.verdict.startswith("does not beat naive: no seed's trained model beat")
    assert "n/a" in result.table() and not result.diagnostic["warnings"] and not result.signal["warnings"]


def test_no_copying_warning_next_to_a_significant_win():
    """On a smooth series a forecast close to the last value is warned about as a lagged copy,
    unless the caller found it significantly more accurate than the last value itself."""
    s = np.arange(200)
    actual = 100 + 10 * np.sin(s / 10)
    last = 100 + 10 * np.sin((s - 1) / 10)
    lagged = last + 0.001 * np.sin(s)
    assert any("copying" in w for w in persistence_diagnostic(lagged, actual, last)["warnings"])
    assert persistence_diagnostic(lagged, actual, last, beats_naive=True)["warnings"] == []


def test_cli_season_flag_and_the_chosen_settings_are_printed(tmp_path, capsys):
    from scratchlstm.cli import main

    csv = tmp_path / "monthly.csv"
    dates = pd.date_range("1990-01-01", periods=144, freq="MS").strftime("%Y-%m-%d")
    csv.write_text("Date,Close\n" + "".join(f"{d},{p!r}\n" for d, p in zip(dates, airline_like().tolist())))
    assert main(["forecast", "--csv", str(csv), "--season", "1", "--epochs", "2", "--quiet", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "date-price CSV" in out and "season 1 (given)" in out and "test span 36 points" in out
    assert "protocol: window 30, horizon 1, target returns, season 1, test 36 points" in out
    assert main(["forecast", "--csv", str(csv), "--season", "0", "--quiet"]) == 2
    assert "season must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("smooth_level, row, label", [
    (True, "smoothed_level", "untrained LSTM = smoothed level x seasonal index"),
    (False, "adjusted_naive", "untrained LSTM = adjusted naive: last price x seasonal index")])
def test_a_seasonal_run_that_kept_the_untrained_lstm_says_its_forecast_is_the_seasonal_index(smooth_level, row, label):
    """lr 1e-9 cannot beat the untrained weights: the forecast is the smoothed level (or with
    --no-smooth-level the last price) moved by the seasonal index, which beats naive here; the
    verdict must not credit the LSTM with it."""
    config = ForecastConfig(window=24, test_size=36, season=12, epochs=1, lr=1e-9, smooth_level=smooth_level)
    result = run_forecast(monthly(airline_like()), config, quiet=True)
    assert all(f.kept_epoch == 0 for f in result.fits) and result.untrained_everywhere
    assert result.verdict.startswith("beats naive") and "not anything the LSTM learned" in result.verdict
    from scratchlstm.forecast.report import forecast_figure

    fig = forecast_figure(result)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert label in labels and "LSTM forecast" not in labels
    assert result.untrained_name == row
    assert np.array_equal(result.forecasts["model"], result.forecasts[row])  # the same forecast to the last bit
    assert result.verdict_vs_untrained.startswith(f"is the {row.replace('_', ' ')} itself")
    words = row.replace("_", " ")
    assert f"against the {words} (the untrained LSTM's forecast): {result.verdict_vs_untrained}" in result.table()
    report = result.report()
    assert report["significance_vs_untrained"]["baseline"] == row
    assert report["significance_vs_untrained"]["abs_errors"]["p_value"] == 1.0
    assert row in result.predictions_frame().columns and row in result._repr_html_()


def test_the_verdict_against_the_best_other_baseline_names_it_and_tests_it():
    result = run_forecast(monthly(airline_like()), ForecastConfig(window=24, test_size=36, season=12, epochs=3), quiet=True)
    others = {name: result.metrics[name]["mae"] for name in result.forecasts if name not in ("model", "naive")
              and not np.array_equal(result.forecasts[name], result.forecasts["model"])}  # the adjusted naive, when it is the model
    best = min(others, key=others.get)
    assert result.best_other_baseline == best
    ratio = result.metrics["model"]["mae"] / others[best]
    p = result.significance_vs_best["p_value"]
    expected = "beats" if ratio < 1 and p < 0.05 else "worse than" if ratio > 1 and p < 0.05 else "no significant difference from"
    assert result.verdict_vs_best.startswith(f"{expected} {best} ") and f"{ratio:.3f}x {best}'s" in result.verdict_vs_best
    assert f"against the best other baseline: {result.verdict_vs_best}" in result.table()
    report = result.report()
    assert report["significance_vs_best_baseline"]["baseline"] == best and report["verdict_vs_best_baseline"] == result.verdict_vs_best


@pytest.mark.parametrize("smooth_level, row", [(True, "smoothed_level"), (False, "adjusted_naive")])
def test_the_verdict_against_the_untrained_lstm_is_a_diebold_mariano_test_on_its_errors(smooth_level, row):
    from scratchlstm.forecast.evaluate import diebold_mariano

    config = ForecastConfig(window=24, test_size=36, season=12, epochs=3, smooth_level=smooth_level)
    result = run_forecast(monthly(airline_like(seed=2)), config, quiet=True)
    model, untrained = result.forecasts["model"], result.forecasts[row]
    words = row.replace("_", " ")
    report = result.report()
    assert report["verdict_vs_untrained"] == result.verdict_vs_untrained
    assert f"against the {words} (the untrained LSTM's forecast): {result.verdict_vs_untrained}" in result.table()
    if np.array_equal(model, untrained):
        assert all(f.kept_epoch == 0 for f in result.fits) and "itself" in result.verdict_vs_untrained
    else:
        ratio = np.mean(np.abs(model - result.actual)) / np.mean(np.abs(untrained - result.actual))
        p = diebold_mariano(model - result.actual, untrained - result.actual, 1)["p_value"]
        assert f"{ratio:.3f}x {row}'s, Diebold-Mariano p = {p:.3g}" in result.verdict_vs_untrained
        assert report["significance_vs_untrained"]["mae_ratio"] == pytest.approx(ratio)
        from scratchlstm.forecast.report import forecast_figure

        subtitle = forecast_figure(result).axes[0].get_title(loc="left").replace("\n", " ")
        assert f"Against the {words} (the untrained LSTM): " in subtitle and f"p = {p:.3g}" in subtitle


def test_without_a_season_the_untrained_lstm_is_naive_and_no_second_naive_row_is_shown():
    config = ForecastConfig(window=10, hidden_sizes=(2,), epochs=1, test_size=30, refit_every=None, season=1)
    result = run_forecast(series_from(random_walk(300)), config, quiet=True)
    assert "adjusted_naive" not in result.forecasts and "smoothed_level" not in result.forecasts
    assert result.untrained_name == "naive" and all(f.level.alpha == 1.0 for f in result.fits)
    assert "against the adjusted naive" not in result.table() and "against the smoothed level" not in result.table()
    assert result.report()["significance_vs_untrained"]["baseline"] == "naive"
    assert "forecasts the last price" in result.verdict_vs_untrained
