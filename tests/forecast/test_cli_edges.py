"""Awkward inputs and hostile uses of the command line, run as a user runs it (``python -m scratchlstm``).

Each case ends in exit 0 with its numbers checked against the price file, or in exit 2 with one
line that names the fix; never exit 3; and no file of the user's changes: every case runs in a
folder holding the user's price file and notes, compared byte for byte before and after.
"""

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scratchlstm.checkpoint import read_checkpoint, write_checkpoint
from scratchlstm.forecast.report import RESULT_FILES
from tests.helpers import RecordedResponse, dated_rows, finish, random_walk

ROOT = Path(__file__).parents[2]
FAST = ["--quiet", "--epochs", "1", "--window", "5", "--hidden", "3", "--test-size", "20", "--refit-every", "none"]


def cli(*args, cwd, env=None, stdin=None):
    """``python -m scratchlstm ARGS`` in ``cwd``: (exit status, stdout, stderr)."""
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "scratchlstm", *args], cwd=cwd, capture_output=True, encoding="utf-8",
                          errors="replace", env=environment, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def files_of(folder: Path, skip=()) -> dict[str, bytes]:
    """Every file under ``folder`` (but those under the names in ``skip``), with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] not in skip}


def refused(code, err, *words):
    """Exit 2 with one line on stderr holding every one of ``words``."""
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "internal error" not in err, (code, err)
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


@pytest.fixture
def home(tmp_path):
    """A user's folder: a price file (a random walk near 100) and notes."""
    (tmp_path / "prices.csv").write_text(dated_rows(list(100 * random_walk(200, seed=7) / random_walk(200, seed=7)[0])))
    (tmp_path / "notes.txt").write_text("mine\n")
    return tmp_path


RUN_FOLDERS = {"out", "o2", "btc"}  # what the cases pass to --out
MADE_BY_TESTS = {"results", "link", "line.csv", "times.csv", "loop1", "loop2"}  # what the cases make as the user's own


@pytest.fixture
def unchanged(home):
    """Asserts after the test that every file of the user's is as it was, and that nothing appeared
    outside the run's folders."""
    before = files_of(home)
    yield home
    after = files_of(home)
    assert {k: after.get(k) for k in before} == before
    assert {p.name for p in home.iterdir()} <= set(before) | RUN_FOLDERS | MADE_BY_TESTS


def manifest_holds(folder: Path) -> bool:
    """The folder holds exactly a run's files, each the file its run.json records."""
    manifest = json.loads((folder / "run.json").read_text())
    names = {p.name for p in folder.iterdir()}
    return names == set(RESULT_FILES) | {"run.json"} and all(
        hashlib.sha256((folder / n).read_bytes()).hexdigest() == d for n, d in manifest["files"].items())


# ---------------------------------------------------------------------------------------------
# tiny prices keep their significant digits


def test_tiny_prices_keep_their_digits_in_every_output(tmp_path):
    rng = np.random.default_rng(11)
    prices = 1e-6 * np.exp(np.cumsum(rng.normal(0, 0.02, 200)))
    (tmp_path / "tiny.csv").write_text(dated_rows(list(prices)))
    code, out, err = cli("forecast", "--csv", "tiny.csv", "--out", "out", *FAST, cwd=tmp_path)
    assert code == 0, err
    frame = pd.read_csv(tmp_path / "out" / "predictions.csv")
    expected = prices[-len(frame):]
    assert [f"{v:.10g}" for v in frame["actual"]] == [f"{v:.10g}" for v in expected]
    assert frame["last_input"].nunique() > 1  # not every value one rounded 0.000001
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    mae = float(np.mean(np.abs(frame["naive"] - frame["actual"])))
    assert report["metrics"]["naive"]["mae"] == pytest.approx(mae, rel=1e-8)
    row = next(line for line in out.splitlines() if line.startswith("naive "))
    assert "0.0000" not in row and float(row.split()[1]) == pytest.approx(mae, rel=1e-4)
    code, out, err = cli("predict", "--checkpoint", "out/model.npz", "--csv", "tiny.csv", cwd=tmp_path)
    assert code == 0, err
    assert f"last price {prices[-1]:.8g}" in out and "0.0000" not in out


