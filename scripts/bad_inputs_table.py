"""Run the real command line on every kind of awkward or bad input and tabulate what the user gets.

    python scripts/bad_inputs_table.py > bad-inputs.md      # about five minutes on 2 cores
    python scripts/bad_inputs_table.py --awkward            # only the awkward files of tests/data/awkward_files.py

Each case writes its files into a temporary folder and runs ``python -m scratchlstm ...`` in a
subprocess, so the messages and exit codes are exactly those of the installed program. Columns: the
case, the exit code (0 done, 1 gradient check failed, 2 input/settings/environment, 3 a bug, 143
terminated), what the user sees (the data line and verdict on success, the error line otherwise),
and the files left in the output folder.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for the test suite's case list
from tests.data.awkward_files import cases as awkward_cases  # noqa: E402

FAST = ["--quiet", "--epochs", "2", "--window", "5", "--hidden", "4", "--test-size", "20", "--refit-every", "none"]
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def prices(n=200, seed=0):
    return 100 * np.exp(np.cumsum(0.01 * np.random.default_rng(seed).standard_normal(n)))


def frame(n=200, freq="D", seed=0):
    return pd.DataFrame({"Date": pd.date_range("2019-01-01", periods=n, freq=freq), "Close": prices(n, seed)})


def run(args, env=None, cwd=None, shell=None):
    if shell:
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, env=ENV, cwd=cwd)
    else:
        proc = subprocess.run([sys.executable, "-m", "scratchlstm", *args], capture_output=True, env={**ENV, **(env or {})}, cwd=cwd)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode == 0:
        lines = [line for line in out.splitlines() if line.startswith(("data:", "note:", "verdict:", "last price", "wrote", "PASS"))]
        seen = " / ".join(line[:170] for line in lines[:3])
    else:
        seen = err.splitlines()[-1] if err else out.strip().splitlines()[-1] if out.strip() else ""
    return proc.returncode, seen


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    cases: list[tuple[str, dict]] = []
    for case in awkward_cases():  # mixed number formats, currency signs, cut last rows, time columns, overlaps, Excel
        path = tmp / case.filename
        path.write_bytes(case.content)
        cases.append((f"{case.kind}: {case.name}", dict(args=["forecast", "--csv", str(path), "--out", str(tmp / f"out-{len(cases)}"),
                                                               *FAST, *case.flags], out=tmp / f"out-{len(cases)}")))
    if sys.argv[1:] == ["--awkward"]:
        _table(cases, tmp)
        return

    def file_case(name, filename, write, *extra):
        path = tmp / filename
        write(path)
        cases.append((name, dict(args=["forecast", "--csv", str(path), "--out", str(tmp / f"out-{len(cases)}"), *FAST, *extra],
                                 out=tmp / f"out-{len(cases)}")))

    text = lambda content: (lambda p: p.write_text(content, encoding="utf-8"))  # noqa: E731
    base = frame()
    # conventions read right
    file_case("semicolon-separated, decimal comma (a European spreadsheet)", "eu.csv",
              lambda p: base.to_csv(p, sep=";", decimal=",", index=False))
    file_case("comma-separated, decimal comma in quotes (\"4160,620117\")", "quoted.csv",
              lambda p: base.to_csv(p, decimal=",", index=False))  # pandas quotes the values that hold the separator
    european = {ord(","): ".", ord("."): ","}  # 4,160.62 -> 4.160,62
    file_case("dots as thousands, comma as decimal (4.160,62)", "dots.csv",
              lambda p: p.write_text("Date;Close\n" + "".join(f"{d:%Y-%m-%d};{f'{v * 40:,.2f}'.translate(european)}\n"
                                                            for d, v in zip(base.Date, base.Close))))
    file_case("tab-separated", "tab.tsv", lambda p: base.to_csv(p, sep="\t", index=False))
    file_case("day-first dates (31/01/2019)", "dayfirst.csv", lambda p: base.assign(Date=base.Date.dt.strftime("%d/%m/%Y")).to_csv(p, index=False))
    file_case("day-first with dots (31.01.2019)", "dots-dates.csv", lambda p: base.assign(Date=base.Date.dt.strftime("%d.%m.%Y")).to_csv(p, index=False))
    file_case("YYYYMMDD integers", "yyyymmdd.csv", lambda p: base.assign(Date=base.Date.dt.strftime("%Y%m%d").astype(int)).to_csv(p, index=False))
    file_case("month names (Jan 31, 2019)", "names.csv", lambda p: base.assign(Date=base.Date.dt.strftime("%b %d, %Y")).to_csv(p, index=False))
    file_case("ISO stamps with offsets, DST change (+01:00/+02:00)", "offsets.csv",
              lambda p: base.assign(Date=base.Date.dt.tz_localize("Europe/Paris").map(lambda t: t.isoformat())).to_csv(p, index=False))
    file_case("hourly stamps (kept whole)", "hourly.csv", lambda p: frame(300, "h").to_csv(p, index=False))
    file_case("UTF-16 with BOM", "utf16.csv", lambda p: p.write_bytes(base.to_csv(index=False).encode("utf-16")))
    file_case("UTF-8 with BOM", "bom.csv", lambda p: p.write_bytes(b"\xef\xbb\xbf" + base.to_csv(index=False).encode()))
    file_case("gzip", "prices.csv.gz", lambda p: p.write_bytes(gzip.compress(base.to_csv(index=False).encode())))
    # conventions refused
    file_case("every price like 1,234 (decimal or thousands?)", "ambiguous.csv",
              lambda p: p.write_text("Date,Close\n" + "".join(f'{d:%Y-%m-%d},"1,{k % 900 + 100}"\n' for k, d in enumerate(base.Date))))
    file_case("  ... with --decimal ,", "ambiguous2.csv",
              lambda p: p.write_text("Date,Close\n" + "".join(f'{d:%Y-%m-%d},"1,{k % 900 + 100}"\n' for k, d in enumerate(base.Date))),
              "--decimal", ",")
    file_case("dd/mm dates that never pass 12 (order undecidable)", "undecidable.csv",
              lambda p: frame(12, "MS").assign(Date=lambda f: f.Date.dt.strftime("%d/%m/%Y")).to_csv(p, index=False))
    file_case("  ... with --date-format %d/%m/%Y (too short then)", "undecidable2.csv",
              lambda p: frame(12, "MS").assign(Date=lambda f: f.Date.dt.strftime("%d/%m/%Y")).to_csv(p, index=False), "--date-format", "%d/%m/%Y")
    file_case("colliding column names (Close and close)", "collide.csv", text("Date,Close,close\n2020-01-01,1,2\n2020-01-02,3,4\n"))
    file_case("CoinGecko JSON with out-of-range stamps", "cg.json", text(json.dumps({"prices": [[1e20, 1.0], [2e20, 2.0]]})))
    file_case("CoinGecko error document", "cgerr.json", text(json.dumps({"status": {"error_code": 429, "error_message": "rate limited"}})))
    for name, content in {"empty file": "", "header only": "Date,Open,High,Low,Close,Adj Close,Volume\n",
                          "no date column": "Day,Close\n1,2\n2,3\n", "no close column": "Date,Volume\n2020-01-01,5\n",
                          "non-numeric price": "Date,Close\n2020-01-01,12.5\n2020-01-02,n/a\n",
                          "negative price": "Date,Close\n2020-01-01,12.5\n2020-01-02,-3\n",
                          "blank price rows": "Date,Close\n2020-01-01,12.5\n2020-01-02,\n2020-01-03,13\n",
                          "mixed date formats": "Date,Close\n2020-01-01,12.5\n01/02/2020,13\n",
                          "rows longer than the header": "Date,Close\n2020-01-01,1,2\n2020-01-02,3,4\n"}.items():
        file_case(name, f"{name.replace(' ', '-')}.csv", text(content))
    file_case("too few rows (30)", "short.csv", lambda p: frame(30).to_csv(p, index=False))
    file_case("constant price", "constant.csv", lambda p: frame(200).assign(Close=42.0).to_csv(p, index=False))
    file_case("binary file", "binary.csv", lambda p: p.write_bytes(bytes(range(256)) * 8))
    file_case("a file name that is not UTF-8", os.fsdecode(b"prices-\xff.csv"), lambda p: base.to_csv(p, index=False))

    # settings and environment
    def settings_case(name, extra, env=None, setup=None):
        out = tmp / f"out-{len(cases)}"
        if setup:
            setup(out)
        cases.append((name, dict(args=["forecast", "--out", str(out), *FAST, *extra], out=out, env=env)))

    for doc_name, doc in {"--config: \"hidden_sizes\": \"32\"": {"hidden_sizes": "32"}, "--config: \"epochs\": \"30\"": {"epochs": "30"},
                          "--config: an unknown key": {"windw": 30}}.items():
        cfg = tmp / f"cfg-{len(cases)}.json"
        cfg.write_text(json.dumps(doc))
        settings_case(doc_name, ["--config", str(cfg)])
    nan_cfg = tmp / "nan.json"
    nan_cfg.write_text('{"lr": NaN}')
    settings_case("--config: NaN", ["--config", str(nan_cfg)])
    for flags in (["--seed", "-1"], ["--test-size", "inf"], ["--window", "sixty"], ["--hidden", "0"], ["--dropout", "1"],
                  ["--optimizer", "adagrad"], ["--backend", "cupy"], ["--engine", "turbo"], ["--csv", ""]):
        settings_case(" ".join(flags) if flags[1] else "--csv ''", flags)
    settings_case("--out naming a file", [], setup=lambda out: out.write_text("mine"))
    settings_case("MPLBACKEND=bogus", [], env={"MPLBACKEND": "bogus"})
    settings_case("diverging run (--target price --lr 1e30 --clip none)", ["--target", "price", "--lr", "1e30", "--clip", "none"])

    # checkpoints and predict
    good_out = tmp / "good"
    subprocess.run([sys.executable, "-m", "scratchlstm", "forecast", "--out", str(good_out), *FAST], check=True, capture_output=True, env=ENV)
    price_out = tmp / "price-model"
    frame(300).to_csv(tmp / "btc-like.csv", index=False)
    subprocess.run([sys.executable, "-m", "scratchlstm", "forecast", "--csv", str(tmp / "btc-like.csv"), "--target", "price", "--out",
                    str(price_out), *FAST], check=True, capture_output=True, env=ENV)
    good = good_out / "model.npz"
    data = good.read_bytes()
    (tmp / "truncated.npz").write_bytes(data[: len(data) // 3])
    (tmp / "pickle.npz").write_bytes(pickle.dumps({"payload": "not numbers"}))
    np.savez(tmp / "foreign.npz", weights=np.ones(3))
    with zipfile.ZipFile(good) as z, zipfile.ZipFile(tmp / "extra.npz", "w") as out:
        for info in z.infolist():
            out.writestr(info.filename, z.read(info))
        out.writestr("bomb.npy", b"\x93NUMPY" + bytes(1000))
    frame(40, "W").to_csv(tmp / "weekly.csv", index=False)
    frame(300).assign(Close=lambda f: f.Close * 1000).to_csv(tmp / "stock-like.csv", index=False)
    frame(3).to_csv(tmp / "three.csv", index=False)
    predict = [
        ("predict: truncated checkpoint", ["--checkpoint", str(tmp / "truncated.npz")]),
        ("predict: a pickle as checkpoint", ["--checkpoint", str(tmp / "pickle.npz")]),
        ("predict: a foreign .npz", ["--checkpoint", str(tmp / "foreign.npz")]),
        ("predict: a checkpoint with an extra member", ["--checkpoint", str(tmp / "extra.npz")]),
        ("predict: 3 rows for a window of 5", ["--checkpoint", str(good), "--csv", str(tmp / "three.csv")]),
        ("predict: weekly data, business-daily model", ["--checkpoint", str(good), "--csv", str(tmp / "weekly.csv")]),
        ("predict: price model, prices 1000x its training range", ["--checkpoint", str(price_out / "model.npz"), "--csv", str(tmp / "stock-like.csv")]),
        ("  ... with --force", ["--checkpoint", str(price_out / "model.npz"), "--csv", str(tmp / "stock-like.csv"), "--force"]),
        ("predict: the model's own data", ["--checkpoint", str(good)]),
    ]
    cases += [(name, dict(args=["predict", *args])) for name, args in predict]
    cases.append(("fetch while offline", dict(args=["fetch", "bitcoin", "--days", "30", "--out", str(tmp / "btc.csv")])))

    row = _table(cases, tmp)

    # a second run into a folder in use, a closed stdout, SIGTERM mid-training
    busy = tmp / "busy"
    first = subprocess.Popen([sys.executable, "-m", "scratchlstm", "forecast", "--out", str(busy), *FAST[:-6], "--epochs", "300",
                              "--patience", "none", "--window", "5", "--hidden", "4", "--test-size", "20", "--refit-every", "10",
                              "--csv", str(tmp / "btc-like.csv")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    while not list((busy / "checkpoints").glob("*.npz")):
        time.sleep(0.05)
    code, seen = run(["forecast", "--out", str(busy), *FAST])
    row("a second run into a folder in use", code, seen, None)
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate()
    row("SIGTERM mid-training", first.returncode, err.decode().strip().splitlines()[-1], busy)
    code, seen = run([], shell=f"{sys.executable} -m scratchlstm forecast --out {tmp / 'head'} {' '.join(FAST)} | head -1")
    row("stdout closed early (| head -1)", code, seen, tmp / "head")


def _table(cases, tmp):
    """Run the cases and print the table; returns the function that prints one more row."""
    print("| case | exit | what the user sees | files left in --out |")
    print("|---|---|---|---|")

    def row(name, code, seen, out):
        left = "-" if out is None or not Path(out).is_dir() else ", ".join(sorted(p.name for p in Path(out).iterdir())) or "(empty)"
        seen = seen.replace(str(tmp) + "/", "").replace("|", "\\|")
        print(f"| {name} | {code} | {seen} | {left} |", flush=True)

    for name, case in cases:
        code, seen = run(case["args"], env=case.get("env"))
        row(name, code, seen, case.get("out"))
    return row


if __name__ == "__main__":
    main()
