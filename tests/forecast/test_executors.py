"""Independent tasks on several local processes: this one takes part, results come back in task order,
a task's error is the task's own, a worker that dies is named, and the walk-forward's fits give the
same numbers on one process as on two."""

import math
import operator
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from scratchlstm.errors import ConfigError, WorkerError
from scratchlstm.forecast import ForecastConfig, run_forecast
from scratchlstm.forecast.executors import map_tasks

from tests.helpers import finish

from .test_panel import ar_returns_series


def test_results_come_back_in_task_order_and_this_process_takes_part():
    done = []
    values = map_tasks(operator.mul, [(k, 3) for k in range(7)], jobs=2, on_done=lambda k, v: done.append((k, v)))
    assert values == [3 * k for k in range(7)]
    assert sorted(done) == [(k, 3 * k) for k in range(7)]  # once per task, each with its own value
    pids = map_tasks(os.getpid, [()] * 6, jobs=2)
    assert os.getpid() in pids  # jobs=2 is this process and one worker, not two workers beside an idle one
    assert len(set(pids)) == 2


def _sleep_then_pid(seconds):
    time.sleep(seconds)
    return os.getpid()


def test_no_task_waits_behind_a_busy_worker_while_this_process_is_free():
    """A worker is handed its next task only when it finishes one: the short tasks all run here while the worker
    is busy with the long first one (with tasks queued ahead in the worker, one waited there for it)."""
    pids = map_tasks(_sleep_then_pid, [(3.0,), (0.05,), (0.05,), (0.05,)], jobs=2)
    assert pids[0] != os.getpid()
    assert pids[1:] == [os.getpid()] * 3


def test_workers_done_before_this_process_do_not_leave_it_waiting():
    """The workers finish first and the dispatching thread ends while this process still runs its own task: the
    call returned nothing, for ever (the main job's usual case, its last fit being the longest)."""
    import threading

    out = []
    call = threading.Thread(target=lambda: out.append(map_tasks(_sleep_then_pid, [(0.0,), (0.0,), (3.0,)], jobs=2)), daemon=True)
    call.start()
    call.join(timeout=60)
    assert not call.is_alive(), "map_tasks never returned"
    assert out[0][2] == os.getpid() and len(out[0]) == 3


def test_this_process_runs_its_own_function_for_its_tasks():
    """``here`` is what this process calls (with a progress display, in the walk-forward); workers call ``function``."""
    values = map_tasks(operator.add, [(1, 1), (2, 2)], jobs=2, here=operator.mul)
    assert values == [2, 4]  # task 0 on the worker (1 + 1), task 1, the last, here (2 * 2)
    assert map_tasks(operator.add, [(1, 1), (2, 2)], jobs=1, here=operator.mul) == [1, 4]


def test_an_error_in_a_worker_is_the_tasks_own_error():
    with pytest.raises(ValueError, match="math domain error"):
        map_tasks(math.sqrt, [(-1.0,), (4.0,)], jobs=2)  # the first task goes to the worker


def test_a_worker_that_dies_is_named_with_what_to_do():
    with pytest.raises(WorkerError, match="--jobs 1"):
        map_tasks(os._exit, [(3,), (0,)], jobs=2, here=lambda code: code)  # the worker exits in its task


def _pid_and_kernel_threads(seconds):
    from scratchlstm.nn.kernels.threads import kernel_threads
    time.sleep(seconds)
    return os.getpid(), kernel_threads()


