"""Run the real command line on every kind of bad input and print what the user sees, as a table.

    python scripts/bad_inputs_table.py > bad-inputs.md

Each case writes its file into a temporary folder and runs ``python -m scratchlstm ...`` in a
subprocess, so the messages and exit codes are exactly those of the installed program.
"""

import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

FAST = ["--quiet", "--epochs", "2", "--window", "5", "--hidden", "4", "--test-size", "20", "--refit-every", "none"]


def rows(prices):
    import pandas as pd

    dates = pd.date_range("2000-01-01", periods=len(prices), freq="D").strftime("%Y-%m-%d")
    return "Date,Close\n" + "".join(f"{d},{float(p)!r}\n" for d, p in zip(dates, prices))


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    walk = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(200)))
    files = {
        "empty file": "",
        "header only": "Date,Open,High,Low,Close,Adj Close,Volume\n",
        "no date column": "Day,Close\n1,2\n2,3\n",
        "no close column": "Date,Volume\n2020-01-01,5\n",
        "non-numeric price": "Date,Close\n2020-01-01,12.5\n2020-01-02,n/a\n",
        "negative price": "Date,Close\n2020-01-01,12.5\n2020-01-02,-3\n",
        "blank price rows": "Date,Close\n2020-01-01,12.5\n2020-01-02,\n2020-01-03,13\n",
        "mixed date formats": "Date,Close\n2020-01-01,12.5\n01/02/2020,13\n",
        "JSON where CSV expected": '{"data": [1, 2, 3]}',
        "too few rows (30)": rows(100 + np.arange(30.0)),
        "constant price": rows([42.0] * 200),
        "rows longer than the header": "Date,Close\n2020-01-01,1,2\n2020-01-02,3,4\n",
    }
    cases = [(name, ["forecast", "--csv", str(tmp / f"{k}.csv"), *FAST]) for k, name in enumerate(files)]
    for k, text in enumerate(files.values()):
        (tmp / f"{k}.csv").write_text(text)
    (tmp / "binary.csv").write_bytes(bytes(range(256)) * 8)
    cases.append(("binary file", ["forecast", "--csv", str(tmp / "binary.csv"), *FAST]))
    (tmp / "unsorted.csv").write_text("Date,Close\n" + "".join(reversed(rows(walk).splitlines(True)[1:])) + rows(walk).splitlines(True)[5])
    cases.append(("unsorted rows + a duplicated date (fixed, said)", ["forecast", "--csv", str(tmp / "unsorted.csv"), "--out", str(tmp / "o1"), *FAST]))
    (tmp / "huge.csv").write_text(rows(walk * 1e12))
    cases.append(("prices of 1e12 (works)", ["forecast", "--csv", str(tmp / "huge.csv"), "--out", str(tmp / "o2"), *FAST]))
    (tmp / "tiny.csv").write_text(rows(walk * 1e-12))
    cases.append(("prices of 1e-12 (works)", ["forecast", "--csv", str(tmp / "tiny.csv"), "--out", str(tmp / "o3"), *FAST]))
    for flags in (["--window", "0"], ["--horizon", "-1"], ["--hidden", "0"], ["--lr", "0"], ["--dropout", "1"],
                  ["--optimizer", "adagrad"], ["--backend", "tensorflow"], ["--backend", "cupy"]):
        cases.append((" ".join(flags), ["forecast", *FAST, *flags]))
    cases.append(("diverging run (--target price --lr 1e30 --clip none)",
                  ["forecast", "--target", "price", "--lr", "1e30", "--clip", "none", "--out", str(tmp / "o4"), *FAST]))
    subprocess.run([sys.executable, "-m", "scratchlstm", "forecast", "--out", str(tmp / "good"), *FAST], check=True, capture_output=True)
    good = tmp / "good" / "model.npz"
    data = good.read_bytes()
    (tmp / "truncated.npz").write_bytes(data[: len(data) // 3])
    (tmp / "pickle.npz").write_bytes(pickle.dumps({"payload": "not numbers"}))
    np.savez(tmp / "foreign.npz", weights=np.ones(3))
    cases += [
        ("truncated checkpoint", ["predict", "--checkpoint", str(tmp / "truncated.npz")]),
        ("pickle file as checkpoint", ["predict", "--checkpoint", str(tmp / "pickle.npz")]),
        ("foreign .npz as checkpoint", ["predict", "--checkpoint", str(tmp / "foreign.npz")]),
        ("checkpoint vs 3-row file", ["predict", "--checkpoint", str(good), "--csv", str(tmp / "short.csv")]),
        ("fetch while offline", ["fetch", "bitcoin", "--days", "30", "--out", str(tmp / "btc.csv")]),
    ]
    (tmp / "short.csv").write_text("Date,Close\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n")
    print("| input | what the user sees | exit code |\n|---|---|---|")
    for name, args in cases:
        proc = subprocess.run([sys.executable, "-m", "scratchlstm", *args], capture_output=True, text=True)
        seen = proc.stderr.strip() or next((l for l in proc.stdout.splitlines() if l.startswith(("note:", "verdict:"))), "")
        if proc.returncode == 0:
            notes = [l for l in proc.stdout.splitlines() if l.startswith("note:")]
            verdict = next((l for l in proc.stdout.splitlines() if l.startswith("verdict:")), "")
            seen = " / ".join(notes + [verdict])
        seen = seen.replace(str(tmp) + "/", "").replace("|", "\\|").replace("\n", " ")
        print(f"| {name} | {seen} | {proc.returncode} |")


if __name__ == "__main__":
    main()
