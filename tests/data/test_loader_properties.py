"""Property-based tests of the loaders: whatever the bytes, they raise nothing but DataError."""

import tempfile
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scratchlstm.data import DataWarning, load_prices
from scratchlstm.errors import DataError

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
