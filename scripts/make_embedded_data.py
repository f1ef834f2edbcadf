"""Regenerate scratchlstm/data/embedded/msft-daily-2000-2013.csv from the bokeh-sampledata package.

    pip download --no-deps -d /tmp/bsd bokeh_sampledata==2026.1
    python scripts/make_embedded_data.py /tmp/bsd/bokeh_sampledata-2026.1-py3-none-any.whl

The source is the Quandl WIKI Prices database, which Quandl declared public domain; bokeh-sampledata
redistributes an archived copy in ``bokeh_sampledata/_data/stocks.csv.gz``. This script keeps the
MSFT rows and writes them in the Yahoo Finance layout ``Date,Open,High,Low,Close,Adj Close,Volume``
(Open..Close unadjusted, as supplied; Adj Close split- and dividend-adjusted by the source).
"""

import csv
import gzip
import io
import sys
import zipfile
from pathlib import Path

TICKER = "MSFT"
OUT = Path(__file__).resolve().parents[1] / "scratchlstm" / "data" / "embedded" / "msft-daily-2000-2013.csv"


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as z:
        raw = gzip.decompress(z.read("bokeh_sampledata/_data/stocks.csv.gz")).decode("utf-8")
    rows = [r for r in csv.DictReader(io.StringIO(raw)) if r["Ticker"] == TICKER]
    rows.sort(key=lambda r: r["Date"])
    with open(OUT, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"])
        for r in rows:
            adj = f"{float(r['Adj Close']):.6f}"
            w.writerow([r["Date"], r["Open"], r["High"], r["Low"], r["Close"], adj, r["Volume"]])
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
