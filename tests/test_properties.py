"""Property-based tests: loaders raise nothing but DataError; windows never cross the cutoff."""

import tempfile
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scratchlstm.data import DataWarning, load_prices
from scratchlstm.errors import DataError
from scratchlstm.forecast.config import ForecastConfig
from scratchlstm.forecast.protocol import first_origin, training_origins, walk_forward_origins, windows

HEADERS = ["Date,Close", "Date,Open,High,Low,Close,Adj Close,Volume", "timestamp,price", "unix,close", "Date,Volume",
           "when,what", "Price,Close,High\nTicker,X,X\nDate,,", "https://www.CryptoDataDownload.com\nunix,date,close", ""]
DATES = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
    st.integers(-10**13, 10**13).map(str),
    st.text(alphabet="0123456789-/:T ", max_size=12),
    st.text(max_size=8),
    st.just(""),
)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**6, 10**15).map(str),
    st.sampled_from(["", "nan", "NaN", "null", "1,234.5", "-0", "0", "1e-300", "1e308", "abc", '"7"']),
)
ROW = st.lists(st.one_of(DATES, NUMBERS), min_size=0, max_size=8).map(",".join)


def _load(text_or_bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "prices.csv"
        if isinstance(text_or_bytes, bytes):
            path.write_bytes(text_or_bytes)
        else:
            path.write_text(text_or_bytes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            try:
                series = load_prices(path)
            except DataError:
                return
    prices = series.prices.to_numpy(dtype=float)
    assert series.frame.index.is_monotonic_increasing and series.frame.index.is_unique
    assert np.all(np.isfinite(prices)) and np.all(prices > 0) and len(prices) >= 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=st.sampled_from(HEADERS), rows=st.lists(ROW, max_size=25))
def test_malformed_csv_raises_only_data_error(header, rows):
    _load(header + "\n" + "\n".join(rows) + "\n")


@settings(max_examples=150, deadline=None)
@given(blob=st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_data_error(blob):
    _load(blob)


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(20, 400),
    window=st.integers(1, 40),
    horizon=st.integers(1, 7),
    target=st.sampled_from(["returns", "price"]),
    cutoff_frac=st.floats(0.0, 1.0),
)
def test_training_windows_never_cross_the_cutoff(n, window, horizon, target, cutoff_frac):
    config = ForecastConfig(window=window, horizon=horizon, target=target, test_size=1, batch_size=8)
    cutoff = int(cutoff_frac * (n - 1))
    origins = training_origins(cutoff, config)
    if len(origins) == 0:
        return
    series = np.arange(n, dtype=float)  # the value is its own index: windows show which steps they read
    X, Y = windows(series, origins, window, horizon)
    assert Y.max() <= cutoff  # every target step is known at the cutoff
    assert X.max() <= cutoff - horizon  # and every input precedes its target
    assert X.min() >= (1 if target == "returns" else 0)  # r[0] does not exist
    assert origins.min() == first_origin(config)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(60, 500), window=st.integers(1, 20), horizon=st.integers(1, 5), test=st.integers(1, 30))
def test_test_points_come_after_every_training_target(n, window, horizon, test):
    config = ForecastConfig(window=window, horizon=horizon, test_size=test, batch_size=8)
    try:
        origins = walk_forward_origins(n, config)
    except DataError:
        return
    assert origins[-1] + horizon == n - 1 and len(origins) == test
    train = training_origins(int(origins[0]), config)  # the first fit's windows
    assert train.max() + horizon <= origins[0] < origins[0] + horizon
