"""A trial, in PyTorch, of the M4 winner's hybrid (Smyl's ES-RNN, at its simplest) on the panel's walk-forward points.

    python -m benchmarks.forecast_panel --out /tmp/tuning --json /tmp/tuning.json
    python -m benchmarks.es_rnn_trial /tmp/tuning /tmp/tuning.json              # the same origins, the same peers
    python -m benchmarks.es_rnn_trial /tmp/tuning /tmp/tuning.json --seeds 3    # the average of three seeds

Needs ``pip install -e '.[bench]'``: torch, for its autograd. This is a trial of whether the idea is worth writing by
hand, with gradients through the recursion checked as the cells' are; it is not part of the package.

The package's LSTM starts from a smoothed level whose constant is chosen alone, by least squares, before the
LSTM trains. ES-RNN learns them together: each series has its own Holt-Winters smoothing constants and initial
seasonal indices, trained by gradient descent through the multiplicative recursion jointly with one LSTM shared
by the series of a seasonal period (12, 4, or none)::

    l[t] = alpha_i y[t] / s[t] + (1 - alpha_i) l[t-1]          alpha_i = sigmoid(a_i)
    s[t+m] = gamma_i y[t] / l[t] + (1 - gamma_i) s[t]          gamma_i = sigmoid(g_i); s[0..m-1] = exp(s0_i)

    x[t] = log(y[t-W+1..t] / s[t-W+1..t]) - log l[t]           the window, deseasonalised, relative to the last level
    y_hat[t+1] = l[t] s[t+1] exp(LSTM(x[t]))                    trained on |log y[t+1] - log y_hat[t+1]|

The LSTM's head starts at zero, so training starts from plain Holt-Winters. Walk-forward as the panel's: the
test origins and refit blocks of ``predictions.csv``; fit k trains on the windows whose target is at or before
each series' k-th cutoff, early-stopped on each series' last tenth of them (pooled), then forecasts that
block's points with its constants fixed and the recursion run on the values known at each origin. The peers'
forecasts and the package's LSTM (with ``--global``) are read from the same run, so every ratio is on the same
points.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.forecast_panel import load_series
from scratchlstm.forecast.baselines import PEERS
from scratchlstm.forecast.evaluate import diebold_mariano

REFIT_EVERY = 125  # the panel's default refit schedule (ForecastConfig.refit_every)


def torch_or_exit():
    try:
        import torch
    except ImportError:
        sys.exit("the ES-RNN trial needs PyTorch: pip install torch==2.13.0 (a CPU build)")
    torch.set_num_threads(1)
    return torch


torch = torch_or_exit()


class EsRnn(torch.nn.Module):
    """Per-series Holt-Winters constants and initial seasonal indices, and one LSTM across the series."""

    def __init__(self, initial_log_season: np.ndarray, hidden: int, seed: int):  # initial_log_season (S, m)
        super().__init__()
        torch.manual_seed(seed)
        n_series, self.m = initial_log_season.shape
        self.lstm = torch.nn.LSTM(1, hidden, batch_first=True, dtype=torch.float64)
        self.head = torch.nn.Linear(hidden, 1, dtype=torch.float64)
        torch.nn.init.zeros_(self.head.weight)  # out = 0: the forecast is Holt-Winters' own
        torch.nn.init.zeros_(self.head.bias)
        self.a = torch.nn.Parameter(torch.full((n_series,), -1.0, dtype=torch.float64))  # alpha 0.27 to start
        self.g = torch.nn.Parameter(torch.full((n_series,), -2.5, dtype=torch.float64))  # gamma 0.08 to start
        self.s0 = torch.nn.Parameter(torch.tensor(initial_log_season, dtype=torch.float64))
        if self.m == 1:  # no season: s = 1 throughout
            self.g.requires_grad_(False)
            self.s0.requires_grad_(False)

    def smooth(self, Y):
        """Y (S, N) -> log level (S, N) and log season (S, N + m), season[:, t] the index used at t (known at t - m)."""
        alpha = torch.sigmoid(self.a)
        gamma = torch.sigmoid(self.g) if self.m > 1 else torch.zeros_like(alpha)
        season = list(torch.exp(self.s0).unbind(1))
        levels, level = [], Y[:, 0] / season[0]
        for t in range(Y.shape[1]):
            if t:
                level = alpha * Y[:, t] / season[t] + (1 - alpha) * level
            levels.append(level)
            season.append(gamma * Y[:, t] / level + (1 - gamma) * season[t])
        return torch.log(torch.stack(levels, 1)), torch.log(torch.stack(season, 1))

    def forward(self, x):  # x (B, W, 1) -> (B,)
        out, _ = self.lstm(x)
        return self.head(out[:, -1]).squeeze(-1)


def windows(log_y, log_level, log_season, series, origins, W: int):
    """At origins t of ``series``: inputs (B, W, 1), targets (B,) and the log of the forecast's base l[t] s[t+1]."""
    columns = origins[:, None] + torch.arange(-W + 1, 1)[None, :]  # (B, W)
    rows = series[:, None].expand_as(columns)
    last_level = log_level[series, origins]
    x = (log_y[rows, columns] - log_season[rows, columns] - last_level[:, None])[..., None]
    base = last_level + log_season[series, origins + 1]
    return x, log_y[series, origins + 1] - base, base


