"""The four tutorial pipelines, each reported against the naive forecast.

    python examples/tutorial_pipelines.py            # quick: 3 epochs each, to see them run
    python examples/tutorial_pipelines.py --full     # the tutorials' own epochs
    python examples/tutorial_pipelines.py --csv BTC-USD.csv --full

Each preset rebuilds a popular tutorial (see ``scratchlstm.forecast.config.PRESETS``) on the
embedded MSFT prices, or on your file; the same runs are one command each:
``scratchlstm forecast --preset btc-60 --csv BTC-USD.csv``.
"""

import argparse

from scratchlstm.data import load_embedded, load_prices
from scratchlstm.forecast import PRESETS, preset, run_forecast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", help="price file (default: the embedded MSFT series)")
    parser.add_argument("--full", action="store_true", help="train for the tutorials' full epochs")
    args = parser.parse_args()
    series = load_prices(args.csv) if args.csv else load_embedded()
    for name in PRESETS:
        config = preset(name)
        if not args.full:
            config = config.updated(epochs=3, log_every=0)
        result = run_forecast(series, config)
        m = result.metrics
        print(f"{name:<15} MAE {m['model']['mae']:.4f} (naive {m['naive']['mae']:.4f}), RMSE {m['model']['rmse']:.4f}; {result.verdict}")


if __name__ == "__main__":
    main()
