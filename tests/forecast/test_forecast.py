"""The forecasting protocol: no leakage, baselines and metrics by hand, skill where there is some."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from scratchlstm.forecast import ForecastConfig, preset, run_forecast
from scratchlstm.forecast.evaluate import diebold_mariano, evaluate_forecasts
from scratchlstm.forecast.protocol import fit_at_cutoff
from scratchlstm.forecast.windows import walk_forward_origins
from scratchlstm.errors import ConfigError, DataError
from tests.helpers import patterned, random_walk, series_from

import pandas as pd


SMALL = ForecastConfig(window=14, hidden_sizes=(16,), epochs=25, lr=5e-3, test_size=100, refit_every=None, patience=8)


@pytest.mark.parametrize("target", ["returns", "price"])
def test_changing_values_after_cutoff_changes_nothing(target):
    prices = random_walk(400)
    config = SMALL.updated(target=target, epochs=3)
    cutoff = 300
    a = fit_at_cutoff(prices, cutoff, config)
    changed = prices.copy()
    changed[cutoff + 1 :] *= np.linspace(0.1, 50, len(changed) - cutoff - 1)
    b = fit_at_cutoff(changed, cutoff, config)
    assert a.scaler == b.scaler
    pa, pb = a.model.named_params(), b.model.named_params()
    assert all(np.array_equal(pa[k], pb[k]) for k in pa)
    changed[cutoff] *= 1.5  # the cutoff value itself is known at fit time: it must matter
    c = fit_at_cutoff(changed, cutoff, config)
    assert a.scaler != c.scaler


def test_metrics_by_hand():
    prices = np.array([10.0, 11.0, 13.0, 12.0, 15.0, 14.0])
    origins = np.array([3, 4])
    actual, last = prices[origins + 1], prices[origins]
    m = evaluate_forecasts({"naive": last, "model": np.array([14.0, 14.0])}, actual, last, mase_scale=2.0)
    assert m["model"]["mae"] == pytest.approx(0.5) and m["naive"]["mae"] == pytest.approx(2.0)
    assert m["model"]["rel_mae"] == pytest.approx(0.25) and m["model"]["mase"] == pytest.approx(0.25)
    assert m["model"]["rmse"] == pytest.approx(math.sqrt(0.5))
    assert m["model"]["mape"] == pytest.approx(100 * (1 / 15 + 0) / 2)
    assert m["model"]["hit_rate"] == 1.0 and math.isnan(m["naive"]["hit_rate"])


def test_diebold_mariano_by_hand():
    ea = np.array([1.0, -2.0, 0.5, 1.5, -1.0, 2.0])
    eb = np.array([1.5, 1.0, -1.0, 2.0, 1.5, 1.0])
    d = np.abs(ea) - np.abs(eb)  # [-0.5, 1, -0.5, -0.5, -0.5, 1]
    mean = d.mean()  # 0
    assert mean == pytest.approx(0.0)
    res = diebold_mariano(ea, eb, horizon=1)
    assert res["dm"] == pytest.approx(0.0) and res["p_value"] == pytest.approx(1.0)
    eb2 = eb + 1.0 * np.sign(eb)  # b worse everywhere by 1 -> d = previous d - 1
    res2 = diebold_mariano(ea, eb2, horizon=2)
    d2 = d - 1.0
    dc = d2 - d2.mean()
    s = dc @ dc / 6 + 2 * 0.5 * (dc[1:] @ dc[:-1]) / 6
    dm = d2.mean() / math.sqrt(s / 6)
    assert res2["dm"] == pytest.approx(dm) and res2["p_value"] == pytest.approx(math.erfc(abs(dm) / math.sqrt(2)))


def test_learnable_pattern_beats_naive():
    result = run_forecast(series_from(patterned()), SMALL)
    assert result.metrics["model"]["rel_mae"] < 0.6, result.table()
    assert result.verdict.startswith("beats naive")


def test_random_walk_is_not_claimed_to_beat_naive():
    result = run_forecast(series_from(random_walk(seed=3)), SMALL)
    assert not result.verdict.startswith("beats naive"), result.table()
    assert 0.9 < result.metrics["model"]["rel_mae"] < 1.2


def test_too_short_series_says_how_many_rows(tmp_path):
    with pytest.raises(DataError, match=r"needs at least \d+ rows, the series has 60"):
        run_forecast(series_from(random_walk(60)), SMALL)


def test_result_files_and_report(tmp_path):
    result = run_forecast(series_from(patterned(400)), SMALL.updated(epochs=2, test_size=50, refit_every=25))
    paths = result.save(tmp_path)
    report = json.loads(paths["report.json"].read_text())
    assert report["data"]["rows"] == 400 and report["data"]["first_date"] == "2010-01-01"
    # with a season: the last value, and the smoothed level, moved by the seasonal index
    adjusted = ["adjusted_naive", "smoothed_level"] if result.season > 1 else []
    forecasters = ["model", "naive", *adjusted, "seasonal_naive", "drift", "window_mean"]
    assert list(report["metrics"]) == forecasters
    assert len(report["test"]["fits"]) == 2 and "persistence" in report and report["verdict"] == result.verdict
    table = pd.read_csv(paths["predictions.csv"])
    bounds = [f"{name}_{side}_{level}" for name in forecasters for level in (80, 95) for side in ("lower", "upper")]
    assert list(table.columns) == ["date", "actual", "last_input", *forecasters, *bounds]
    assert len(table) == 50
    for name in ("forecast.png", "loss.png"):
        assert paths[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*tmp"))


def test_presets_are_the_tutorial_pipelines():
    p = preset("btc-60")
    assert (p.window, p.hidden_sizes, p.dropout, p.optimizer, p.epochs, p.batch_size) == (60, (50, 100), 0.2, "rmsprop", 50, 64)
    assert preset("yahoo-240").window == 240 and preset("yahoo-240").test_size == 0.5
    assert preset("cdd-7day").epochs == 200 and preset("coingecko-2x32").hidden_sizes == (32, 32)
    with pytest.raises(ConfigError, match="choose one of"):
        preset("keras-default")


def test_test_origins_leave_the_horizon_inside_the_series():
    config = SMALL.updated(horizon=3, test_size=10)
    origins = walk_forward_origins(300, config)
    assert len(origins) == 10 and origins[-1] + 3 == 299


def test_cli_forecast_with_no_arguments_runs_on_embedded_data(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "scratchlstm", "forecast", "--quiet", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "verdict:" in proc.stdout and "naive" in proc.stdout and "msft-daily" in proc.stdout
    for name in ("report.json", "predictions.csv", "forecast.png", "loss.png", "model.npz"):
        assert (out / name).exists(), name
    pred = subprocess.run([sys.executable, "-m", "scratchlstm", "predict", "--checkpoint", str(out / "model.npz")],
                          capture_output=True, text=True, timeout=120)
    assert pred.returncode == 0 and "forecast 1 step(s) ahead" in pred.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["forecast", "--window", "0"], "window must be at least 1"),
        (["forecast", "--optimizer", "adagrad"], "choose one of sgd, rmsprop, adam, adamw"),
        (["forecast", "--backend", "cupy"], "cupy"),
        (["forecast", "--csv", "/nonexistent/prices.csv"], "no such file"),
        (["predict", "--checkpoint", "/nonexistent/model.npz"], "does not exist"),
    ],
)
def test_cli_errors_are_one_line_with_exit_code_2(args, message, capsys):
    from scratchlstm.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["coingecko-2x32", "btc-60", "cdd-7day", "yahoo-240"])
def test_every_preset_runs_and_reports_against_naive(name):
    config = preset(name).updated(epochs=1, log_every=0)
    result = run_forecast(series_from(random_walk(700)), config)
    assert "naive" in result.table() and result.verdict
    assert len(result.actual) == len(result.forecasts["naive"]) == len(result.forecasts["model"])


# ----------------------------------------------------------------------------------------------
# the keep-or-revert decision (the protocol's, next to the other statistics)


def _noise_fit(tmp_path=None, **kwargs):
    from scratchlstm.forecast.protocol import fit_at_cutoff

    config = ForecastConfig(window=8, hidden_sizes=(4,), epochs=4, lr=1e-2, patience=None, test_size=50, refit_every=None)
    return fit_at_cutoff(random_walk(400, seed=2), 300, config, **kwargs), config


def test_an_untrained_model_is_kept_unless_training_is_significantly_better():
    from scratchlstm.nn.model import Model

    fit, config = _noise_fit()
    assert fit.kept_untrained and fit.kept_epoch == 0 and fit.p_value >= 0.05
    untrained = Model.create(config.model_config(1), seed=config.seed)
    assert all(np.array_equal(v, untrained.named_params()[k]) for k, v in fit.model.named_params().items())
    assert "kept the untrained weights" in fit.outcome and f"p = {fit.p_value:.3g}" in fit.outcome
    learner = fit_at_cutoff(patterned(400), 300, config.updated(epochs=10))
    assert not learner.kept_untrained and learner.p_value < 0.05 and learner.kept_epoch >= 1
    assert f"kept epoch {learner.kept_epoch}" in learner.outcome


def test_a_resumed_fit_judges_against_the_same_untrained_weights(tmp_path):
    """The untrained weights are the seed's draw, so a fit interrupted and resumed decides exactly as an uninterrupted one."""
    full, _ = _noise_fit()
    path = tmp_path / "fit.npz"
    import scratchlstm.train as train_module

    calls = {"n": 0}
    original = train_module._train_epoch

    def interrupt_in_third_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    train_module._train_epoch = interrupt_in_third_epoch
    try:
        with pytest.raises(KeyboardInterrupt):
            _noise_fit(checkpoint=path)
    finally:
        train_module._train_epoch = original
    resumed, _ = _noise_fit(checkpoint=path, resume=True)
    assert resumed.p_value == full.p_value and resumed.kept_untrained == full.kept_untrained
    pa, pb = full.model.named_params(), resumed.model.named_params()
    assert all(np.array_equal(pa[k], pb[k]) for k in pa)
