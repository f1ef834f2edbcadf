"""Worker processes started before their tasks (``executors.workers_started_early``).

The main job's second fit runs on a worker process, whose start (a fresh interpreter importing NumPy and the fit's
modules) used to begin only when the fits did; ``scratchlstm forecast`` now starts it while it imports pandas and
reads the data. What must hold: the tasks' ``map_tasks`` takes those workers, which imported the tasks' modules as
they started, with the same results; one that needs another number of workers starts its own and the early ones
stop; a block that never reaches its tasks (a file refused, an error, Ctrl-C) leaves no process behind; and the
number of fits planned before the data is read is never below the number the walk-forward makes.
"""

import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest

from scratchlstm.errors import DataError
from scratchlstm.forecast import ForecastConfig
from scratchlstm.forecast.automatic import most_fits, resolved
from scratchlstm.forecast.executors import map_tasks, workers_started_early
from scratchlstm.forecast.protocol import refit_cutoffs

from tests.helpers import finish

from .test_executors import _group_ends

PROBE = "tabnanny"  # a module nothing imports (a checker of indentation): only a worker's start can have imported it


def _pid_and_probe() -> tuple[int, bool]:
    return os.getpid(), PROBE in sys.modules


def _children() -> set[int]:
    return {p.pid for p in multiprocessing.active_children()}


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive.add(pid)
        except ProcessLookupError:
            pass
    return alive & _children()


def test_the_tasks_run_on_the_workers_started_early_which_imported_their_modules_as_they_started():
    assert PROBE not in sys.modules
    before = _children()
    with workers_started_early(2, 4, imports=(PROBE,)):
        early = _children() - before
        assert len(early) == 1  # jobs 2: this process and one worker
        values = map_tasks(_pid_and_probe, [()] * 4, jobs=2)
    workers = {pid for pid, _ in values} - {os.getpid()}
    assert workers == early
    assert all(probe for pid, probe in values if pid in early)  # imported before its first task
    assert PROBE not in sys.modules  # ... in the worker only


def test_a_map_tasks_that_needs_another_number_of_workers_starts_its_own_and_the_early_ones_stop():
    before = _children()
    with workers_started_early(3, 3):
        early = _children() - before
        assert len(early) == 2
        values = map_tasks(_pid_and_probe, [()] * 3, jobs=2)  # one worker
        assert not _alive(early)
    assert not ({pid for pid, _ in values} & early)
    assert len({pid for pid, _ in values}) == 2


def test_workers_the_block_did_not_use_are_stopped_at_its_end_and_at_an_error():
    before = _children()
    with workers_started_early(2, 2):
        unused = _children() - before
    assert len(unused) == 1 and not _alive(unused)
    with pytest.raises(ValueError):
        with workers_started_early(2, 2):
            unused = _children() - before
            raise ValueError("the data were refused")
    assert len(unused) == 1 and not _alive(unused)


@pytest.mark.parametrize("jobs, most_tasks", [(1, 4), (2, 1), (2, 0)])
def test_nothing_starts_where_the_tasks_will_run_here(jobs, most_tasks):
    before = _children()
    with workers_started_early(jobs, most_tasks):
        assert _children() == before


@pytest.mark.parametrize("settings", [{}, {"refit_every": 50}, {"refit_every": None}, {"test_size": 37, "refit_every": 10},
                                      {"test_size": 300, "refit_every": 125}, {"test_size": 0.3}])
def test_the_fits_planned_before_the_data_are_never_fewer_than_the_walk_forward_makes(settings):
    config = ForecastConfig(**settings)
    planned = most_fits(config)
    made = []
    for n in (150, 400, 1000, 3270, 20000):
        try:
            made.append(len(refit_cutoffs(n, resolved(config, n))))
        except DataError:  # a series too short for the test span: refused before any fit
            pass
    if planned is None:  # a fraction of the series: its length decides
        assert settings["test_size"] < 1 and len(set(made)) > 1
    else:
        assert max(made) == planned  # reached by a long enough series, never passed


LAUNCHER = "import sys; sys.argv[0] = 'scratchlstm'; from scratchlstm_launch import run; run()"  # the console script's


def _run(*args):
    """``scratchlstm forecast ARGS`` as the console script runs it, in a process group of its own."""
    return subprocess.Popen([sys.executable, "-c", LAUNCHER, "forecast", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_a_forecast_refused_after_its_worker_started_leaves_no_process(tmp_path):
    (tmp_path / "words.csv").write_text("date,close\nmonday,high\ntuesday,low\n")  # a file, but no prices
    run = _run("--csv", str(tmp_path / "words.csv"), "--out", str(tmp_path / "out"), "--jobs", "2")
    _, err = finish(run, timeout=120)
    assert run.returncode == 2, err
    assert "Traceback" not in err
    assert _group_ends(run.pid, within=3), "the worker started for the fits is still running"


def test_no_worker_starts_for_a_price_file_that_is_not_there(tmp_path, monkeypatch, capsys):
    """Refused at once: ``--jobs 40`` started 39 workers first, and said so after 5 s."""
    from scratchlstm import cli
    from scratchlstm.forecast import executors

    started = []
    monkeypatch.setattr(executors, "_new_pool", lambda *a, **k: started.append(a))
    assert cli.main(["forecast", "--csv", str(tmp_path / "no-such-file.csv"), "--out", str(tmp_path / "out"), "--jobs", "40"]) == 2
    assert "no-such-file.csv" in capsys.readouterr().err and started == []


@pytest.mark.parametrize("after", [0.2, 0.4, 0.6, 0.9])
def test_ctrl_c_while_the_worker_starts_and_the_data_load_exits_130_and_leaves_no_process(tmp_path, after):
    """At 0.2 s Ctrl-C lands while Python imports the package (said by the launcher), at 0.4 s while this process
    imports pandas and its worker starts, later as the fits begin: each time one line, 130, and no process left."""
    run = _run("--out", str(tmp_path / "out"), "--jobs", "2", "--epochs", "400", "--patience", "none")
    time.sleep(after)
    os.killpg(run.pid, signal.SIGINT)
    _, err = finish(run, timeout=60)
    assert run.returncode == 130, err
    assert "Traceback" not in err and len([line for line in err.splitlines() if line.endswith(": interrupted")]) == 1, err
    assert _group_ends(run.pid, within=5), "a process of the interrupted run is still running"


def _deaf_to_stop_signals(ready):
    """A task during which neither SIGTERM nor Ctrl-C is handled, as for a worker asleep in a C call when they came."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    open(ready, "w").close()
    time.sleep(120)


def test_a_worker_that_does_not_end_when_told_is_killed_after_the_grace(tmp_path):
    """An idle worker waiting for the task queue's lock did not handle a SIGTERM that came just before its wait, and
    the pool's shutdown waited for it for ever (Ctrl-C while two workers started): it is now killed after the grace."""
    from scratchlstm.forecast import executors

    ready = tmp_path / "ready"
    before = _children()
    pool = executors._new_pool(1)
    pool.submit(_deaf_to_stop_signals, str(ready))
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    worker = _children() - before
    assert ready.exists() and len(worker) == 1
    import threading

    stopping = threading.Thread(target=executors._stop_pool, args=(pool,), kwargs={"grace": 0.5}, daemon=True)
    stopping.start()
    stopping.join(timeout=10)
    alive = _alive(worker)
    for pid in alive:  # (a failure must not leave the worker behind)
        os.kill(pid, signal.SIGKILL)
    assert not stopping.is_alive(), "the pool's shutdown is still waiting for its worker"
    assert not alive
