"""Steps that move the price more than tenfold: a bad tick, or a split the prices were not adjusted for.

No market price moves tenfold in one step and back, and such a step dominates every metric of a
forecast (a 1e-6 among prices near 20,000 makes the MAPE about 1e12 %). The loader keeps the rows,
since a redenomination can be real, and says where they are, in a note: the ratio of a step is

    r_t = p_t / p_{t-1},  a jump where max(r_t, 1 / r_t) > JUMP_FACTOR

Smaller splits (2:1, 3:1, 4:1, ...) are steps a market can take, so they are only noted
(``split_note``) when a step's ratio is near a split's (``SPLIT_TOLERANCE`` and a few of the
series' median steps), at least ``SPLIT_SIZE`` times that median step, its new level holds over
the next steps and the steps around it are ordinary, and when such steps are few (interest
rates, a savings rate and a ridership count had them, in turbulent spells): an unadjusted 4:1 split in a broker's export
tripled the RMSE of a forecast without a word.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

JUMP_FACTOR = 10.0  # a step that multiplies or divides the price by more than this is named
SPLIT_RATIOS = (2, 3, 4, 5, 8, 10)  # splits (and reverse splits) below the jump factor
SPLIT_TOLERANCE = 0.03  # a step within 3% of a split's ratio ...
SPLIT_OWN_MOVES = 3.0  # ... widened by this many median steps (the day's own move: MSFT's 2:1 of 2003 was 1.935)
SPLIT_SIZE = 8.0  # ... at least this many times the median |log r_t|
SPLIT_HOLD = 5  # ... whose new level holds over the next steps (a split does not revert; a rate's or a season's swing does),
SPLIT_CALM = 4.0  # ... among steps around it of at most this many median steps (a split is one step in ordinary trading)
SPLIT_MOST = (3, 0.005)  # more such steps than max(3, 0.5% of the steps): a series that swings so, not splits


def jump_note(prices: np.ndarray, index: pd.DatetimeIndex, stamp) -> str:
    """One line on the steps that move the price more than ``JUMP_FACTOR``-fold, or "" when none do.

    Parameters
    ----------
    prices : ndarray
        The prices, oldest first, (N,); steps touching a price that is not positive are skipped
        (those prices are refused elsewhere).
    index : DatetimeIndex
        Their time stamps, (N,).
    stamp : callable
        Writes a time stamp in the data's own resolution (``Frequency.stamp``).
    """
    prices = np.asarray(prices, dtype=float)
    if len(prices) < 2:
        return ""
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.abs(np.log(prices[1:] / prices[:-1]))  # (N-1,) |log r_t|
    size[~np.isfinite(size)] = 0.0
    jumps = np.flatnonzero(size > np.log(JUMP_FACTOR))
    if not len(jumps):
        return ""
    worst = jumps[np.argmax(size[jumps])]
    before, after = prices[worst], prices[worst + 1]
    return (f"{len(jumps)} step(s) move the price more than {JUMP_FACTOR:g}-fold (the largest: {before:.6g} on "
            f"{stamp(index[worst])} to {after:.6g} on {stamp(index[worst + 1])}); a bad price or a split the prices are not "
            "adjusted for: check those rows, since they dominate every error measure")


def split_note(prices: np.ndarray, index: pd.DatetimeIndex, stamp) -> str:
    """One line on the steps (of at most ``JUMP_FACTOR``-fold, which ``jump_note`` names) whose ratio is a split's,
    far beyond the series' usual step, or "" when none is. Arguments as ``jump_note``."""
    prices = np.asarray(prices, dtype=float)
    if len(prices) < 3:
        return ""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(prices[1:] / prices[:-1])  # (N-1,)
    log_ratio[~np.isfinite(log_ratio)] = 0.0
    size = np.abs(log_ratio)
    typical = float(np.median(size))
    tolerance = np.log(1 + SPLIT_TOLERANCE) + SPLIT_OWN_MOVES * typical
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.log(prices)  # (N,)
    found = []
    for t in np.flatnonzero((size <= np.log(JUMP_FACTOR)) & (size >= SPLIT_SIZE * typical)):
        k = min(SPLIT_RATIOS, key=lambda r: abs(size[t] - np.log(r)))
        after = level[t + 2 : t + 2 + SPLIT_HOLD] - level[t + 1]  # the next steps, from the new level
        holds = bool(np.all(np.abs(after[np.isfinite(after)]) < size[t] / 2))
        around = np.concatenate([size[max(t - SPLIT_HOLD, 0) : t], size[t + 1 : t + 1 + SPLIT_HOLD]])
        calm = bool(np.all(around <= SPLIT_CALM * typical))
        if abs(size[t] - np.log(k)) < tolerance and holds and calm:
            found.append((t, f"{k}:1" if log_ratio[t] < 0 else f"1:{k}"))
    if not found or len(found) > max(SPLIT_MOST[0], SPLIT_MOST[1] * len(size)):
        return ""
    t, kind = found[0]
    return (f"{len(found)} step(s) move the price by a split's ratio to a level that holds, far beyond its usual steps (the "
            f"first: {prices[t]:.6g} on {stamp(index[t])} to {prices[t + 1]:.6g} on {stamp(index[t + 1])}, {kind}); if these "
            "are a stock's prices not adjusted for splits, use adjusted ones (Adj Close): such a step dominates every error "
            "measure")
