"""The output folder is one unit: replaced together or not at all, locked while in use, safe on every exit path.

Most cases run the real command line in a subprocess, as a user or a script would.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scratchlstm.cli import main
from scratchlstm.forecast import ForecastConfig, run_forecast
from scratchlstm.forecast.output_folder import MANIFEST
from scratchlstm.forecast.report import RESULT_FILES
from scratchlstm.io import folder_lock
from tests.helpers import dated_rows, finish, random_walk, series_from

FAST = ["--quiet", "--epochs", "2", "--window", "5", "--hidden", "4", "--test-size", "20", "--refit-every", "none"]
SLOW = ["--epochs", "300", "--patience", "none", "--window", "5", "--hidden", "4", "--test-size", "20", "--refit-every", "10"]


@pytest.fixture
def prices_csv(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(dated_rows(list(random_walk(300, seed=4))))
    return str(path)


def cli(*args, env=None, **kwargs):
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "scratchlstm", *args], capture_output=True, encoding="utf-8", errors="replace",
                          env=environment, timeout=300, **kwargs)


def _result():
    config = ForecastConfig(window=5, hidden_sizes=(3,), epochs=1, test_size=20, refit_every=None)
    return run_forecast(series_from(random_walk(150)), config)


def test_a_run_writes_its_files_and_a_manifest_naming_them(tmp_path):
    paths = _result().save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert set(manifest["files"]) == set(RESULT_FILES) == {p.name for p in paths.values()}
    import hashlib

    for name, digest in manifest["files"].items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(RESULT_FILES + (MANIFEST,))


def test_a_failed_write_leaves_the_previous_run_whole_and_no_temporary_files(tmp_path, monkeypatch):
    first = _result()
    first.save(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    import scratchlstm.forecast.report as report

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report, "save_models", disk_full)  # the last file of the set fails
    with pytest.raises(OSError):
        _result().save(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_full_disk_is_exit_2_with_one_line(tmp_path, monkeypatch, capsys):
    import scratchlstm.forecast.report as report

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "model.npz"))

    monkeypatch.setattr(report, "save_models", disk_full)
    assert main(["forecast", "--out", str(tmp_path / "o"), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and len(err.splitlines()) == 1 and "bug" not in err
    assert not [p for p in (tmp_path / "o").iterdir() if p.name.endswith(".tmp")]


def test_out_naming_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "report.txt"
    target.write_text("mine")
    assert main(["forecast", "--out", str(target), *FAST]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err and target.read_text() == "mine"


def test_out_dot_is_refused_and_leaves_the_folder_as_it_was(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "prices.csv").write_text(dated_rows(list(random_walk(150))))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    proc = cli("forecast", "--csv", "prices.csv", "--out", ".", *FAST, cwd=tmp_path)
    assert proc.returncode == 2 and "is the current folder" in proc.stderr and "--out ./forecast-out" in proc.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_successful_run_leaves_no_lock_and_no_checkpoints(tmp_path):
    proc = cli("forecast", "--out", str(tmp_path / "o"), *FAST)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted(RESULT_FILES + (MANIFEST,))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]  # nor a hidden folder beside it


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path):
    with folder_lock(tmp_path):
        proc = cli("forecast", "--out", str(tmp_path), *FAST)
    assert proc.returncode == 2 and "is in use by another scratchlstm run (pid" in proc.stderr
    assert not (tmp_path / "report.json").exists()
    assert cli("forecast", "--out", str(tmp_path), *FAST).returncode == 0  # free again once released


def _start_slow_run(out: Path, csv: str):
    """A run started in a subprocess, returned once it has saved a training checkpoint and is still training."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "scratchlstm", "forecast", "--csv", csv, "--out", str(out), "--quiet", *SLOW],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not list((out / "checkpoints").glob("fit-*.npz")) and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # a few more epochs
    assert proc.poll() is None, "the run ended before it could be interrupted"
    return proc


