"""Prediction intervals: the conformal quantile by hand, coverage where the error distribution is
known (the expected widths come from the normal distribution, not from the code), no look at later
errors, and predict's interval equal to the report's."""

import json
import math
from statistics import NormalDist

import numpy as np
import pytest

from scratchlstm.forecast import ForecastConfig, run_forecast
from scratchlstm.forecast.intervals import Intervals, conformal_half_width, sequential_half_widths
from tests.helpers import series_from

Z = NormalDist().inv_cdf


def test_conformal_half_width_is_the_textbook_order_statistic():
    scores = np.array([0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6])  # n = 9
    assert conformal_half_width(scores, 80) == 0.8  # ceil(10 x 0.8) = 8th smallest
    assert conformal_half_width(scores, 50) == 0.5  # ceil(10 x 0.5) = 5th
    assert conformal_half_width(scores, 95) == math.inf  # ceil(10 x 0.95) = 10 > 9: no finite interval
    assert conformal_half_width(np.arange(1.0, 20.0), 95) == 19.0  # n = 19 is the fewest a 95% interval needs


def test_each_point_is_calibrated_on_the_errors_known_at_its_origin():
    cal = np.array([0.3, 0.1, 0.2, 0.4])
    test = np.array([0.01, 0.02, 0.03, 0.9, 0.8])
    # level 50, horizon 2: point k sees cal and test[: k - 1]: the ceil((n + 1) / 2)-th smallest of
    # [.1 .2 .3 .4] (3rd), the same, [.01 .1 .2 .3 .4] (3rd), [.01 .02 .1 .2 .3 .4] (4th), [.01 .02 .03 .1 ...] (4th)
    assert list(sequential_half_widths(test, cal, 2, 50)) == [0.3, 0.3, 0.2, 0.2, 0.1]
    assert list(sequential_half_widths(test, cal, 1, 50)) == [0.3, 0.2, 0.2, 0.1, 0.2]  # one step sooner; the last sees .9 too: 5th of 8


@pytest.mark.parametrize("horizon", [1, 3])
def test_a_random_walk_gets_the_width_and_the_coverage_its_innovations_imply(horizon):
    """log p is a Gaussian random walk with step sd s: naive's h-step log error is N(0, h s^2), so its
    level-L interval must be p[t] exp(+-z_(1/2 + L/200) s sqrt(h)) and cover L% of 4000 test points
    within sampling error."""
    rng = np.random.default_rng(horizon)
    s, n_cal, n = 0.01, 40, 4000
    log_p = np.cumsum(s * rng.standard_normal(n_cal + n + 2 * horizon))
    prices = 100 * np.exp(log_p)
    cal_origins = np.arange(n_cal)
    origins = np.arange(n_cal + horizon, n_cal + horizon + n)  # the calibration targets are all before the first origin
    actual = prices[origins + horizon]
    iv = Intervals.build({"naive": prices[origins]}, actual, {"naive": (prices[cal_origins], prices[cal_origins + horizon])},
                         (80, 95), horizon)
    summary = iv.summary(actual)["naive"]
    for level in (80, 95):
        expected = Z(0.5 + level / 200) * s * math.sqrt(horizon)
        assert iv.forecasters["naive"].next_half_width[level] == pytest.approx(expected, rel=0.05)
        assert summary[str(level)]["mean_width_pct"] == pytest.approx(100 * 2 * math.sinh(expected), rel=0.06)
        sd = math.sqrt(level / 100 * (1 - level / 100) / n) * math.sqrt(2 * horizon - 1)  # overlapping errors: fewer independent ones
        assert abs(summary[str(level)]["coverage"] - level / 100) < 4 * sd, summary
        assert summary[str(level)]["points"] == n


def iid_around_a_level(n, s=0.02, seed=0):
    return 100 * np.exp(s * np.random.default_rng(seed).standard_normal(n))


