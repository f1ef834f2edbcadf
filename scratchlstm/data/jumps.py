"""Steps that move the price more than tenfold: a bad tick, or a split the prices were not adjusted for.

No market price moves tenfold in one step and back, and such a step dominates every metric of a
forecast (a 1e-6 among prices near 20,000 makes the MAPE about 1e12 %). The loader keeps the rows,
since a redenomination can be real, and says where they are, in a note: the ratio of a step is

    r_t = p_t / p_{t-1},  a jump where max(r_t, 1 / r_t) > JUMP_FACTOR
"""

from __future__ import annotations

import numpy as np
import pandas as pd

JUMP_FACTOR = 10.0  # a step that multiplies or divides the price by more than this is named


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
