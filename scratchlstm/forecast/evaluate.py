"""Metrics, tests and diagnostics, all on prices at the same test points (the baselines that
produce forecasts to compare live in ``baselines.py``).

Metrics: MAE, RMSE, MAPE (%), MASE (MAE over the in-sample naive MAE), MAE relative to naive
(below 1 means skill), and the directional hit rate: the share of points where the forecast change
``f - last`` has the sign of the actual change ``a - last``, shown next to 50% and to the share of
the majority direction (a model that always says "up" scores exactly that).
"""

from __future__ import annotations

import math

import numpy as np


def direction_hits(forecast: np.ndarray, actual: np.ndarray, last: np.ndarray) -> tuple[int, int]:
    """``(hits, moves)``: among the points where the forecast moved from the last price, how many
    moved the same way as the price did."""
    moved = np.sign(forecast - last)
    m = moved != 0
    return int(np.sum(moved[m] == np.sign(actual - last)[m])), int(np.sum(m))


def point_metrics(forecast: np.ndarray, actual: np.ndarray, last: np.ndarray, mase_scale: float) -> dict[str, float]:
    """MAE, RMSE, MAPE, MASE and hit rate of one forecaster (relative MAE is added by the caller)."""
    err = forecast - actual
    mae = float(np.mean(np.abs(err)))
    hits, moves = direction_hits(forecast, actual, last)
    return {
        "mae": mae,
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mape": float(100.0 * np.mean(np.abs(err) / np.abs(actual))),
        "mase": mae / mase_scale if mase_scale > 0 else math.nan,
        "hit_rate": hits / moves if moves else math.nan,
    }


def evaluate_forecasts(forecasts: dict[str, np.ndarray], actual: np.ndarray, last: np.ndarray, mase_scale: float) -> dict[str, dict[str, float]]:
    """Metrics for every forecaster, with ``rel_mae`` = MAE / naive MAE."""
    metrics = {name: point_metrics(f, actual, last, mase_scale) for name, f in forecasts.items()}
    naive_mae = metrics["naive"]["mae"]
    for m in metrics.values():
        m["rel_mae"] = m["mae"] / naive_mae if naive_mae > 0 else math.nan
    return metrics


def direction_base_rates(actual: np.ndarray, last: np.ndarray) -> dict[str, float]:
    """Share of up moves and the majority share among the actual moves."""
    change = np.sign(actual - last)
    up = float(np.mean(change[change != 0] > 0)) if np.any(change != 0) else math.nan
    return {"up_share": up, "majority_share": max(up, 1 - up) if not math.isnan(up) else math.nan}


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def persistence_diagnostic(forecast: np.ndarray, actual: np.ndarray, last: np.ndarray, beats_naive: bool = False) -> dict:
    """Does the forecast track the last input rather than the target?

    Compares the correlation of the forecast with the last input (``p[t]``) and with the target
    (``p[t+h]``), and measures how far the forecasts move relative to how far prices move. A
    forecast closer to yesterday than to tomorrow is a lagged copy, however good its chart looks,
    unless it is significantly more accurate than the copy itself (``beats_naive``): on a smooth
    series every good forecast is close to the last value, and the warning would contradict the
    verdict.
    """
    corr_last = _corr(forecast, last)
    corr_target = _corr(forecast, actual)
    moves = float(np.mean(np.abs(forecast - last)) / max(np.mean(np.abs(actual - last)), 1e-300))
    change_corr = _corr(forecast - last, actual - last)
    warnings = []
    if np.array_equal(forecast, last):
        pass  # the naive forecast itself: "copying the last price" is what it is by definition
    elif not math.isnan(corr_last) and corr_last >= corr_target and not beats_naive:
        warnings.append(
            f"the forecasts follow the last input (correlation {corr_last:.4f}) at least as closely as the target "
            f"({corr_target:.4f}): the model is mostly copying the last price"
        )
    if 0 < moves < 0.25 and not beats_naive:
        warnings.append(f"the forecasts move only {moves:.0%} as much as prices do: little more than the naive forecast")
    return {
        "corr_with_last_input": corr_last,
        "corr_with_target": corr_target,
        "forecast_move_ratio": moves,
        "change_correlation": change_corr,
        "warnings": warnings,
    }