def test_a_full_run_on_iid_noise_covers_as_the_normal_distribution_says():
    """Prices 100 exp(s z), z iid N(0, 1): naive's log error is s (z' - z), N(0, 2 s^2); the window
    mean's is about s z' (its own noise shrinks as 1/W). Both cover their level over 600 test
    points, and the model, whatever it learned, within a looser margin."""
    s, n = 0.02, 600
    config = ForecastConfig(window=10, hidden_sizes=(2,), epochs=1, test_size=n, refit_every=None, season=1)
    result = run_forecast(series_from(iid_around_a_level(900, s)), config, quiet=True)
    summary = result.report()["intervals"]["forecasters"]
    for level in (80, 95):
        z = Z(0.5 + level / 200)
        naive = summary["naive"][str(level)]
        assert naive["points"] == n
        assert naive["mean_width_pct"] == pytest.approx(100 * 2 * math.sinh(z * s * math.sqrt(2)), rel=0.1)
        sd = math.sqrt(level / 100 * (1 - level / 100) / n)
        for name, margin in (("naive", 4 * sd), ("window_mean", 4 * sd), ("model", 0.06)):
            assert abs(summary[name][str(level)]["coverage"] - level / 100) < margin, (name, level, summary[name])


def test_intervals_never_use_errors_whose_target_comes_later():
    """Two series equal up to step c and different after it: every interval whose origin is at or
    before c is the same in both runs (the forecasts, the errors known by then, the bounds)."""
    prices = iid_around_a_level(400, seed=3)
    changed = prices.copy()
    c = 330
    changed[c + 1 :] *= np.exp(0.3 * np.random.default_rng(9).standard_normal(len(prices) - c - 1))
    config = ForecastConfig(window=10, hidden_sizes=(3,), epochs=2, test_size=100, refit_every=None, season=1, horizon=2)
    a = run_forecast(series_from(prices), config, quiet=True).predictions_frame()
    b = run_forecast(series_from(changed), config, quiet=True).predictions_frame()
    origins = np.arange(400 - 1 - 2 - 100 + 1, 400 - 2)  # the last 100 origins whose target (t + 2) exists
    before = origins <= c
    bounds = [col for col in a.columns if "_lower_" in col or "_upper_" in col]
    assert len(bounds) == 5 * 2 * 2 and before.sum() == 33
    pd_equal = a.loc[before, bounds].to_numpy() == b.loc[before, bounds].to_numpy()
    assert pd_equal.all()
    assert not np.array_equal(a.loc[~before, "naive_upper_80"].to_numpy(), b.loc[~before, "naive_upper_80"].to_numpy())


def test_predict_gives_the_interval_the_report_gives_for_the_next_forecast(tmp_path):
    from scratchlstm.forecast.predict import predict_next

    series = series_from(iid_around_a_level(300, seed=4))
    config = ForecastConfig(window=10, hidden_sizes=(3,), epochs=2, test_size=60, refit_every=None, season=1)
    paths = run_forecast(series, config, quiet=True).save(tmp_path)
    report = json.loads(paths["report.json"].read_text())["intervals"]["forecasters"]
    prediction = predict_next(paths["model.npz"], series)
    assert set(prediction.intervals) == {80, 95}
    for level in (80, 95):
        q = report["model"][str(level)]["next_log_half_width"]
        lo, hi = prediction.intervals[level]
        assert lo == pytest.approx(prediction.forecast * math.exp(-q), rel=1e-12)
        assert hi == pytest.approx(prediction.forecast * math.exp(q), rel=1e-12)
        q_naive = report["naive"][str(level)]["next_log_half_width"]
        assert prediction.naive_intervals[level][1] == pytest.approx(prediction.last_price * math.exp(q_naive), rel=1e-12)
    # naive's next half-width by hand: every error the run saw, its validation block's and its test span's
    used = json.loads(paths["report.json"].read_text())["config"]
    prices = series.prices.to_numpy()
    first_test_origin = len(prices) - 1 - 1 - 60 + 1
    training = np.arange(used["window"], first_test_origin - 1 + 1)  # returns windows: origins window .. cutoff - h
    validation = training[len(training) - int(len(training) * used["val_fraction"] + 1e-9):]
    assert len(validation) == json.loads(paths["report.json"].read_text())["intervals"]["calibration_points"] > 0
    origins = np.r_[validation, first_test_origin : len(prices) - 1]  # h = 1: every target up to the last row
    errors = np.abs(np.log(prices[origins + 1] / prices[origins]))
    k = math.ceil((len(errors) + 1) * 0.8)
    assert report["naive"]["80"]["next_log_half_width"] == np.sort(errors)[k - 1]
    text = prediction.describe()
    assert f"80% interval {prediction.intervals[80][0]:.8g} to {prediction.intervals[80][1]:.8g}" in text
    assert "calibrated on the run's" in text


