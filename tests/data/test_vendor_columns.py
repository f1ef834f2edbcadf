"""Price files as other vendors write them: their names for the adjusted close are taken before the unadjusted one."""

import numpy as np
import pandas as pd
import pytest

from scratchlstm.data import load_prices


@pytest.mark.parametrize("adjusted", ["Adj Close", "adj_close", "Adj. Close", "adjusted_close", "adjClose", "Adjusted Close"])
def test_the_adjusted_close_is_taken_under_each_vendors_name(tmp_path, adjusted):
    """Nasdaq Data Link (``Adj. Close``), Alpha Vantage (``adjusted_close``) and Tiingo (``adjClose``) files had their
    unadjusted Close taken, across a 4:1 split, with only a note about the split."""
    dates = pd.bdate_range("2022-01-03", periods=120)
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 120)))
    close[60:] /= 4  # a 4:1 split in the unadjusted close
    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": close, adjusted: close * np.r_[np.full(60, 0.25), np.ones(60)]})
    path = tmp_path / "prices.csv"
    frame.to_csv(path, index=False)
    series = load_prices(path)
    assert series.price_column == adjusted.lower()
    assert np.allclose(series.prices.to_numpy(), frame[adjusted].to_numpy(), rtol=1e-12)