def diebold_mariano(errors_a: np.ndarray, errors_b: np.ndarray, horizon: int = 1, power: int = 1) -> dict[str, float]:
    """Diebold-Mariano test of equal accuracy of forecasters a and b.

    Loss differential ``d_t = |e_a,t|^power - |e_b,t|^power``; statistic

        DM = mean(d) / sqrt(S / n),   S = g_0 + 2 sum_{k=1}^{L} (1 - k/(L+1)) g_k

    with ``g_k`` the lag-k autocovariance of d and the Newey-West (Bartlett) lag ``L = h - 1``
    (h-step forecasts overlap by h - 1 steps). Two-sided p-value from the standard normal.
    Negative DM means a is more accurate.
    """
    d = np.abs(errors_a) ** power - np.abs(errors_b) ** power
    n = len(d)
    if n and not np.any(d):  # identical accuracy at every point: no difference at all
        return {"dm": 0.0, "p_value": 1.0, "mean_diff": 0.0}
    dc = d - d.mean()
    lags = max(horizon - 1, 0)
    s = float(dc @ dc) / n
    for k in range(1, lags + 1):
        s += 2 * (1 - k / (lags + 1)) * float(dc[k:] @ dc[:-k]) / n
    if s <= 0 or n < 2:
        return {"dm": math.nan, "p_value": math.nan, "mean_diff": float(d.mean())}
    dm = float(d.mean()) / math.sqrt(s / n)
    return {"dm": dm, "p_value": math.erfc(abs(dm) / math.sqrt(2)), "mean_diff": float(d.mean())}


SMALLEST_P = 1e-16  # below it a normal tail says nothing more (erfc gives 0.0 past |DM| of about 38.5)


def p_text(p: float) -> str:
    """A p-value for a person: three significant digits, and ``<1e-16`` rather than a 0 that a
    p-value never is (a difference this sure prints the same whether it is 1e-17 or 1e-300)."""
    return f"<{SMALLEST_P:.0e}" if p < SMALLEST_P else f"{p:.3g}"