def test_a_forecast_that_is_not_a_positive_price_counts_as_an_uncovered_error():
    """A drift or price-level forecast can go to zero or below: its score is inf (a large error, not
    a missing one, which would make the later bands too narrow) and it gets no band itself."""
    actual = np.full(6, 10.0)
    forecast = np.array([10.0, -1.0, 10.5, 9.5, 10.2, 9.9])
    iv = Intervals.build({"drift": forecast}, actual, {"drift": (np.full(4, 10.0) * [1.01, 0.99, 1.02, 0.98], np.full(4, 10.0))},
                         (50,), 1)
    from scratchlstm.forecast.intervals import log_scores

    assert list(log_scores(np.array([-1.0, 0.0]), np.array([10.0, 10.0]))) == [math.inf, math.inf]  # not NaN
    lo = iv.forecasters["drift"].lower[50]
    assert np.isnan(lo[1]) and np.all(np.isfinite(np.delete(lo, 1)))
    scores = np.abs(np.log(10.0 / (np.full(4, 10.0) * [1.01, 0.99, 1.02, 0.98])))
    # point 2 sees the four calibration scores and inf: the 3rd smallest of five
    assert iv.forecasters["drift"].upper[50][2] == pytest.approx(10.5 * math.exp(np.sort([*scores, np.inf])[2]))


def test_the_calibration_block_is_the_first_fits_validation_origins_less_those_seasonal_naive_cannot_forecast():
    from scratchlstm.forecast.intervals import calibration_origins

    # returns windows of 10, h = 3, first test origin 60: training origins 10 .. 57 (t + 3 <= 60), 48 of them;
    # val_fraction 0.25 keeps the last 12 (46 .. 57)
    config = ForecastConfig(window=10, horizon=3, val_fraction=0.25, season=1, hidden_sizes=(3,), epochs=1, test_size=20,
                            refit_every=None)
    assert list(calibration_origins(60, config, 1)) == list(range(46, 58))
    # season 52: seasonal naive at origin t forecasts p[t + 3 - 52], so t must be at least 49
    assert list(calibration_origins(60, config, 52)) == list(range(49, 58))


def test_calibration_forecasts_are_the_fit_s_forecasts_made_by_hand():
    from scratchlstm.forecast.intervals import calibration_forecasts
    from scratchlstm.forecast.protocol import fit_at_cutoff

    prices = iid_around_a_level(200, seed=5)
    config = ForecastConfig(window=8, horizon=2, hidden_sizes=(3,), epochs=3, test_size=40, refit_every=None, season=1,
                            val_fraction=0.25)
    fit = fit_at_cutoff(prices, 150, config)
    origins = np.arange(120, 149)
    r = np.diff(np.log(prices))  # r[s - 1] = log p[s] - log p[s - 1]
    X = np.stack([r[t - 8 : t] / fit.scaler.scale for t in origins])[:, :, None].astype(fit.model.dtype)  # r[t-7 .. t]
    by_hand = prices[origins] * np.exp(fit.scaler.scale * np.asarray(fit.model.predict(X)).sum(axis=1))
    assert calibration_forecasts(fit, prices, origins, config) == pytest.approx(by_hand, rel=1e-6)
    assert calibration_forecasts(fit, prices, origins[:0], config).shape == (0,)


def test_intervals_without_calibration_errors_say_why_beside_the_validation_block_that_exists():
    """With a season of 525 in 700 rows the validation block (46 windows, in the notes) has no origin with a season
    before it: the interval line said "(no validation block)", against the note that had just chosen one."""
    from scratchlstm.forecast.report import interval_lines
    from tests.helpers import random_walk

    config = ForecastConfig(window=5, hidden_sizes=(3,), epochs=1, test_size=175, season=525, refit_every=None,
                            val_fraction=0.2)
    result = run_forecast(series_from(random_walk(700, seed=1)), config)
    assert result.intervals.calibration_points == 0
    line = interval_lines(result)[0]
    assert "none of its origins has the season of prices before it that seasonal naive needs" in line
    assert "(no validation block)" not in line
