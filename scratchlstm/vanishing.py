"""The vanishing-gradient experiment: RNN, GRU and LSTM on the adding problem, same budget.

The adding problem (Hochreiter and Schmidhuber, 1997): each step carries a random value in [0, 1]
and a marker; exactly two steps are marked, one among the first ten steps and one in the second
half, and the target is the sum of the two marked values. Predicting the mean (1.0) scores
MSE = Var(u_1 + u_2) = 1/6 ~ 0.167; a model counts as having solved a length when its test MSE is
below ``SOLVED_MSE`` = 0.02, which needs the first marked value to travel back from the end of the
sequence to where it was seen.

    python -m scratchlstm.vanishing --lengths 10,30,60 --steps 600
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from .clipping import clip_grad_norm
from .nn.cells import get_cell
from .nn.init import init_gru_params, init_lstm_params, init_rnn_params
from .nn.kernels.threads import blas_threads_for, step_work
from .nn.shapes import ENGINES
from .optim import Adam
from .traces import gradient_flow

BASELINE_MSE = 1.0 / 6.0
SOLVED_MSE = 0.02
KINDS = ("rnn", "gru", "lstm")
INITS = {  # PyTorch's initialisation for all three, with the LSTM's forget bias at 1
    "rnn": init_rnn_params,
    "gru": init_gru_params,
    "lstm": lambda D, H, **kw: init_lstm_params(D, H, forget_bias=1.0, **kw),
}


def adding_batch(rng: np.random.Generator, T: int, B: int) -> tuple[np.ndarray, np.ndarray]:
    """``x (T, B, 2)`` (value, marker) and ``y (B, 1)`` the sum of the two marked values."""
    values = rng.random((T, B))
    markers = np.zeros((T, B))
    first = rng.integers(0, min(10, T // 2), size=B)
    second = rng.integers(T // 2, T, size=B)
    markers[first, np.arange(B)] = 1.0
    markers[second, np.arange(B)] = 1.0
    x = np.stack([values, markers], axis=2)
    y = (values[first, np.arange(B)] + values[second, np.arange(B)])[:, None]
    return x, y


@dataclass
class AddingResult:
    kind: str
    length: int
    test_mse: float
    solved: bool
    seconds: float


def _cell(params: dict) -> dict:
    """The recurrent cell's weights, stored under ``cell.`` next to the head's."""
    return {k[len("cell."):]: v for k, v in params.items() if k.startswith("cell.")}


def train_adding(kind: str, T: int, *, hidden: int = 16, steps: int = 600, batch: int = 32, lr: float = 1e-2,
                 seed: int = 0, dtype: str = "float64", engine: str = "fast") -> tuple[AddingResult, dict]:
    """Train one cell (one layer + a linear head on h_T, Adam, MSE, clipping at 1) on the adding
    problem of length ``T`` for ``steps`` minibatches; return the result and the trained weights.

    ``engine="fast"`` runs the LSTM's speed kernel (the same numbers as the reference, faster); the
    GRU and the RNN have none and run their reference code either way.
    """
    cell = get_cell(kind)
    rng = np.random.default_rng(seed)
    weights = INITS[kind](2, hidden, seed=rng, dtype=dtype)
    params = {**{f"cell.{k}": v for k, v in weights.items()}, "head.W": rng.uniform(-0.1, 0.1, (hidden, 1)).astype(dtype),
              "head.c": np.ones(1, dtype=dtype)}
    no_state_gradient = (None,) * (len(cell.state_names) - 1)  # the loss sees h_T only, not c_T

    def last_hidden(x):
        _, state_T, cache = cell.forward(_cell(params), x, engine=engine)
        return state_T[0], cache

    opt = Adam(lr=lr)
    start = time.perf_counter()
    # the GRU's and the RNN's reference code has no kernel to hold BLAS to one thread at these small sizes,
    # where a second thread only waits (the GRU at T = 60 ran 4x slower on 2 busy cores); the numbers are the same
    with blas_threads_for(step_work(batch, 2, hidden)):
        for _ in range(steps):
            x, y = (a.astype(dtype) for a in adding_batch(rng, T, batch))
            h_T, cache = last_hidden(x)
            pred = h_T @ params["head.W"] + params["head.c"]
            dy = 2.0 * (pred - y) / batch
            grads = cell.backward(cache, None, (dy @ params["head.W"].T, *no_state_gradient))[0]
            grads = {**{f"cell.{k}": v for k, v in grads.items()}, "head.W": h_T.T @ dy, "head.c": dy.sum(axis=0)}
            grads, _ = clip_grad_norm(grads, 1.0)
            opt.step(params, grads)
    x, y = (a.astype(dtype) for a in adding_batch(np.random.default_rng(seed + 1000), T, 1000))
    h_T, _ = last_hidden(x)
    mse = float(np.mean((h_T @ params["head.W"] + params["head.c"] - y) ** 2))
    return AddingResult(kind, T, mse, mse < SOLVED_MSE, time.perf_counter() - start), _cell(params)


def vanishing_experiment(lengths=(10, 30, 60), kinds=KINDS, **kwargs) -> list[AddingResult]:
    """Every cell at every length with the same budget."""
    return [train_adding(kind, T, **kwargs)[0] for T in lengths for kind in kinds]


def seeds_experiment(lengths=(10, 30, 60), seeds=(0, 1, 2), kinds=KINDS, **kwargs) -> list[AddingResult]:
    """Every cell at every length, once per seed: how often a length is solved, not one lucky run."""
    return [r for seed in seeds for r in vanishing_experiment(lengths, kinds, seed=seed, **kwargs)]


def seeds_table(results: list[AddingResult]) -> str:
    """Markdown table: per cell and length, how many seeds solved it and the median test MSE."""
    lengths = sorted({r.length for r in results})
    kinds = list(dict.fromkeys(r.kind for r in results))
    lines = ["| cell | " + " | ".join(f"T = {T}" for T in lengths) + " |", "|---|" + "---|" * len(lengths)]
    for kind in kinds:
        cells = []
        for T in lengths:
            runs = [r for r in results if r.kind == kind and r.length == T]
            solved = sum(r.solved for r in runs)
            cells.append(f"{solved} of {len(runs)} (median {np.median([r.test_mse for r in runs]):.4f})")
        lines.append(f"| {kind.upper()} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def results_table(results: list[AddingResult]) -> str:
    """Markdown table: test MSE per cell and length, with a mark where the length was solved."""
    lengths = sorted({r.length for r in results})
    kinds = list(dict.fromkeys(r.kind for r in results))
    head = "| cell | " + " | ".join(f"T = {T}" for T in lengths) + " |"
    lines = [head, "|---|" + "---|" * len(lengths)]
    for kind in kinds:
        cells = []
        for T in lengths:
            r = next(r for r in results if r.kind == kind and r.length == T)
            cells.append(f"{r.test_mse:.4f} {'solved' if r.solved else '-'}")
        lines.append(f"| {kind.upper()} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="10,30,60", help="sequence lengths (default 10,30,60)")
    parser.add_argument("--steps", type=int, default=600, help="training minibatches per model (default 600)")
    parser.add_argument("--hidden", type=int, default=16, help="hidden units of every cell (default 16)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", help="comma-separated seeds: run each and report how many solve each length")
    parser.add_argument("--plot", help="also save the gradient-flow curves (untrained cells, longest length) to this PNG")
    parser.add_argument("--engine", choices=ENGINES, default="fast",
                        help="the LSTM's code: fast (its speed kernel, the default), reference (scratchlstm/nn/lstm.py as it "
                             "is now, edits included: the same numbers, slower) or compiled (needs Numba); the GRU and "
                             "the RNN run their reference either way")
    args = parser.parse_args(argv)
    lengths, seeds = _check_arguments(parser, args)
    print(f"adding problem, {args.steps} minibatches of 32, hidden {args.hidden}, Adam lr 0.01, clip 1; "
          f"test MSE (mean predictor: {BASELINE_MSE:.3f}; solved: below {SOLVED_MSE})")
    if seeds:
        print(seeds_table(seeds_experiment(lengths, seeds, hidden=args.hidden, steps=args.steps, engine=args.engine)))
    else:
        print(results_table(vanishing_experiment(lengths, hidden=args.hidden, steps=args.steps, seed=args.seed,
                                                 engine=args.engine)))
    if args.plot:
        from .plots import gradient_flow_plot

        x, _ = adding_batch(np.random.default_rng(args.seed), max(lengths), 32)
        flows = [gradient_flow(kind, INITS[kind](2, args.hidden, seed=args.seed, dtype="float64"), x) for kind in KINDS]
        gradient_flow_plot(flows, args.plot, f"gradient flow at initialisation, T = {max(lengths)}")
        print(f"wrote {args.plot}")


def _whole_numbers(parser, flag: str, text: str, least: int, example: str) -> list[int]:
    """The comma-separated whole numbers of ``flag``, each at least ``least``, or argparse's one-line error (exit 2)."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        parser.error(f"{flag} takes comma-separated whole numbers, such as {example}; got {text!r}")
    if any(v < least for v in values):
        parser.error(f"{flag} values must be at least {least}, got {text!r}")
    return values


def _check_arguments(parser, args) -> tuple[list[int], list[int] | None]:
    """The lengths and the seeds (None: one run with --seed), after refusing what the experiment cannot run or would
    report falsely: a length below 2 (two marked steps), no training, a repeated seed counted twice."""
    lengths = _whole_numbers(parser, "--lengths", args.lengths, 2, "10,30,60")
    for flag, value in (("--steps", args.steps), ("--hidden", args.hidden)):
        if value < 1:
            parser.error(f"{flag} must be at least 1, got {value}")
    if args.seed < 0:
        parser.error(f"--seed must be at least 0, got {args.seed}")
    seeds = None if args.seeds is None else _whole_numbers(parser, "--seeds", args.seeds, 0, "0,1,2")
    if seeds is not None and len(set(seeds)) < len(seeds):
        parser.error(f"--seeds holds a seed twice ({args.seeds}): each seed is one independent run, counted once")
    if args.plot is not None and not args.plot.lower().endswith(".png"):
        parser.error(f"--plot writes a PNG image: give a file name ending in .png, got {args.plot!r}")
    return lengths, seeds


if __name__ == "__main__":
    main()