def block_bootstrap_ratio(errors_a: np.ndarray, errors_b: np.ndarray, *, block: int | None = None, n_boot: int = 2000,
                          level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Moving-block bootstrap interval for ``MAE_a / MAE_b`` on paired errors.

    Blocks of ``block`` consecutive test points (default about n^(1/3), at least the horizon's
    overlap) are drawn with replacement, keeping each point's two errors together, so serial
    correlation and the pairing both survive resampling. Returns the percentile interval.
    """
    a, b = np.abs(np.asarray(errors_a, float)), np.abs(np.asarray(errors_b, float))
    n = len(a)
    block = block or max(1, int(round(n ** (1 / 3))))
    starts_max = n - block + 1
    rng = np.random.default_rng(seed)
    k = -(-n // block)  # blocks per resample
    starts = rng.integers(0, starts_max, size=(n_boot, k))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(n_boot, -1)[:, :n]  # (n_boot, n)
    num, den = a[idx].mean(axis=1), b[idx].mean(axis=1)  # (n_boot,)
    # a resample of points where both forecasters were exact (a price flat but for a step) has the ratio 0/0:
    # the two erred alike, a ratio of 1; one where only the second was exact has an infinite ratio
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where((num == 0) & (den == 0), 1.0, num / den)
    tail = 100 * (1 - level) / 2
    return float(np.percentile(ratios, tail)), float(np.percentile(ratios, 100 - tail))


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def signal_diagnostics(forecast: np.ndarray, actual: np.ndarray, last: np.ndarray, train_return_std: float) -> dict:
    """Is there any signal in the forecast, or is it a constant, a drift, or always "up"?

    - hit rate of the predicted direction with its Wilson 95% interval, beside the share of up
      moves and the share of "up" predictions (a model that always says up scores the up share);
    - mean signed error (a bias or a drift shows here);
    - spread of the predicted log-returns over the spread of the training returns (near 0: the
      model collapsed to a constant).
    """
    predicted = np.log(forecast / last)
    hits, n = direction_hits(forecast, actual, last)
    lo, hi = wilson_interval(hits, n)
    up_share = int(np.sum(forecast > last)) / n if n else math.nan
    spread = float(np.std(predicted) / train_return_std) if train_return_std > 0 else math.nan
    warnings = []
    if n == 0:  # exactly the naive forecast: the verdict says so, nothing more to diagnose
        pass
    elif up_share >= 0.8 or up_share <= 0.2:
        side = "up" if up_share >= 0.8 else "down"
        warnings.append(f"the model predicts '{side}' {max(up_share, 1 - up_share):.0%} of the time: its hit rate mostly measures how often prices went {side}")
    if n and spread < 0.1:
        warnings.append(f"the predicted returns vary only {spread:.2f}x as much as real returns: the model has collapsed to a near-constant change (a drift)")
    return {
        "hit_rate": hits / n if n else math.nan,
        "hit_rate_interval": [lo, hi],
        "up_prediction_share": up_share,
        "mean_signed_error": float(np.mean(forecast - actual)),
        "predicted_return_spread_ratio": spread,
        "warnings": warnings,
    }


# what the untrained LSTM forecasts on a seasonal series, by the baseline row that equals it
UNTRAINED_FORECASTS = {"adjusted_naive": "the last price moved by the seasonal index",
                       "smoothed_level": "the adjusted series' smoothed level moved by the seasonal index"}


def untrained_seasonal_words(row: str) -> str:
    """The verdict's remark when every fit kept the untrained LSTM on a seasonal series whose untrained forecast is ``row``."""
    return (f"every fit kept the untrained LSTM, so the forecast is {UNTRAINED_FORECASTS[row]} (the seasonal adjustment "
            "alone, not anything the LSTM learned)")


def verdict(metrics: dict[str, dict[str, float]], test: dict[str, float], alpha: float = 0.05,
            seed_range: tuple[float, float] | None = None, untrained_seasonal: str | None = None) -> str:
    """One line: does the model beat the naive forecast, and is the difference significant?

    ``untrained_seasonal``: every fit kept its untrained weights on a seasonally adjusted series, so
    the "model" is this baseline row (``UNTRAINED_FORECASTS``), and the line says so.
    """
    rel, p = metrics["model"]["rel_mae"], test["p_value"]
    if test["mean_diff"] == 0.0 and test["dm"] == 0.0:  # the same error at every point: the naive forecast itself
        never = "no seed's trained model beat" if seed_range else "the trained model never beat"
        return (f"does not beat naive: {never} its untrained 'no change' version on validation, "
                "so it forecasts the last price (MAE 1.000x naive)")
    spread = f" ({seed_range[0]:.3f}-{seed_range[1]:.3f} over the seeds)" if seed_range else ""
    detail = f"MAE {rel:.3f}x naive{spread}, Diebold-Mariano p = {p_text(p)}"
    if untrained_seasonal:
        detail += f"; {untrained_seasonal_words(untrained_seasonal)}"
    if rel < 1 and p < alpha:
        return f"beats naive: {detail}"
    if rel > 1 and p < alpha:
        return f"does not beat naive (significantly worse): {detail}"
    return f"does not beat naive (no significant difference): {detail}"


def mae_ratio(metrics: dict[str, dict[str, float]], name: str) -> float:
    """The model's MAE over the MAE of forecaster ``name``."""
    return metrics["model"]["mae"] / metrics[name]["mae"]


def verdict_against(name: str, metrics: dict[str, dict[str, float]], test: dict[str, float], alpha: float = 0.05) -> str:
    """One line: does the model beat the baseline ``name`` (the best one after naive), significantly?"""
    ratio = mae_ratio(metrics, name)
    detail = (f"{name} (MAE {metrics[name]['rel_mae']:.3f}x naive): the model's MAE is {ratio:.3f}x {name}'s, "
              f"Diebold-Mariano p = {p_text(test['p_value'])}")
    if ratio < 1 and test["p_value"] < alpha:
        return f"beats {detail}"
    if ratio > 1 and test["p_value"] < alpha:
        return f"worse than {detail}"
    return f"no significant difference from {detail}"
