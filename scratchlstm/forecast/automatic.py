"""Settings chosen for the series at hand, each reported: the test span, the window, the validation
block, the number of epochs and the season.

A ``ForecastConfig`` field left at None (``auto`` on the command line) is chosen here from the
series' length and season, so that a 144-row monthly series runs with no flags and its validation
block is large enough for the keep-or-revert test to mean something.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .baselines import CONFIRM_Z, detect_season, seasonal_autocorrelation
from .config import ForecastConfig
from .windows import training_origins, walk_forward_origins

TEST_SHARE = 4  # automatic test span: a quarter of the rows ...
MAX_TEST = 250  # ... and at most this many points
STEP_BUDGET = 1500  # automatic epochs: about this many optimizer steps per fit
MIN_EPOCHS = 30
MAX_EPOCHS = 400
MIN_VAL_WINDOWS = 40  # automatic validation block: 10% of the windows, but at least this many ...
MAX_VAL_SHARE = 3  # ... and at most a third of them


def automatic_window(season: int) -> int:
    """30 steps without a season; two seasons, between 8 and 60 steps, with one."""
    return 30 if season < 2 else min(max(2 * season, 8), 60)


def adapt_to_series(config: ForecastConfig, rows: int, season: int) -> tuple[ForecastConfig, list[str]]:
    """``config`` with every automatic (None) setting chosen for a series of ``rows`` values and
    season length ``season``, and one note per choice saying what was chosen and why.

    - test span: a quarter of the rows, at most 250 points;
    - window: 30 steps without a season, two seasons (8 to 60 steps) with one;
    - validation block: 10% of the training windows, at least 40 (at most a third of them);
    - epochs: about 1,500 optimizer steps per fit (30 to 400 epochs), early-stopping patience
      scaled by the same factor as the epochs.
    """
    notes = []
    changes: dict = {"season": season}
    if config.test_size is None:
        changes["test_size"] = max(1, min(MAX_TEST, rows // TEST_SHARE))
        notes.append(f"test span {changes['test_size']} points: a quarter of the {rows} rows, at most {MAX_TEST} (--test-size to change)")
    if config.window is None:
        changes["window"] = automatic_window(season)
        why = ("no season" if season < 2 else f"two seasons of {season}" if changes["window"] == 2 * season
               else f"two seasons of {season}, kept between 8 and 60")
        notes.append(f"window {changes['window']} steps: {why} (--window to change)")
    adapted = replace(config, **changes)
    if config.val_fraction is None or config.epochs is None:
        cutoff = int(walk_forward_origins(rows, adapted)[0])
        windows_known = len(training_origins(cutoff, adapted))
        if config.val_fraction is None:
            tenth = int(0.1 * windows_known)
            n_val = max(tenth, min(MIN_VAL_WINDOWS, windows_known // MAX_VAL_SHARE))
            adapted = replace(adapted, val_fraction=min(n_val / max(windows_known, 1), 0.49))
            rule = ("10%" if n_val == tenth else f"10% would be {tenth}, raised to the least of {MIN_VAL_WINDOWS}" if n_val == MIN_VAL_WINDOWS
                    else f"10% would be {tenth}, raised towards {MIN_VAL_WINDOWS} but to a third only, to leave windows to train on")
            notes.append(f"validation block {n_val} of the {windows_known} windows of the first fit: {rule} (the trained model is kept "
                         "only if it beats its untrained version on them, one-sided p < 0.05)")
        if config.epochs is None:
            n_train = windows_known - int(windows_known * adapted.val_fraction + 1e-9)
            steps_per_epoch = max(1, math.ceil(n_train / config.batch_size))
            epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(STEP_BUDGET / steps_per_epoch)))
            patience = None if config.patience is None else max(config.patience, round(config.patience * epochs / MIN_EPOCHS))
            adapted = replace(adapted, epochs=epochs, patience=patience)
            each = "1 step" if steps_per_epoch == 1 else f"{steps_per_epoch} steps"
            scaled = "" if patience == config.patience else f" (--patience {config.patience} is per {MIN_EPOCHS} epochs: scaled with them)"
            notes.append(f"{epochs} epochs at most ({each} each, about {STEP_BUDGET} optimizer steps), patience {patience}{scaled}")
    return adapted, notes


def resolved(config: ForecastConfig, rows: int) -> ForecastConfig:
    """``config`` with its automatic settings chosen for ``rows`` values (no dates: no season unless
    given); ``run_forecast`` does this itself, with the dates, and reports the choices."""
    if None in (config.season, config.window, config.test_size, config.val_fraction, config.epochs):
        config, _ = adapt_to_series(config, rows, config.season or 1)
    return config


def most_fits(config: ForecastConfig) -> int | None:
    """The most fits per seed a walk-forward with ``config`` makes, whatever the series: one without refits, else
    the test span (given, or the automatic one's largest) over the refit interval, rounded up; None when the span
    is a fraction of the series, which its length decides."""
    if config.refit_every is None:
        return 1
    test = MAX_TEST if config.test_size is None else config.test_size
    if test < 1:
        return None
    return math.ceil(int(test) / config.refit_every)


def choose_season(config: ForecastConfig, dates, prices: np.ndarray) -> tuple[int, str]:
    """The season length: ``config.season`` when given, else the calendar's when the values up to
    the first test origin confirm it (``baselines.detect_season``); and why, in words."""
    n = len(prices)
    test = config.test_size if config.test_size is not None else min(MAX_TEST, n // TEST_SHARE)
    test = int(round(test * n)) if test < 1 else int(test)
    seen = max(n - config.horizon - test + 1, 2)  # values up to the first test origin
    if config.season is not None:
        return config.season, f"season {config.season} (given)" + _unconfirmed(prices[:seen], config.season)
    if dates is None:
        return 1, "no dates to tell the season: none used"
    return detect_season(dates[:seen], prices[:seen])


def _unconfirmed(prices: np.ndarray, season: int) -> str:
    """For a season given by hand, what the values before the test span say of it, when they do not confirm it
    (a season of 12 on business-day random walks was used without a word)."""
    if season < 2:
        return ""
    r, z = seasonal_autocorrelation(prices, season)
    if math.isnan(z):
        return f"; too few values before the test span to check a cycle at lag {season}"
    if z > CONFIRM_Z:
        return ""
    return (f"; the changes before the test span show no cycle at lag {season} (autocorrelation {r:.2f}, z = {z:.1f}), "
            "so the seasonal adjustment may only add noise")