# ---------------------------------------------------------------------------------------------
# --seeds N: model.npz holds every model, predict averages them


def test_predict_forecasts_the_average_the_seeds_run_reported(unchanged):
    code, _, err = cli("forecast", "--csv", "prices.csv", "--out", "out", *FAST, "--epochs", "3", "--target", "price",
                       "--seeds", "3", "--horizon", "2", cwd=unchanged)
    assert code == 0, err
    frame = pd.read_csv(unchanged / "out" / "predictions.csv")
    seeds = frame[[f"model_seed{k}" for k in range(3)]].iloc[-1].to_numpy()
    assert np.ptp(seeds) > 0  # the members differ, so the average is a test
    rows = (unchanged / "prices.csv").read_text().splitlines()
    (unchanged / "out" / "cut.csv").write_text("\n".join(rows[:-2]) + "\n")  # the last test point's origin is the last row
    code, out, err = cli("predict", "--checkpoint", "out/model.npz", "--csv", "out/cut.csv", cwd=unchanged)
    assert code == 0, err
    said = float(out.split("step(s) ahead, for ")[1].split(": ")[1].split()[0])  # "..., for 2020-07-19: 101.23 (+0.4%)"
    assert said == pytest.approx(frame["model"].iloc[-1], rel=1e-7) == pytest.approx(seeds.mean(), rel=1e-7)
    assert "holds 3 models" in out
    arrays, meta = read_checkpoint(unchanged / "out" / "model.npz")
    assert meta["members"] == 3 and meta["format_version"] == 3


def test_a_version_2_model_file_still_predicts_the_same(unchanged):
    code, _, err = cli("forecast", "--csv", "prices.csv", "--out", "out", *FAST, cwd=unchanged)
    assert code == 0, err
    arrays, meta = read_checkpoint(unchanged / "out" / "model.npz")
    old = {k.replace("member0/", "param/"): v for k, v in arrays.items()}
    body = {k: v for k, v in meta.items() if k not in ("format", "format_version", "members")}
    write_checkpoint(unchanged / "out" / "v2.npz", old, body)
    with zipfile.ZipFile(unchanged / "out" / "v2.npz") as z:  # the version written by the releases before members
        members = {i.filename: z.read(i) for i in z.infolist()}
    doc = json.loads(np.load(io.BytesIO(members["__meta__.npy"])).tobytes())
    doc["format_version"] = 2
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8))
    members["__meta__.npy"] = buffer.getvalue()
    with zipfile.ZipFile(unchanged / "out" / "v2.npz", "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    new = cli("predict", "--checkpoint", "out/model.npz", "--csv", "prices.csv", cwd=unchanged)
    old = cli("predict", "--checkpoint", "out/v2.npz", "--csv", "prices.csv", cwd=unchanged)
    assert new[0] == old[0] == 0 and new[1].replace("out/model.npz", "out/v2.npz") == old[1], (new, old)


# ---------------------------------------------------------------------------------------------
# a model file whose arrays unpack to far more than its model


def _bomb(model: Path, out: Path, megabytes: int = 300) -> None:
    """``model`` with its first weight replaced by ``megabytes`` of zeros that deflate to about 1 MB."""
    with zipfile.ZipFile(model) as z:
        meta_bytes = z.read("__meta__.npy")
    doc = json.loads(np.load(io.BytesIO(meta_bytes)).tobytes())
    name = sorted(doc["arrays"])[0]
    n = megabytes * 2**20 // 8
    doc["arrays"][name] = {"shape": [n], "dtype": "<f8"}
    meta = io.BytesIO()
    np.save(meta, np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8))
    with zipfile.ZipFile(model) as src, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("__meta__.npy", meta.getvalue())
        for info in src.infolist():
            if info.filename not in ("__meta__.npy", name + ".npy"):
                z.writestr(info.filename, src.read(info))
        with z.open(name + ".npy", "w", force_zip64=True) as f:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
            f.write(header.getvalue())
            zeros = bytes(16 * 2**20)
            for start in range(0, n * 8, len(zeros)):
                f.write(zeros[: min(len(zeros), n * 8 - start)])


