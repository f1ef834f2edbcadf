"""Price data in: loaders for real file formats, the embedded default series, windows and scaling."""

from pathlib import Path

from .loaders import DataWarning, PriceSeries, load_prices

EMBEDDED_CSV = Path(__file__).parent / "embedded" / "msft-daily-2000-2013.csv"


def load_embedded() -> PriceSeries:
    """The embedded MSFT daily series, 2000-2013 (public domain; see ``embedded/README.md``)."""
    return load_prices(EMBEDDED_CSV)


__all__ = ["EMBEDDED_CSV", "DataWarning", "PriceSeries", "load_embedded", "load_prices"]
