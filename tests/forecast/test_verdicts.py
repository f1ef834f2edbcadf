"""Verdicts you can trust: the statistics by hand and by simulation, the defaults on known series."""

import math

import numpy as np
import pytest

from scratchlstm.forecast import ForecastConfig, run_forecast
from scratchlstm.forecast.evaluate import block_bootstrap_ratio, diebold_mariano, signal_diagnostics, wilson_interval

from tests.helpers import patterned, random_walk, series_from


def test_diebold_mariano_on_squared_errors_by_hand():
    ea = np.array([0.5, -1.0, 2.0, 0.1])
    eb = np.array([1.0, 1.0, -1.0, 0.3])
    d = ea**2 - eb**2  # [-0.75, 0, 3, -0.08]
    dc = d - d.mean()
    dm = d.mean() / math.sqrt((dc @ dc / 4) / 4)
    res = diebold_mariano(ea, eb, horizon=1, power=2)
    assert res["dm"] == pytest.approx(dm) and res["mean_diff"] == pytest.approx(0.5425)
    assert res["p_value"] == pytest.approx(math.erfc(abs(dm) / math.sqrt(2)))


def test_wilson_interval_matches_the_textbook_value():
    lo, hi = wilson_interval(8, 10)  # Wilson (1927); e.g. Agresti & Coull's tables: 0.490, 0.943
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)


def test_block_bootstrap_interval_covers_the_true_ratio_about_95_percent():
    """Two forecasters share serially correlated error sizes (AR(1)) plus their own noise; by
    construction the population ratio of their mean absolute errors is exactly 0.9."""
    rng = np.random.default_rng(0)
    n, reps, true_ratio = 150, 150, 0.9
    covered = 0
    for r in range(reps):
        common = np.zeros(n)
        shocks = rng.standard_normal(n)
        for t in range(1, n):
            common[t] = 0.5 * common[t - 1] + shocks[t]
        size_a = np.abs(common) + np.abs(0.5 * rng.standard_normal(n))
        size_b = np.abs(common) + np.abs(0.5 * rng.standard_normal(n))  # same distribution, other draws
        ea = true_ratio * size_a * rng.choice([-1.0, 1.0], n)
        eb = size_b * rng.choice([-1.0, 1.0], n)
        lo, hi = block_bootstrap_ratio(ea, eb, n_boot=400, seed=r)
        covered += lo <= true_ratio <= hi
    coverage = covered / reps
    assert 0.88 <= coverage <= 0.99, coverage


def test_always_up_and_collapsed_models_are_called_out():
    rng = np.random.default_rng(1)
    last = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(300)))
    actual = last * np.exp(0.01 * rng.standard_normal(300))
    drift = last * 1.0005  # a constant "up" drift
    sig = signal_diagnostics(drift, actual, last, train_return_std=0.01)
    assert sig["up_prediction_share"] == 1.0
    assert any("'up' 100%" in w for w in sig["warnings"]) and any("collapsed" in w for w in sig["warnings"])
    lo, hi = sig["hit_rate_interval"]
    assert lo <= sig["hit_rate"] <= hi


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_config_on_a_random_walk_is_not_significantly_worse_than_naive(seed):
    result = run_forecast(series_from(random_walk(1000, seed)), ForecastConfig())
    assert result.verdict.startswith("does not beat naive"), result.table()
    assert "significantly worse" not in result.verdict
    assert abs(result.metrics["model"]["rel_mae"] - 1) < 0.03
    lo, hi = result.mae_ratio_interval
    assert lo <= 1.0 + 1e-9 or result.significance["p_value"] >= 0.05


def test_default_config_finds_a_learnable_pattern_with_a_small_p_value():
    result = run_forecast(series_from(patterned(1000)), ForecastConfig())
    assert result.verdict.startswith("beats naive"), result.table()
    assert result.significance["p_value"] < 1e-6 and result.mae_ratio_interval[1] < 1