def test_a_zip_bomb_model_is_refused_before_it_is_unpacked(unchanged):
    code, _, err = cli("forecast", "--csv", "prices.csv", "--out", "out", *FAST, cwd=unchanged)
    assert code == 0, err
    bomb = unchanged / "out" / "bomb.npz"
    _bomb(unchanged / "out" / "model.npz", bomb)
    assert bomb.stat().st_size < 5 * 2**20
    script = ("import resource, subprocess, sys; p = subprocess.run([sys.executable, '-m', 'scratchlstm', 'predict', "
              "'--checkpoint', 'out/bomb.npz', '--csv', 'prices.csv'], capture_output=True, text=True); "
              "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(p.stderr, end='')")
    proc = subprocess.run([sys.executable, "-c", script], cwd=unchanged, capture_output=True, text=True, timeout=300)
    status, rss_kb = map(int, proc.stdout.splitlines()[0].split())
    refused(status, "\n".join(proc.stdout.splitlines()[1:]), "do not fit the model it describes", "refused without reading")
    assert rss_kb < 250 * 1024, f"peak memory {rss_kb / 1024:.0f} MB: the 300 MB array was unpacked"


# ---------------------------------------------------------------------------------------------
# what used to end in exit 3


def test_a_horizon_longer_than_the_test_span(unchanged):
    code, _, err = cli("forecast", "--csv", "prices.csv", "--out", "out", *FAST, "--horizon", "25", cwd=unchanged)
    refused(code, err, "--horizon 25 is longer than the test span of 20 points", "--test-size 25")
    assert not (unchanged / "out").exists()


def test_a_season_longer_than_the_history(unchanged):
    code, _, err = cli("forecast", "--csv", "prices.csv", "--out", "out", *FAST, "--season", "500", cwd=unchanged)
    refused(code, err, "--season 500 needs", "use --season 180 or less")


def test_a_series_a_baseline_forecasts_exactly(unchanged):
    (unchanged / "line.csv").write_text(dated_rows([100.0 + k for k in range(200)]))
    code, _, err = cli("forecast", "--csv", "line.csv", "--out", "out", *FAST, cwd=unchanged)
    refused(code, err, "drift forecasts every test point exactly")
    assert not (unchanged / "out").exists()  # refused before any training


def test_a_series_a_baseline_forecasts_exactly_but_for_rounding(unchanged):
    # R's time stamps as prices (1949.0, 1949.0833, ...): drift's MAE is about 1e-13, not 0
    (unchanged / "times.csv").write_text(dated_rows([1949 + k / 12 for k in range(200)]))
    code, _, err = cli("forecast", "--csv", "times.csv", "--out", "out", *FAST, cwd=unchanged)
    refused(code, err, "drift forecasts every test point exactly")


