"""Price data in: loaders for real file formats and conventions, in-memory data, the embedded default series."""

from pathlib import Path
from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

EMBEDDED_CSV = Path(__file__).parent / "embedded" / "msft-daily-2000-2013.csv"

# Each public name and its module, imported when first used (PEP 562): the command line reads the loader's options
# (``data.options``) to build its flags without importing pandas, which the other modules need.
_WHERE = {
    "Frequency": "frequency",
    "as_price_series": "loaders", "load_prices": "loaders",
    "DataWarning": "series", "Detected": "series", "PriceSeries": "series",
}

if TYPE_CHECKING:  # what readers and documentation tools see
    from .frequency import Frequency
    from .loaders import as_price_series, load_prices
    from .series import DataWarning, Detected, PriceSeries

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)


def load_embedded() -> "PriceSeries":
    """The embedded MSFT daily series, 2000-2013 (public domain; see ``embedded/README.md``)."""
    from .loaders import load_prices

    return load_prices(EMBEDDED_CSV)


__all__ = sorted([*_WHERE, "EMBEDDED_CSV", "load_embedded"])  # (tests/core/test_lazy_exports.py checks the TYPE_CHECKING imports)