def test_kill_9_leaves_no_stale_lock_and_resume_gives_the_same_result(tmp_path, prices_csv):
    ref = tmp_path / "ref"
    assert cli("forecast", "--csv", prices_csv, "--out", str(ref), "--quiet", *SLOW).returncode == 0
    out = tmp_path / "run"
    proc = _start_slow_run(out, prices_csv)
    proc.kill()  # SIGKILL: no handler runs
    proc.communicate()
    resumed = cli("forecast", "--csv", prices_csv, "--out", str(out), "--quiet", "--resume", *SLOW)
    assert resumed.returncode == 0, resumed.stderr  # the lock died with the process
    for name in ("predictions.csv", "report.json"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name


def test_sigterm_is_handled_like_ctrl_c(tmp_path, prices_csv):
    out = tmp_path / "run"
    proc = _start_slow_run(out, prices_csv)
    proc.send_signal(signal.SIGTERM)
    _, err = finish(proc, timeout=60)
    assert proc.returncode == 143 and "terminated" in err and "--resume" in err
    assert list((out / "checkpoints").glob("fit-*.npz"))  # the training state was saved
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no temporary file left behind
    assert not (out / "report.json").exists()


def test_a_closed_stdout_loses_no_result(tmp_path):
    command = f"{sys.executable} -m scratchlstm forecast --out {tmp_path} {' '.join(FAST)} | head -1"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert proc.stdout.startswith("data:") and len(proc.stdout.splitlines()) == 1
    assert proc.returncode == 0, proc.stderr
    assert all((tmp_path / name).exists() for name in RESULT_FILES)


def test_a_bogus_matplotlib_backend_breaks_no_subcommand(tmp_path):
    env = {"MPLBACKEND": "bogus"}
    assert cli("forecast", "--out", str(tmp_path), *FAST, env=env).returncode == 0
    assert cli("predict", "--checkpoint", str(tmp_path / "model.npz"), env=env).returncode == 0
    assert cli("gradcheck", "--steps", "2", env=env).returncode == 0


def test_a_file_name_that_is_not_utf8_works(tmp_path):
    path = tmp_path / os.fsdecode(b"prices-\xff.csv")  # surrogate-escaped, as Python sees such a name
    path.write_text(dated_rows(list(random_walk(150))))
    proc = cli("forecast", "--csv", str(path), "--out", str(tmp_path / "o"), *FAST)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["data"]["source"].endswith(".csv")


def test_written_files_respect_the_umask(tmp_path):
    proc = subprocess.run(["bash", "-c", f"umask 027 && {sys.executable} -m scratchlstm forecast --out {tmp_path} {' '.join(FAST)}"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in RESULT_FILES + (MANIFEST,):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o640, name


@pytest.mark.parametrize("args, message", [
    (["forecast", "--csv", ""], "--csv is empty"),
    (["predict", "--checkpoint", "x.npz", "--csv", " "], "--csv is empty"),
])
def test_empty_file_arguments_are_refused(args, message, capsys):
    assert main(args) == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("doc, message", [
    ({"hidden_sizes": "32"}, "hidden_sizes must be a list of integers such as [32, 32], got the string '32'"),
    ({"epochs": "30"}, "epochs must be an integer or null, got the string '30'"),
    ({"lr": True}, "lr must be a number, got True"),
    ({"window": 0}, "window must be at least 1"),
    ({"windw": 30}, "has unknown keys ['windw'] (did you mean 'window'?); known keys: "),
    ({"epoch": 3, "test-size": 20}, "has unknown keys ['epoch', 'test-size'] (did you mean 'epochs' for 'epoch', 'test_size' for "
                                    "'test-size'?)"),
    ({"zzzz": 1}, "has unknown keys ['zzzz']; known keys: "),  # nothing near it: no guess
    ([1, 2], "must be a JSON object"),
])
def test_config_files_are_checked_field_by_field(doc, message, tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    assert main(["forecast", "--config", str(path), *FAST]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_nan_in_a_config_file_is_refused(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text('{"lr": NaN}')
    assert main(["forecast", "--config", str(path), *FAST]) == 2
    assert "NaN is not a number a setting can take" in capsys.readouterr().err


def test_a_parent_folder_that_cannot_be_written_is_refused_before_any_training(tmp_path, capsys, monkeypatch):
    """It was found when the files were written, after every fit had trained. (Root may write anywhere, so the
    permission is taken from os.access, which the check asks.)"""
    from scratchlstm.forecast import output_folder, run as run_module

    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(output_folder.os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode))
    trained = []
    monkeypatch.setattr(run_module, "walk_forward_seeds", lambda *a, **k: trained.append(1))
    prices = tmp_path / "p.csv"
    prices.write_text(dated_rows(list(random_walk(90, seed=3))))
    for out in (locked / "out", locked / "deeper" / "out"):
        code = main(["forecast", "--csv", str(prices), "--out", str(out), "--quiet", "--epochs", "1"])
        err = capsys.readouterr().err
        assert code == 2 and f"cannot write to {locked} (permission denied)" in err and not trained, err
