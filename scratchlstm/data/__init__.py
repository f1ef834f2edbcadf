"""Price data in: loaders for real file formats and conventions, in-memory data, the embedded default series."""

from pathlib import Path

from .frequency import Frequency
from .loaders import as_price_series, load_prices
from .series import DataWarning, Detected, PriceSeries

EMBEDDED_CSV = Path(__file__).parent / "embedded" / "msft-daily-2000-2013.csv"


def load_embedded() -> PriceSeries:
    """The embedded MSFT daily series, 2000-2013 (public domain; see ``embedded/README.md``)."""
    return load_prices(EMBEDDED_CSV)


__all__ = ["EMBEDDED_CSV", "DataWarning", "Detected", "Frequency", "PriceSeries", "as_price_series", "load_embedded", "load_prices"]
