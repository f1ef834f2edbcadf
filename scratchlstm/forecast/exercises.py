"""Checkers for the course's forecasting exercises: windows without leakage, the Diebold-Mariano statistic.

They work as those of ``scratchlstm.exercises``: your function against the forecaster's own code on
the same random inputs, several sizes, PASS in one line or FAIL with the output that differs and the
slip that explains it; a function that raises or returns the wrong shape gets one paragraph.

    check_make_windows(make_windows)          # inputs end at the origin, targets start after it
    check_diebold_mariano(diebold_mariano)    # mean loss difference over its long-run standard error
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..exercises import ExerciseReport, _array, _Refusal, _values
from ..exercises_math import _drive, _output_lines
from .evaluate import diebold_mariano as _diebold_mariano
from .windows import windows as _windows

WINDOWS = "X (M, window), the inputs, and Y (M, horizon), the targets, one row per origin"


def _reference_windows(series: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    origins = np.arange(window - 1, len(series) - horizon)  # every origin with a full window and a full target
    X, Y = _windows(series, origins, window, horizon)
    return X[:, :, 0], Y


def check_make_windows(fn: Callable, name: str = "make_windows") -> ExerciseReport:
    """Check ``fn(series, window, horizon) -> (X, Y)`` against ``forecast.windows.windows``.

    Parameters
    ----------
    fn : callable
        Your windowing of a 1-D ``series``: for every origin o from ``window - 1`` to
        ``len(series) - horizon - 1``, the row of ``X`` is the ``window`` values ending at o
        (``series[o - window + 1 : o + 1]``) and the row of ``Y`` the ``horizon`` values after it
        (``series[o + 1 : o + horizon + 1]``). No target value may appear in its own input row.
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL naming the slip: a target inside its own window (leakage), the window ending
        one step early, a row count that drops or adds an origin.
    """
    cases = []
    for seed, (n, window, horizon) in enumerate(((20, 5, 1), (12, 3, 2), (9, 1, 1), (10, 4, 3))):
        series = np.round(np.random.default_rng(200 + seed).standard_normal(n), 3)
        cases.append((f"len(series) = {n}, window = {window}, horizon = {horizon}",
                      {"series": series, "window": window, "horizon": horizon}))

    def run(out, a, case):
        s, w, h = a["series"], a["window"], a["horizon"]
        ref_X, ref_Y = _reference_windows(s, w, h)
        M = len(ref_X)
        X, Y = _values(out, name, 2, WINDOWS)
        for label, value, width in (("X", X, w), ("Y", Y, h)):
            if np.ndim(value) == 2 and np.shape(value)[1] == width and np.shape(value)[0] != M:
                raise _Refusal(f"FAIL: {name} returned {np.shape(value)[0]} rows of {label}, at {case}; there are {M} "
                               f"origins, o = {w - 1} (the first with a full window) to {len(s) - h - 1} (the last with "
                               f"{h} value(s) after it).")
        X = _array(X, "X", (M, w), name, case, "the input windows")
        Y = _array(Y, "Y", (M, h), name, case, "the targets")
        origins = np.arange(w - 1, len(s) - h)
        leak_Y = s[origins[:, None] + np.arange(0, h)[None, :]]  # the targets starting at the origin itself
        early_X = s[origins[:, None] + np.arange(-w, 0)[None, :]] if w <= origins[0] else None
        late_X = s[origins[:, None] + np.arange(-w + 2, 2)[None, :]] if origins[-1] + 1 < len(s) else None
        lines = _output_lines("X", X, ref_X, [(t, v) for t, v in (
            ("X ends one step before the origin: the row of origin o is series[o - window + 1 : o + 1]", early_X),
            ("leakage: X includes the value after the origin, its own target; it must end at the origin o", late_X))
            if v is not None])
        lines += _output_lines("Y", Y, ref_Y, [
            ("leakage: Y starts at the origin, the last value of X; the targets are series[o + 1 : o + horizon + 1]", leak_Y)])
        return lines

    return _drive(fn, name, cases, run, "X and Y")


def check_diebold_mariano(fn: Callable, name: str = "diebold_mariano") -> ExerciseReport:
    """Check ``fn(errors_a, errors_b, horizon) -> dm`` against ``forecast.evaluate.diebold_mariano``.

    Parameters
    ----------
    fn : callable
        The statistic on absolute errors: ``d = |e_a| - |e_b|``, ``DM = mean(d) / sqrt(S / n)`` with
        ``S = g_0 + 2 sum_{k=1}^{h-1} (1 - k/h) g_k`` and ``g_k = sum((d_t - mean d)(d_{t-k} - mean d)) / n``.
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL naming the slip: squared errors, the sign turned, the lag terms left out for
        h > 1 (or their weights missing), the variance divided by n - 1.
    """
    cases = []
    for seed, (n, h) in enumerate(((60, 1), (40, 3), (25, 2), (30, 4))):
        rng = np.random.default_rng(220 + seed)
        a = rng.standard_normal(n)
        b = a * 1.3 + 0.3 * rng.standard_normal(n)
        cases.append((f"n = {n}, horizon = {h}", {"errors_a": a, "errors_b": b, "horizon": h}))

    def run(out, args, case):
        ea, eb, h = args["errors_a"], args["errors_b"], args["horizon"]
        dm = _array(out, "dm", (), name, case, "one number, the statistic")
        ref = _diebold_mariano(ea, eb, h)["dm"]
        d = np.abs(ea) - np.abs(eb)
        n, dc = len(d), d - d.mean()
        g = [float(dc[k:] @ dc[:n - k]) / n for k in range(h)]

        def stat(s):
            return d.mean() / math.sqrt(s / n) if s > 0 else math.nan  # a slip's variance can come out negative

        slips = [("squared errors: this test's loss is the absolute error, d = |e_a| - |e_b|",
                  _diebold_mariano(ea, eb, h, power=2)["dm"]),
                 ("the sign is turned: d = |e_a| - |e_b|, so a negative DM says a is more accurate", -ref),
                 ("the lag terms are missing: for h-step forecasts S = g_0 + 2 sum_{k=1}^{h-1} (1 - k/h) g_k", stat(g[0])),
                 ("the lag weights (1 - k/h) are missing", stat(g[0] + 2 * sum(g[1:]))),
                 ("the autocovariances divide by n, not n - 1",
                  stat(sum(w * x for w, x in zip([1] + [2 * (1 - k / h) for k in range(1, h)], g)) * n / (n - 1)))]
        return _output_lines("dm", dm, ref, slips)

    return _drive(fn, name, cases, run, "the statistic")
