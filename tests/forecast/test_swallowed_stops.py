"""A Ctrl-C or SIGTERM that a library swallows is still the command's outcome.

Pressed while pandas imports, Ctrl-C's KeyboardInterrupt can come out of pandas' C code as an ImportError, which an
optional import's ``except ImportError`` then drops: the run went on, to exit 0 after a SIGTERM, to "a worker process
stopped" (exit 2, its worker stopped by the same Ctrl-C), or to "internal error" (exit 3) for the ImportError. The
command line keeps the stops its handlers raised; it honours one after the command's imports, and one behind an
error wins over that error. Each case is made here by a stand-in that swallows the real signal's exception.

The ``scratchlstm`` launcher keeps the stops that arrive while the package imports, before the command line sets
its handlers, and hands them over. A process started with Ctrl-C ignored (``cmd &`` in a script) keeps it ignored
throughout: Python leaves an ignored SIGINT ignored, so the command's first fifth of a second did, and the command
line then took it up, stopping a run that its user meant to shield (and, in a test run started so, ignoring a
Ctrl-C that came before 0.25 s).
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from scratchlstm import cli
from scratchlstm.errors import WorkerError
from tests.forecast.test_early_workers import LAUNCHER
from tests.forecast.test_executors import _group_ends
from tests.helpers import finish


def _swallow(sig) -> None:
    """What such a library does: the signal's exception raised in it, and dropped."""
    try:
        os.kill(os.getpid(), sig)
        time.sleep(1)  # the handler runs in this sleep
    except KeyboardInterrupt:
        pass


@pytest.mark.parametrize("sig, code, said", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_stop_swallowed_while_the_command_imports_ends_it_before_any_work(tmp_path, monkeypatch, capsys, sig, code, said):
    from scratchlstm.forecast import automatic

    planned = automatic.most_fits
    monkeypatch.setattr(automatic, "most_fits", lambda config: (_swallow(sig), planned(config))[1])
    assert cli.main(["forecast", "--out", str(tmp_path / "out"), "--quiet"]) == code
    assert capsys.readouterr().err.strip().splitlines() == [f"scratchlstm forecast: {said}"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("error", [WorkerError("a worker process stopped before its task was done"),
                                   ImportError("pd_datetime.c could not import module pandas")])
def test_an_error_that_a_swallowed_ctrl_c_caused_is_reported_as_the_interruption(tmp_path, monkeypatch, capsys, error):
    def run(args, config, options):
        _swallow(signal.SIGINT)
        raise error

    monkeypatch.setattr(cli, "_forecast", run)
    assert cli.main(["forecast", "--out", str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["scratchlstm forecast: interrupted"]


@pytest.mark.parametrize("error, code", [(WorkerError("a worker process stopped"), 2), (ImportError("no module"), 3)])
def test_the_same_errors_without_a_stop_keep_their_codes(tmp_path, monkeypatch, capsys, error, code):
    def run(args, config, options):
        raise error

    monkeypatch.setattr(cli, "_forecast", run)
    assert cli.main(["forecast", "--out", str(tmp_path / "out")]) == code
    assert "interrupted" not in capsys.readouterr().err


def test_a_stop_from_an_earlier_command_in_the_same_process_is_forgotten(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_forecast", lambda args, config, options: (_swallow(signal.SIGINT), 0)[1])
    assert cli.main(["forecast", "--out", str(tmp_path / "a")]) == 0  # (swallowed after the last check: the run ends)
    monkeypatch.setattr(cli, "_forecast", lambda args, config, options: (_ for _ in ()).throw(WorkerError("w")))
    assert cli.main(["forecast", "--out", str(tmp_path / "b")]) == 2


def test_a_stop_swallowed_while_the_parser_is_built_ends_the_command_before_it_starts(tmp_path, monkeypatch, capsys):
    build = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: (_swallow(signal.SIGINT), build())[1])
    assert cli.main(["forecast", "--out", str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["scratchlstm: interrupted"]
    assert not (tmp_path / "out").exists()


# The console script's entry, after a stand-in for a library whose import meets the signal: ``{swallow}`` says
# whether that library drops the signal's exception (pandas' C code turning it into an ImportError does).
STOPPED_IN_IMPORT = """
import os, sys, time
class StopInImport:
    def find_spec(self, name, path=None, target=None):
        if name == "scratchlstm.cli":
            sys.meta_path.remove(self)
            try:
                os.kill(os.getpid(), {signal})
                time.sleep(5)
            except KeyboardInterrupt:
                if not {swallow}:
                    raise
sys.meta_path.insert(0, StopInImport())
sys.argv[0] = "scratchlstm"
from scratchlstm_launch import run
run()
"""


@pytest.mark.parametrize("sig, code, said", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
@pytest.mark.parametrize("swallow", [True, False], ids=["swallowed", "raised"])
def test_a_stop_while_the_package_imports_ends_the_command_in_one_line(tmp_path, sig, code, said, swallow):
    """Raised, the launcher says it (SIGTERM used to end the process by the signal, silently); swallowed, the command
    line honours it once the parser is built (the run used to go on to the end)."""
    program = STOPPED_IN_IMPORT.format(signal=int(sig), swallow=swallow)
    run = subprocess.run([sys.executable, "-c", program, "forecast", "--out", str(tmp_path / "out"), "--epochs", "2"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == code, run.stderr
    assert run.stderr.strip().splitlines() == [f"scratchlstm: {said}"]
    assert not (tmp_path / "out").exists()


# ``python -c IGNORING PROGRAM ARGS`` runs ``python PROGRAM ARGS`` with Ctrl-C ignored from its start, as a script's
# ``cmd &`` starts it (an exec keeps an ignored signal ignored; a preexec_fn would fork a process that may hold threads)
IGNORING = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"


def test_a_command_started_with_ctrl_c_ignored_ignores_it_throughout_and_sigterm_still_stops_it(tmp_path):
    """As ``scratchlstm forecast ... &`` in a script: Ctrl-C, reaching the whole group while the package imports and
    again while both fits run (one on a worker), stops nothing; SIGTERM then stops it as it always does."""
    run = subprocess.Popen([sys.executable, "-c", IGNORING, "-c", LAUNCHER, "forecast", "--out", str(tmp_path / "out"),
                            "--jobs", "2", "--epochs", "400", "--patience", "none"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    for after in (0.1, 2.5):
        time.sleep(after)
        os.killpg(run.pid, signal.SIGINT)
    time.sleep(1.0)
    assert run.poll() is None, run.communicate()[1]
    os.killpg(run.pid, signal.SIGTERM)
    _, err = finish(run, timeout=60)
    assert run.returncode == 143, err
    assert err.strip().splitlines()[-1] == "scratchlstm forecast: terminated" and "Traceback" not in err, err
    assert _group_ends(run.pid, within=5), "a process of the stopped run is still running"
