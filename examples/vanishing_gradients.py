"""The vanishing-gradient experiment at small scale (a few seconds): RNN vs GRU vs LSTM.

    python examples/vanishing_gradients.py [--out examples-out]

Trains each cell on the adding problem at two lengths with the same budget, prints which solve it,
and saves the gradient-flow curves at initialisation. The full-size numbers in the docs come from
``python -m scratchlstm.vanishing --lengths 10,50,100,200 --steps 1500``.
"""

import argparse
from pathlib import Path

from scratchlstm.vanishing import main as experiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="examples-out", help="folder for the figure")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    experiment(["--lengths", "10,40", "--steps", "400", "--plot", str(Path(args.out) / "gradient-flow.png")])


if __name__ == "__main__":
    main()