def initial_log_season(y: np.ndarray, m: int) -> np.ndarray:
    """The first two seasons' ratios to their own mean, averaged (the classical start)."""
    if m == 1:
        return np.zeros(1)
    cycles = y[: 2 * m].reshape(2, m)
    return np.log((cycles / cycles.mean(1, keepdims=True)).mean(0))


def fit_group(names: list[str], data: dict, m: int, k: int, args, seed: int) -> dict:
    """Fit k of one group (the series of period m): trained at each series' k-th cutoff (its last one if it has
    fewer), and the forecasts of the series that have a k-th block."""
    W = max(8, min(60, 2 * m)) if m > 1 else 30  # the package's automatic window
    N = max(len(data[n]["y"]) for n in names)
    Y = torch.tensor(np.stack([np.pad(data[n]["y"], (0, N - len(data[n]["y"])), mode="edge") for n in names]))
    log_y = torch.log(Y)
    model = EsRnn(np.stack([initial_log_season(data[n]["y"], m) for n in names]), args.hidden, seed)
    train, val, test = ([], []), ([], []), {}
    for i, name in enumerate(names):
        blocks = data[name]["blocks"]
        block = blocks[min(k, len(blocks) - 1)]
        origins = np.arange(max(W - 1, m), block[0])  # targets t + 1 at or before the cutoff
        n_val = max(2, round(0.1 * len(origins)))
        for part, chosen in ((train, origins[:-n_val]), (val, origins[-n_val:])):
            part[0].append(np.full(len(chosen), i))
            part[1].append(chosen)
        if k < len(blocks):
            test[name] = (i, block)
    train, val = ([torch.tensor(np.concatenate(a)) for a in part] for part in (train, val))
    es_parameters = [p for p in (model.a, model.g, model.s0) if p.requires_grad]
    optimizer = torch.optim.Adam([{"params": [*model.lstm.parameters(), *model.head.parameters()], "lr": args.lr},
                                  {"params": es_parameters, "lr": args.es_lr}])
    draws = torch.Generator().manual_seed(seed)
    best, best_state, since = math.inf, None, 0
    for step in range(args.steps):
        log_level, log_season = model.smooth(Y)
        pick = torch.randint(len(train[1]), (min(args.batch, len(train[1])),), generator=draws)
        x, target, _ = windows(log_y, log_level, log_season, train[0][pick], train[1][pick], W)
        loss = (model(x) - target).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % args.every == 0:
            with torch.no_grad():
                x, target, _ = windows(log_y, *model.smooth(Y), *val, W)
                val_loss = (model(x) - target).abs().mean().item()
            if val_loss < best:
                best, since, best_state = val_loss, 0, {key: v.clone() for key, v in model.state_dict().items()}
            elif (since := since + 1) >= args.patience:
                break
    model.load_state_dict(best_state)
    out = {}
    with torch.no_grad():
        log_level, log_season = model.smooth(Y)
        x, target, _ = windows(log_y, log_level, log_season, *val, W)
        val_error = (model(x) - target).abs()
        for name, (i, block) in test.items():
            origins = torch.tensor(block)
            x, _, base = windows(log_y, log_level, log_season, torch.full((len(block),), i), origins, W)
            out[name] = {"es_rnn": torch.exp(base + model(x)).numpy(), "es": torch.exp(base).numpy(),
                         "val_es_rnn": float(val_error[val[0] == i].mean()), "val_es": float(target[val[0] == i].abs().mean()),
                         "alpha": float(torch.sigmoid(model.a[i])), "gamma": float(torch.sigmoid(model.g[i])) if m > 1 else 0.0}
    return {"forecasts": out, "steps": step + 1}