def test_the_processes_share_the_cores_for_the_compiled_kernels_slices():
    from scratchlstm.forecast.executors import local_cores
    from scratchlstm.nn.kernels.threads import kernel_threads
    here = kernel_threads()
    seen = map_tasks(_pid_and_kernel_threads, [(0.5,), (0.5,)], jobs=2)
    assert len({pid for pid, _ in seen}) == 2  # one task in the worker, one here
    assert [threads for _, threads in seen] == [max(1, local_cores() // 2)] * 2
    assert kernel_threads() == here  # given back once the tasks are done


def test_jobs_below_one_is_refused():
    with pytest.raises(ConfigError, match="at least 1"):
        map_tasks(operator.mul, [(1, 2)], jobs=0)


def test_walk_forward_fits_on_two_processes_give_the_same_numbers_as_on_one():
    """Three fits per seed, two seeds: every forecast, loss curve and weight is the same bit for bit."""
    series = ar_returns_series(5, n=260)
    config = ForecastConfig(epochs=3, hidden_sizes=(8,), season=1, window=10, test_size=30, refit_every=10, val_fraction=0.25,
                            seeds=2)
    one = run_forecast(series, config, quiet=True, jobs=1)
    reported = []
    two = run_forecast(series, config, quiet=True, jobs=2, on_fit=lambda k, n, fit: reported.append((k, n)))
    assert sorted(reported) == sorted([(k, 3) for k in range(3)] * 2)  # each fit of each seed, once
    for a, b in zip(one.seed_forecasts, two.seed_forecasts):
        np.testing.assert_array_equal(a, b)
    for name in one.forecasts:
        np.testing.assert_array_equal(one.forecasts[name], two.forecasts[name])
    assert len(one.fits) == len(two.fits) == 3
    for a, b in zip(one.fits, two.fits):
        assert a.history.train_loss == b.history.train_loss and a.history.val_loss == b.history.val_loss
        assert a.kept_untrained == b.kept_untrained and a.p_value == b.p_value
        for key, value in a.model.named_params().items():
            np.testing.assert_array_equal(value, b.model.named_params()[key], err_msg=key)
    for level in one.intervals.levels:
        np.testing.assert_array_equal(one.intervals.forecasters["model"].lower[level], two.intervals.forecasters["model"].lower[level])


def test_cli_forecast_takes_jobs_and_refuses_zero(tmp_path):
    run = subprocess.run([sys.executable, "-m", "scratchlstm", "forecast", "--help"], capture_output=True, text=True)
    assert "--jobs" in run.stdout and "one per core" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "scratchlstm", "forecast", "--jobs", "0", "--out", str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--jobs" in bad.stderr and "Traceback" not in bad.stderr


def _start_run(out, fits, epochs, jobs=2):
    """``scratchlstm forecast`` in its own process group with ``fits`` walk-forward fits, returned once both processes'
    first fits (the first task on the worker, the last here) have saved an epoch."""
    settings = ["--test-size", str(20 * fits), "--refit-every", "20", "--epochs", str(epochs), "--patience", "none",
                "--hidden", "24", "--window", "20"]
    command = [sys.executable, "-m", "scratchlstm", "forecast", "--out", str(out), *settings, "--jobs", str(jobs)]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    both = [out / "checkpoints" / f"fit-0-{k}.npz" for k in (0, fits - 1)]
    deadline = time.monotonic() + 120
    while not all(p.exists() for p in both) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before both processes' fits were under way: make it longer"
    return run, command, settings


def _group_ends(pgid, within):
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _resume_gives_the_uninterrupted_result(tmp_path, out, command, settings):
    """``--resume`` of a stopped run finishes it, to the predictions of the same run never stopped (on one process)."""
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    whole = tmp_path / "whole"
    fresh = subprocess.run([sys.executable, "-m", "scratchlstm", "forecast", "--out", str(whole), *settings, "--jobs", "1"],
                           capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr
    assert (out / "predictions.csv").read_bytes() == (whole / "predictions.csv").read_bytes()


def test_ctrl_c_stops_every_process_and_resume_gives_the_uninterrupted_result(tmp_path):
    """Ctrl-C in a terminal reaches the whole process group: the command exits 130 with the resume hint, no
    worker is left running, and --resume finishes both fits to the numbers of a run never interrupted."""
    import signal

    out = tmp_path / "out"
    run, command, settings = _start_run(out, fits=2, epochs=60)
    os.killpg(run.pid, signal.SIGINT)
    _, err = finish(run, timeout=60)
    assert run.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    assert _group_ends(run.pid, within=5), "a process of the interrupted run is still running"
    assert not list(out.rglob("*.tmp"))
    _resume_gives_the_uninterrupted_result(tmp_path, out, command, settings)


def test_ctrl_c_pressed_three_times_quickly_still_exits_130_once(tmp_path):
    """Two or three presses 50 ms apart: the later ones landed in the stop, or in the interpreter's shutdown after
    "interrupted" was said, and ended the process by SIGINT (returncode -2)."""
    import signal
    import time

    for attempt in range(3):
        out = tmp_path / f"out{attempt}"
        run, _, _ = _start_run(out, fits=2, epochs=200)
        for _ in range(3):
            os.killpg(run.pid, signal.SIGINT)
            time.sleep(0.05)
        _, err = finish(run, timeout=60)
        assert run.returncode == 130, err
        assert err.count("forecast: interrupted") == 1 and "Traceback" not in err, err
        assert _group_ends(run.pid, within=5), "a process of the interrupted run is still running"


def test_a_run_killed_outright_resumes_past_the_temporary_file_of_its_last_write(tmp_path):
    """SIGKILL (or a power cut) in the middle of a checkpoint's write leaves its temporary file: the folder is still
    the run's own, and --resume finishes it to the numbers of a run never stopped."""
    import signal

    out = tmp_path / "out"
    run, command, settings = _start_run(out, fits=2, epochs=60)
    os.killpg(run.pid, signal.SIGKILL)
    finish(run, timeout=60)
    assert _group_ends(run.pid, within=5)
    (out / "checkpoints" / ".fit-0-1.npz.k1ll3d00.tmp").write_bytes(b"half a checkpoint")  # as an interrupted write leaves it
    _resume_gives_the_uninterrupted_result(tmp_path, out, command, settings)


@pytest.mark.parametrize("how", ["SIGTERM to the command", "Ctrl-C to the group", "SIGKILL to the command"])
def test_a_worker_with_a_fit_queued_stops_at_once(tmp_path, how):
    """Four fits on two processes: the worker has a fit running and the next one queued. Stopped, it must not go
    on to the queued fit (it did: 5 to 20 s more of training and checkpoint writes after the signal)."""
    import signal
    import time

    out = tmp_path / "out"
    run, _, _ = _start_run(out, fits=4, epochs=400)
    start = time.monotonic()
    if how == "SIGTERM to the command":
        run.send_signal(signal.SIGTERM)
    elif how == "Ctrl-C to the group":
        os.killpg(run.pid, signal.SIGINT)
    else:
        run.kill()
    _, err = finish(run, timeout=60)
    assert run.returncode == {"SIGTERM to the command": 143, "Ctrl-C to the group": 130}.get(how, -9), err
    assert _group_ends(run.pid, within=3), "a worker is still running"
    assert time.monotonic() - start < 4
    if how != "SIGKILL to the command":  # a process killed outright may leave the temporary file of the write it was in
        assert not list(out.rglob("*.tmp"))  # (harmless: --resume goes on past it, test_a_run_killed_outright_...)
    written = {p.name: p.stat().st_mtime for p in (out / "checkpoints").glob("*fit-*")}
    time.sleep(1)
    assert {p.name: p.stat().st_mtime for p in (out / "checkpoints").glob("*fit-*")} == written  # nothing writes any more


def test_a_script_read_from_stdin_is_refused_before_any_worker_starts():
    script = ("from scratchlstm.forecast.executors import map_tasks\n"
              "import operator\n"
              "print(map_tasks(operator.mul, [(1, 2), (3, 4)], jobs=2))\n")
    run = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "is not a file (read from stdin?)" in run.stderr and "jobs=1" in run.stderr
    assert "spawn" not in run.stderr  # no worker started (its traceback would name multiprocessing.spawn)


def _fail_fast_or_sleep(seconds):
    import time

    if seconds == 0:
        raise ValueError("the worker's task failed")
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # Python instructions, as in training, not one long call
        time.sleep(0.01)
    return os.getpid()


def test_ctrl_c_here_stays_the_outcome_when_a_worker_fails_while_this_task_saves_its_state():
    """Ctrl-C to the group: this process's fit was saving its state (inside the handling of the KeyboardInterrupt) when
    the worker, stopping under the same Ctrl-C, ended and broke the pool; the news of that interrupted the saving,
    and the command exited 2 with "a worker process stopped before its task was done" instead of 130."""
    import time

    def here(seconds):  # Ctrl-C lands at once; the state is then saved for a while
        try:
            raise KeyboardInterrupt
        finally:
            end = time.monotonic() + 20
            while time.monotonic() < end:
                time.sleep(0.01)

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as raised:
        map_tasks(_fail_fast_or_sleep, [(0,), (60,)], jobs=2, here=here)  # the worker's task fails while here saves
    assert type(raised.value) is KeyboardInterrupt and time.monotonic() - start < 15


def test_a_task_failing_in_a_worker_stops_this_processs_task_at_once():
    """The worker fails in a second while this process's own task would take a minute: the error comes
    at once, not when this process's task ends (with one process the error would also come at once)."""
    import time

    start = time.monotonic()
    with pytest.raises(ValueError, match="the worker's task failed"):
        map_tasks(_fail_fast_or_sleep, [(0,), (60,)], jobs=2)  # task 0 on the worker, task 1 here
    assert time.monotonic() - start < 30