def test_seeds_report_their_spread_and_average_their_forecasts(tmp_path):
    config = ForecastConfig(window=10, hidden_sizes=(8,), epochs=3, lr=1e-2, test_size=40, refit_every=None, seeds=3, season=1)
    result = run_forecast(series_from(patterned(300)), config)
    assert len(result.seed_forecasts) == 3 and len(result.seed_metrics) == 3
    assert np.allclose(result.forecasts["model"], np.mean(result.seed_forecasts, axis=0))
    assert not np.array_equal(result.seed_forecasts[0], result.seed_forecasts[1])
    spread = result.seed_spread()["rel_mae"]
    assert spread["min"] <= spread["mean"] <= spread["max"]
    assert "over the seeds" in result.verdict and "seeds: 3 models" in result.table()
    report = result.report()
    assert report["seeds"]["count"] == 3 and len(report["seeds"]["per_seed"]) == 3
    paths = result.save(tmp_path)
    assert "model_seed2" in paths["predictions.csv"].read_text().splitlines()[0]


def test_untrained_default_model_forecasts_exactly_naive():
    from scratchlstm.forecast.automatic import resolved
    from scratchlstm.forecast.protocol import forecast_prices
    from scratchlstm.forecast.windows import Scaler, walk_forward_origins
    from scratchlstm.nn.model import Model

    prices = random_walk(500)
    config = resolved(ForecastConfig(test_size=50), len(prices))  # the defaults, chosen for 500 rows
    model = Model.create(config.model_config(1), seed=0, dtype=config.dtype)
    origins = walk_forward_origins(len(prices), config)
    assert np.array_equal(forecast_prices(model, Scaler(0.0, 0.01), prices, origins, config), prices[origins])


def test_a_model_that_learned_nothing_is_reported_as_naive():
    config = ForecastConfig(window=10, hidden_sizes=(4,), epochs=2, test_size=50, refit_every=None)
    result = run_forecast(series_from(random_walk(400, seed=5)), config)
    if np.array_equal(result.forecasts["model"], result.forecasts["naive"]):
        assert result.significance["p_value"] == 1.0
        assert "forecasts the last price" in result.verdict
        assert all(f.kept_untrained and f.kept_epoch == 0 for f in result.fits)


def test_the_verdict_against_a_baseline_by_hand():
    from scratchlstm.forecast.evaluate import verdict_against

    metrics = {"model": {"mae": 9.0, "rel_mae": 0.3}, "AutoARIMA": {"mae": 10.0, "rel_mae": 0.333}}
    assert verdict_against("AutoARIMA", metrics, {"p_value": 0.01}) == (
        "beats AutoARIMA (MAE 0.333x naive): the model's MAE is 0.900x AutoARIMA's, Diebold-Mariano p = 0.01")
    assert verdict_against("AutoARIMA", metrics, {"p_value": 0.2}).startswith("no significant difference from AutoARIMA")
    worse = {"model": {"mae": 12.0, "rel_mae": 0.4}, "AutoARIMA": {"mae": 10.0, "rel_mae": 0.333}}
    assert verdict_against("AutoARIMA", worse, {"p_value": 0.001}).startswith("worse than AutoARIMA")


def test_a_p_value_past_the_normal_tails_reach_prints_as_below_1e_16_not_as_0():
    from scratchlstm.forecast.evaluate import p_text, verdict_against

    rng = np.random.default_rng(0)
    far_better = diebold_mariano(0.01 + 0.001 * rng.standard_normal(2000), 1 + 0.01 * rng.standard_normal(2000), horizon=1)
    assert far_better["dm"] < -100 and far_better["p_value"] == 0.0  # erfc underflows: the test is beyond doubt, not certain
    metrics = {"model": {"mae": 0.01, "rel_mae": 0.01}, "drift": {"mae": 1.0, "rel_mae": 1.0}}
    assert verdict_against("drift", metrics, far_better).endswith("Diebold-Mariano p = <1e-16")
    from scratchlstm.forecast.evaluate import verdict  # the main verdict too ("p = 0" in tutorial_pipelines' output)

    naive = {"model": {"mae": 0.01, "rel_mae": 0.01}, "naive": {"mae": 1.0, "rel_mae": 1.0}}
    assert "Diebold-Mariano p = <1e-16" in verdict(naive, far_better)
    assert [p_text(p) for p in (0.0, 9e-17, 1e-16, 0.0123456, 1.0, math.nan)] == ["<1e-16", "<1e-16", "1e-16", "0.0123", "1", "nan"]
