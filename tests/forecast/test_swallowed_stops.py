"""A Ctrl-C or SIGTERM that a library swallows is still the command's outcome.

Pressed while pandas imports, Ctrl-C's KeyboardInterrupt can come out of pandas' C code as an ImportError, which an
optional import's ``except ImportError`` then drops: the run went on, to exit 0 after a SIGTERM, to "a worker process
stopped" (exit 2, its worker stopped by the same Ctrl-C), or to "internal error" (exit 3) for the ImportError. The
command line keeps the stops its handlers raised; it honours one after the command's imports, and one behind an
error wins over that error. Each case is made here by a stand-in that swallows the real signal's exception.
"""

import os
import signal
import time

import pytest

from scratchlstm import cli
from scratchlstm.errors import WorkerError


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