def test_a_closed_stderr_keeps_the_exit_status_and_writes_into_no_file(unchanged):
    line = f"{sys.executable} -m scratchlstm forecast --csv prices.csv --out out {' '.join(FAST)} --horizon 99 2>&-"
    proc = subprocess.run(["bash", "-c", line], cwd=unchanged, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "error" not in proc.stdout, proc.stdout  # nor is the message moved into stdout
    line = f"{sys.executable} -m scratchlstm forecast --csv prices.csv --out out {' '.join(FAST)} 2>&-"
    proc = subprocess.run(["bash", "-c", line], cwd=unchanged, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and manifest_holds(unchanged / "out"), proc.stdout


@pytest.mark.parametrize("flag, value", [("--hidden-size", "200000"), ("--steps", "99999999999999999999"),
                                         ("--input-size", "99999999999999999999")])
def test_running_out_of_memory_names_the_sizes_to_lower(unchanged, flag, value):
    """Sizes past what NumPy can index failed as "Maximum allowed dimension exceeded", an internal error (exit 3)."""
    code, _, err = cli("gradcheck", flag, value, cwd=unchanged)
    refused(code, err, "out of memory", "use smaller --steps, --batch, --input-size and --hidden-size")


# ---------------------------------------------------------------------------------------------
# flags that were dropped or ignored


def test_classical_without_statsforecast_is_refused_before_training(unchanged, tmp_path_factory):
    fake = tmp_path_factory.mktemp("site") / "statsforecast"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named statsforecast')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])}
    code, out, err = cli("forecast", "--csv", "prices.csv", "--out", "out", *FAST, "--classical", cwd=unchanged, env=env)
    refused(code, err, "--classical needs statsforecast", "pip install 'statsforecast>=2.0'")
    assert "fit 1/" not in out and not (unchanged / "out").exists()


@pytest.mark.parametrize("args, words", [
    (["forecast", "--config", ""], ["--config is empty"]),
    (["forecast", "--out", ""], ["--out is empty", "--out forecast-out"]),
    (["forecast", "--out", "."], ["is the current folder", "--out ./forecast-out"]),
    (["predict", "--checkpoint", "", "--csv", "prices.csv"], ["--checkpoint is empty", "forecast-out/model.npz"]),
    (["fetch", "../x"], ["is not a CoinGecko coin id"]),
    (["fetch", "bitcoin", "--out", ""], ["--out is empty", "bitcoin-daily.csv"]),
], ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0] in ("forecast", "predict", "fetch") else None)
def test_empty_and_odd_arguments_are_refused(args, words, unchanged):
    code, _, err = cli(*args, *(FAST if args[0] == "forecast" else []), cwd=unchanged)
    refused(code, err, *words)


def test_the_price_file_may_be_given_alone_as_panel_takes_its_path(unchanged):
    """``scratchlstm forecast prices.csv`` reads the file as ``--csv prices.csv`` does (argparse used to
    answer only "unrecognized arguments"), and ``predict`` the same; two different files are refused."""
    code, out, err = cli("forecast", "prices.csv", *FAST, "--out", "out", cwd=unchanged)
    assert code == 0, err
    assert "data: prices.csv:" in out and "200 rows 2020-01-01 to 2020-07-18" in out, out
    code, out, err = cli("predict", "prices.csv", "--checkpoint", "out/model.npz", cwd=unchanged)
    assert code == 0 and "2020-07-18" in out, (out, err)
    for args in (["forecast", "prices.csv", "--csv", "notes.txt"], ["predict", "--csv", "notes.txt", "prices.csv",
                                                                     "--checkpoint", "out/model.npz"]):
        code, _, err = cli(*args, cwd=unchanged)
        assert code == 2 and "two price files" in err and "--csv FILE" in err and "internal error" not in err, err


def test_fetch_writes_the_file_the_readme_reads_next(tmp_path, monkeypatch):
    from scratchlstm import cli as command
    from scratchlstm.data import coingecko

    day = 86_400_000
    start = pd.Timestamp("2024-01-01").value // 1_000_000
    doc = {k: [[start + i * day, 100.0 + i] for i in range(4)] + [[start + 3 * day + 3_600_000, 1.0]]
           for k in ("prices", "market_caps", "total_volumes")}
    original = coingecko.fetch_market_chart
    monkeypatch.setattr(coingecko, "fetch_market_chart", lambda coin, days, vs, opener=None: original(
        coin, days, vs, opener=lambda request, timeout: RecordedResponse(json.dumps(doc).encode())))
    monkeypatch.chdir(tmp_path)
    assert command.main(["fetch", "bitcoin", "--days", "4"]) == 0
    written = [p.name for p in tmp_path.iterdir()]
    readme = (ROOT / "README.md").read_text()
    fetch_line = next(line for line in readme.splitlines() if line.startswith("scratchlstm fetch bitcoin"))
    assert written == ["bitcoin-daily.csv"] and "bitcoin-daily.csv" in fetch_line
    assert "--csv bitcoin-daily.csv" in readme and "BTC-USD" not in readme.split("```bash")[1].split("```")[0]


# ---------------------------------------------------------------------------------------------
# the output folder is the run's own


def test_a_folder_holding_the_users_report_is_refused(unchanged):
    mine = unchanged / "results"
    mine.mkdir()
    (mine / "report.json").write_text('{"mine": true}\n')
    (mine / "run.json").write_text('{"also": "mine"}\n')
    code, _, err = cli("forecast", "--csv", "prices.csv", "--out", "results", *FAST, cwd=unchanged)
    refused(code, err, "holds files scratchlstm did not write", "report.json", "run.json", "new or empty folder")


def test_a_symlinked_out_is_followed_and_its_folder_checked(unchanged):
    mine = unchanged / "results"
    mine.mkdir()
    (mine / "report.json").write_text('{"mine": true}\n')
    (unchanged / "link").symlink_to(mine)
    code, _, err = cli("forecast", "--csv", "prices.csv", "--out", "link", *FAST, cwd=unchanged)
    refused(code, err, "link holds files scratchlstm did not write", "(report.json)")
    (unchanged / "o2").mkdir()
    (unchanged / "out").symlink_to(unchanged / "o2")  # an empty folder behind a link is fine
    code, _, err = cli("forecast", "--csv", "prices.csv", "--out", "out", *FAST, cwd=unchanged)
    assert code == 0 and (unchanged / "out").is_symlink() and manifest_holds(unchanged / "o2"), err


@pytest.mark.parametrize("command", ["forecast", "panel"])
def test_an_out_that_is_a_loop_of_links_is_refused(unchanged, command):
    """Path.resolve() raised RuntimeError on the loop, and both commands exited 3 as with a bug."""
    (unchanged / "loop1").symlink_to(unchanged / "loop2")
    (unchanged / "loop2").symlink_to(unchanged / "loop1")
    source = ["--csv", "prices.csv"] if command == "forecast" else ["prices.csv"]
    code, _, err = cli(command, *source, "--out", "loop1", *FAST, cwd=unchanged)
    refused(code, err, "--out loop1 cannot be followed to a folder", "not a loop of links")


def test_an_out_that_links_to_nothing_is_refused_with_its_target(unchanged):
    """A link to a folder that does not exist failed after training with "cannot write to dang (File exists)"."""
    (unchanged / "loop1").symlink_to(unchanged / "nowhere" / "deeper")
    code, _, err = cli("forecast", "--csv", "prices.csv", "--out", "loop1", *FAST, cwd=unchanged)
    refused(code, err, "--out loop1 is a symbolic link to", "nowhere/deeper, which does not exist; create that folder")


def test_a_file_of_a_previous_run_that_the_user_changed_is_not_replaced(unchanged):
    assert cli("forecast", "--csv", "prices.csv", "--out", "btc", *FAST, cwd=unchanged)[0] == 0
    (unchanged / "btc" / "report.json").write_text('{"edited": "by hand"}\n')
    code, _, err = cli("forecast", "--csv", "prices.csv", "--out", "btc", *FAST, cwd=unchanged)
    refused(code, err, "or changed since it wrote them (report.json)")
    assert (unchanged / "btc" / "report.json").read_text() == '{"edited": "by hand"}\n'


def test_a_second_run_replaces_the_first_whole_and_leaves_no_lock_or_checkpoints(unchanged):
    assert cli("forecast", "--csv", "prices.csv", "--out", "out", *FAST, cwd=unchanged)[0] == 0
    first = files_of(unchanged / "out")
    code, _, err = cli("forecast", "--csv", "prices.csv", "--out", "out", *FAST, "--seed", "1", "--target", "price", cwd=unchanged)
    assert code == 0 and manifest_holds(unchanged / "out"), err
    assert files_of(unchanged / "out")["predictions.csv"] != first["predictions.csv"]
    assert not [p for p in unchanged.iterdir() if p.name.startswith(".")]  # no hidden folder beside it


def test_sigterm_while_the_files_are_written_leaves_the_old_run_whole(unchanged):
    assert cli("forecast", "--csv", "prices.csv", "--out", "out", *FAST, cwd=unchanged)[0] == 0
    old = files_of(unchanged / "out")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "scratchlstm", "forecast", "--csv", "prices.csv", "--out", "out", *FAST,
                             "--seed", "1", "--target", "price"], cwd=unchanged, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline, seen = time.time() + 120, False
    while proc.poll() is None and time.time() < deadline:
        if any(p.name.startswith(".out.") for p in unchanged.iterdir()):  # the new folder is being written
            proc.send_signal(signal.SIGTERM)
            seen = True
            break
        time.sleep(0.001)
    _, err = finish(proc, timeout=60)
    assert seen, "the run ended before its files were being written"
    assert proc.returncode in (0, 143), err
    if proc.returncode == 143:  # the old run whole, beside the stopped run's training state (for --resume)
        assert files_of(unchanged / "out", skip=("checkpoints",)) == old and "terminated" in err
    else:  # the signal came after the swap: the new run whole
        assert manifest_holds(unchanged / "out")
    assert not [p for p in unchanged.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two renames"])
def test_replace_folder_swaps_whole_folders(tmp_path, monkeypatch, exchange):
    import scratchlstm.io as io_module

    if not exchange:  # the way other systems go: two renames with the signals held
        monkeypatch.setattr(io_module, "_exchange", lambda a, b: False)
    target, staged = tmp_path / "out", tmp_path / ".out.1.tmp"
    staged.mkdir()
    (staged / "report.json").write_text("first")
    io_module.replace_folder(staged, target)  # no folder there yet
    staged.mkdir()
    (staged / "report.json").write_text("second")
    (target / "checkpoints").mkdir()
    io_module.replace_folder(staged, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in target.iterdir()] == ["report.json"] and (target / "report.json").read_text() == "second"


def test_the_figure_axis_of_tiny_prices_keeps_their_digits():
    from scratchlstm.forecast import ForecastConfig, run_forecast
    from scratchlstm.forecast.report import forecast_figure
    from tests.helpers import series_from

    prices = 1e-6 * random_walk(150, seed=2) / random_walk(150, seed=2)[0]
    result = run_forecast(series_from(prices), ForecastConfig(window=5, hidden_sizes=(3,), epochs=1, test_size=20, refit_every=None))
    figure = forecast_figure(result)
    figure.canvas.draw()
    axis = figure.axes[0]
    low, high = axis.get_ylim()
    shown = [(tick, label.get_text()) for tick, label in zip(axis.get_yticks(), axis.get_yticklabels()) if low <= tick <= high]
    scale = axis.yaxis.get_offset_text().get_text().replace("\u2212", "-")
    assert len({text for _, text in shown}) == len(shown) > 2 and scale == "1e-6", (shown, scale)
    for tick, text in shown:  # each label, read with the axis's scale, is the price at its tick
        assert float(text.replace("\u2212", "-")) * 1e-6 == pytest.approx(tick, rel=1e-6)


@pytest.mark.parametrize("change, words", [
    (lambda meta, arrays: meta.update(members=2), "do not fit the model it describes"),
    (lambda meta, arrays: meta.update(members=10**6), "records 1000000 members"),
    (lambda meta, arrays: meta.update(members=True), "records True members"),
    (lambda meta, arrays: meta.update(model={**meta["model"], "hidden_sizes": [3000, 3000]}), "do not fit the model it describes"),
    (lambda meta, arrays: arrays.update({"member0/extra": np.zeros(3, np.float32)}), "do not fit the model it describes"),
], ids=["members-2", "members-huge", "members-bool", "other-architecture", "extra-array"])
def test_a_model_file_must_hold_what_its_metadata_describe(tmp_path, change, words):
    from scratchlstm.checkpoint import load_models, save_models
    from scratchlstm.errors import CheckpointError
    from scratchlstm.nn.model import Model, ModelConfig

    save_models(tmp_path / "m.npz", [Model.create(ModelConfig(hidden_sizes=(3,)), seed=0)])
    arrays, meta = read_checkpoint(tmp_path / "m.npz")
    change(meta, arrays)
    write_checkpoint(tmp_path / "bad.npz", arrays, {k: v for k, v in meta.items() if k not in ("format", "format_version")})
    with pytest.raises(CheckpointError, match=words):
        load_models(tmp_path / "bad.npz")


def test_a_big_model_is_refused_above_the_bound_and_loads_below_it(tmp_path):
    from scratchlstm.checkpoint import load_model, load_models, save_models
    from scratchlstm.errors import CheckpointError
    from scratchlstm.nn.model import Model, ModelConfig

    models = [Model.create(ModelConfig(hidden_sizes=(8,)), seed=k) for k in range(2)]
    save_models(tmp_path / "m.npz", models)
    size = sum(4 * int(np.prod(s)) for s in models[0].config.param_shapes().values()) * 2
    with pytest.raises(CheckpointError, match=f"declares {size} bytes of weights"):
        load_models(tmp_path / "m.npz", max_bytes=size - 1)
    loaded, _ = load_models(tmp_path / "m.npz", max_bytes=size)
    assert all(np.array_equal(a.named_params()[k], b.named_params()[k]) for a, b in zip(loaded, models) for k in a.named_params())
    with pytest.raises(CheckpointError, match="holds 2 models whose forecasts are averaged"):
        load_model(tmp_path / "m.npz")


def test_ctrl_c_inside_a_librarys_import_exits_130_not_as_a_bug(monkeypatch, capsys):
    """Ctrl-C landing in matplotlib's import (the first figure prepared after the first fit) came out as that
    import's ImportError, reported as a bug (exit 3)."""
    import scratchlstm.cli as cli

    def import_interrupted(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ImportError("initialization failed") from exc

    monkeypatch.setattr(cli, "_run_forecast", import_interrupted)
    assert cli.main(["forecast", "--quiet"]) == 130
    assert "interrupted" in capsys.readouterr().err

    def a_bug(args):
        raise ImportError("a real one")

    monkeypatch.setattr(cli, "_run_forecast", a_bug)
    assert cli.main(["forecast", "--quiet"]) == 3


@pytest.mark.parametrize("args, said", [
    (["forecast", "prices.csv", "--bogus"], "scratchlstm forecast: error: unrecognized arguments: --bogus"),
    (["forecast", "prices.csv", "--epoks=3"], "scratchlstm forecast: error: unrecognized arguments: --epoks=3 (did you mean "
                                              "--epochs for --epoks?)"),
    (["panel", "prices.csv", "--globl"], "scratchlstm panel: error: unrecognized arguments: --globl (did you mean --global "
                                         "for --globl?)"),
    (["gradcheck", "--stepz", "3"], "scratchlstm gradcheck: error: unrecognized arguments: --stepz 3 (did you mean --steps "
                                    "for --stepz?)"),
    (["--bogus"], "scratchlstm: error: unrecognized arguments: --bogus"),
    # the required option mistyped: it was reported missing ("the following arguments are required: --checkpoint")
    (["predict", "--checkpiont", "m.npz"], "scratchlstm predict: error: unrecognized arguments: --checkpiont (did you mean "
                                           "--checkpoint for --checkpiont?)"),
    (["predict"], "scratchlstm predict: error: the following arguments are required: --checkpoint"),  # and left out
])
def test_an_unknown_option_is_named_by_its_commands_parser_with_the_nearest_option(args, said, unchanged):
    """After a command, an unknown option was answered by the top-level parser, with its usage ("scratchlstm [-h]
    [--debug] COMMAND ..."), not the command's."""
    code, out, err = cli(*args, cwd=unchanged)
    assert code == 2 and out == "", (code, out, err)
    assert err.strip().splitlines()[-1] == said, err
    command = args[0] if not args[0].startswith("-") else ""
    assert err.startswith(f"usage: scratchlstm {command}".rstrip() + " "), err