def load(run_folder: Path, rows: list[dict]) -> dict:
    """Each series' values, its walk-forward blocks of origins and its rows of predictions.csv."""
    predictions = pd.read_csv(run_folder / "predictions.csv", parse_dates=["ds"])
    data = {}
    for row in rows:
        if "failed" in row:
            continue
        prices = load_series(row["series"]).prices
        own = predictions[predictions.unique_id == row["series"]].reset_index(drop=True)
        origins = prices.index.get_indexer(own.ds) - 1  # the target's row, less the horizon (1)
        data[row["series"]] = {"y": prices.to_numpy(float), "m": row["season"], "predictions": own,
                               "blocks": [origins[s: s + REFIT_EVERY] for s in range(0, len(origins), REFIT_EVERY)]}
    return data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a forecast_panel --out folder (its predictions.csv)")
    parser.add_argument("rows", type=Path, help="the same run's --json file (each series' season)")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3, help="the LSTM's Adam step")
    parser.add_argument("--es-lr", type=float, default=1e-2, help="the smoothing constants' and indices' Adam step")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--every", type=int, default=25, help="validate every this many steps")
    parser.add_argument("--patience", type=int, default=12, help="validations without improvement before stopping")
    parser.add_argument("--seeds", type=int, default=1, help="average the forecasts of this many seeds")
    args = parser.parse_args(argv)
    data = load(args.run, json.loads(args.rows.read_text())["rows"])
    start = time.perf_counter()
    fits: dict[str, dict[int, list[dict]]] = {name: {} for name in data}
    for seed in range(args.seeds):
        for m in sorted({d["m"] for d in data.values()}):
            names = [n for n in data if data[n]["m"] == m]
            for k in range(max(len(data[n]["blocks"]) for n in names)):
                fit = fit_group(names, data, m, k, args, seed)
                print(f"period {m}, fit {k + 1}, seed {seed}: {len(names)} series, {fit['steps']} steps", file=sys.stderr)
                for name, forecasts in fit["forecasts"].items():
                    fits[name].setdefault(k, []).append(forecasts)
    head = (f"{'series':<26} {'m':>3} {'test':>4} {'ES-RNN':>6} {'ES':>6} {'LSTM':>6} {'best':>6} {'esrnn/best':>10} {'DM p':>8} "
            f"{'ES/best':>7} {'LSTM/best':>9} {'esrnn/LSTM':>10} {'val':>5} {'alpha':>5} {'gamma':>5}")
    print(head + "\n" + "-" * len(head))
    rows = []
    for name, d in data.items():
        own, blocks = d["predictions"], [fits[name][k] for k in sorted(fits[name])]
        actual = own.actual.to_numpy()

        def averaged(key):
            return np.concatenate([np.mean([seed_fit[key] for seed_fit in block], 0) for block in blocks])

        es_rnn, es = averaged("es_rnn"), averaged("es")
        mae = {key: float(np.mean(np.abs(own[key].to_numpy() - actual))) for key in ("naive", "model", *PEERS)}
        mae.update(es_rnn=float(np.mean(np.abs(es_rnn - actual))), es=float(np.mean(np.abs(es - actual))))
        best = min(PEERS, key=mae.get)
        p = diebold_mariano(es_rnn - actual, own[best].to_numpy() - actual, 1)["p_value"]
        lower_on_validation = np.mean([f["val_es_rnn"] < f["val_es"] for block in blocks for f in block])
        first = blocks[0][0]
        row = {"series": name, "es_rnn_over_best": mae["es_rnn"] / mae[best], "es_over_best": mae["es"] / mae[best],
               "lstm_over_best": mae["model"] / mae[best], "es_rnn_over_lstm": mae["es_rnn"] / mae["model"], "p_best": p,
               "lower_on_validation": lower_on_validation}
        rows.append(row)
        rel = {key: v / mae["naive"] for key, v in mae.items()}
        print(f"{name:<26} {d['m']:>3} {len(actual):>4} {rel['es_rnn']:>6.3f} {rel['es']:>6.3f} {rel['model']:>6.3f} {rel[best]:>6.3f} "
              f"{row['es_rnn_over_best']:>10.3f} {p:>8.3g} {row['es_over_best']:>7.3f} {row['lstm_over_best']:>9.3f} "
              f"{row['es_rnn_over_lstm']:>10.3f} {lower_on_validation:>5.2f} {first['alpha']:>5.3f} {first['gamma']:>5.3f}")

    def median(key):
        return float(np.median([r[key] for r in rows]))

    print("columns: MAE / naive on the panel's origins (ES-RNN; ES: its Holt-Winters alone, the LSTM's output left out; "
          "LSTM: the package's, --global; best: the best of ETS, ARIMA, Theta on the test span); DM p: ES-RNN against "
          "that peer, two-sided; val: the share of fits whose ES-RNN beat its ES alone on the series' validation "
          "windows; alpha, gamma: the first fit's learned constants")
    better = sum(r["p_best"] < 0.05 and r["es_rnn_over_best"] < 1 for r in rows)
    worse = sum(r["p_best"] < 0.05 and r["es_rnn_over_best"] > 1 for r in rows)
    print(f"median MAE / best peer's: ES-RNN {median('es_rnn_over_best'):.3f}, its ES alone {median('es_over_best'):.3f}, "
          f"the package's LSTM (--global) {median('lstm_over_best'):.3f}; median ES-RNN / LSTM {median('es_rnn_over_lstm'):.3f}; "
          f"ES-RNN significantly better / worse than the best peer on {better} / {worse} of {len(rows)}; "
          f"its LSTM beat its ES alone on validation on {sum(r['lower_on_validation'] > 0.5 for r in rows)}; "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
