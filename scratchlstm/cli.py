"""The ``scratchlstm`` command.

    scratchlstm gradcheck            check the hand-written backward against finite differences
    scratchlstm <command> --help     what each command does and its options

Errors the package raises on purpose (bad data, bad settings, bad checkpoints) are printed as a
short message with a non-zero exit code; ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Sequence

from .errors import ScratchLSTMError

EXIT_FAILED_CHECK = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _add_gradcheck(sub) -> None:
    p = sub.add_parser(
        "gradcheck",
        help="check the LSTM backward against centred finite differences (float64)",
        description=(
            "Builds a random LSTM layer with non-zero biases and initial states, runs forward and the "
            "hand-written backward through time, and compares every gradient (W_x, W_h, b, x, h0, c0) "
            "with centred finite differences in float64. Prints a per-array report; exits 1 on failure."
        ),
    )
    p.add_argument("--steps", type=positive_int, default=6, help="sequence length T (default 6)")
    p.add_argument("--batch", type=positive_int, default=3, help="batch size B (default 3)")
    p.add_argument("--input-size", type=positive_int, default=4, help="input features D (default 4)")
    p.add_argument("--hidden-size", type=positive_int, default=5, help="hidden units H (default 5)")
    p.add_argument("--backend", default="numpy", help="numpy, array_api_strict or cupy (default numpy)")
    p.add_argument("--eps", type=float, default=1e-5, help="finite-difference step (default 1e-5)")
    p.add_argument("--threshold", type=float, default=1e-7, help="pass when every relative error is below this (default 1e-7)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, inputs and loss projection")
    p.set_defaults(run=_run_gradcheck)


def _run_gradcheck(args) -> int:
    from .backend import get_namespace, host_rng
    from .gradcheck import lstm_gradcheck
    from .nn.init import init_lstm_params

    xp = get_namespace(args.backend)
    rng = host_rng(args.seed)
    params = init_lstm_params(args.input_size, args.hidden_size, seed=rng, xp=xp, dtype="float64", forget_bias=1.0)
    x = xp.asarray(rng.standard_normal((args.steps, args.batch, args.input_size)), dtype=xp.float64)
    report = lstm_gradcheck(params, x, seed=args.seed, eps=args.eps, threshold=args.threshold)
    print(
        f"LSTM gradient check: T={args.steps} B={args.batch} D={args.input_size} H={args.hidden_size}, "
        f"backend {args.backend}, float64\n"
    )
    print(report)
    return 0 if report.passed else EXIT_FAILED_CHECK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratchlstm",
        description="An LSTM written by hand: check its gradients, train it, and forecast prices honestly.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_gradcheck(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return args.run(args)
    except ScratchLSTMError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"scratchlstm {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"scratchlstm {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
