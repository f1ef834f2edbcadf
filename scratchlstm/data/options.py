"""How a price file is read where its content cannot tell: the loader's options, each also a command-line flag.

A module without pandas, so that the command line builds its flags before any data library loads (and a
``scratchlstm forecast`` starts its worker processes while this one imports them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..settings import check_fields, setting

MISSING_POLICIES = ("error", "drop", "ffill")
DECIMAL_MARKS = (".", ",")


@dataclass(frozen=True)
class LoadOptions:
    """How to read a price file where its content cannot tell; each field is also a command-line flag."""

    price_column: str | None = setting(None, "column to use as the price (default Adj Close when present, else Close)",
                                       group="data")
    missing: str = setting("error", "rows without a price, and days, weeks, months or quarters without a row: stop and "
                           "say how many (error), drop them, or carry the last price forward (ffill)", choices=MISSING_POLICIES, group="data")
    decimal: str | None = setting(None, "the decimal mark, for a file whose numbers cannot tell (every value like 1,234); "
                                  "detected by default", choices=DECIMAL_MARKS, group="data")
    date_format: str | None = setting(None, "a strftime pattern such as %d/%m/%Y, for dates whose order the data cannot "
                                      "tell; detected by default", group="data")

    def __post_init__(self):
        check_fields(self)

    def as_kwargs(self) -> dict:
        """The options as keyword arguments of ``load_prices`` and ``as_price_series``."""
        return asdict(self)
