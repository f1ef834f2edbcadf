"""Where independent tasks run: in this process, on local cores, or on a Dask cluster.

The tasks are the series of a panel and the fits of one walk-forward: each is independent (its own
seed, its own data), so the results do not depend on which process runs which task, or in what order
they finish: ``map_tasks`` returns them in the order of the tasks. On local cores this process runs
tasks too, taking them from the end of the list while worker processes take them from the front, so
``jobs=2`` is this process and one worker. The workers are fresh processes (``spawn``), which start
from the same state whatever the parent did before. Ctrl-C stops their tasks as it stops this
process's own, and this process stops them when it is interrupted or terminated or a task fails; a
worker whose parent is gone ends by itself. A script that runs tasks on several processes
therefore needs the usual ``if __name__ == "__main__":`` guard around its main code.

Every panel task runs with one BLAS thread (``one_blas_thread``): a matrix product split over two
threads can round differently from the same product on one (OpenBLAS does), so without this a series
would give other digits on a Dask worker, which limits its threads to one, than in a process that
does not. On a cluster the task function and its arguments travel to the workers by pickling, so
those workers need scratchlstm installed at the same version.
"""

from __future__ import annotations

import _thread
import importlib
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing import get_context
from multiprocessing.connection import wait as connection_wait
from typing import Any, Callable, Iterator, Sequence

from ..errors import ConfigError, WorkerError, exception_chain
from ..nn.kernels.threads import forget_blas_libraries, kernel_threads_at_most, limit_kernel_threads, local_cores
from ..nn.kernels.threads import one_blas_thread as kernels_one_blas_thread

INSTALL_DASK = "pip install 'distributed>=2024.1', or pip install -e '.[dask]' in scratchlstm's folder"


def local_processes(jobs: int | None, n_tasks: int) -> int:
    """How many local processes, this one included, ``map_tasks`` runs ``n_tasks`` tasks on: ``jobs`` (None: one
    per core), and never more than there are tasks."""
    return max(1, min(local_cores() if jobs is None else jobs, n_tasks))


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with the BLAS library limited to one thread, so that its sums are always made
    in the same order. Threads of one process (a threaded Dask worker) share the limit: the first
    to enter sets it, the last to leave restores the previous setting. It is the kernels' own hold
    (``nn.kernels.threads.one_blas_thread``), so that a task's hold and a kernel call's never restore
    each other's setting; the BLAS libraries are looked up again first, as a task may have loaded one."""
    forget_blas_libraries()
    with kernels_one_blas_thread():
        yield


def map_tasks(function: Callable, tasks: Sequence[tuple], *, jobs: int | None = None, scheduler: Any = None,
              on_done: Callable[[int, Any], None] | None = None, here: Callable | None = None) -> list:
    """``[function(*task) for task in tasks]``, run in parallel.

    Parameters
    ----------
    function : callable
        A module-level function, or a ``functools.partial`` of one (it is pickled to the workers).
    tasks : sequence of tuple
        The arguments of each call.
    jobs : int, optional
        Local processes, this one included: 1 runs every task here; 2 runs them here and on one
        worker process; None: one per core.
    scheduler : str or distributed.Client, optional
        The address of a Dask scheduler (``tcp://host:8786``) or a connected client: the tasks run on
        its workers instead (``jobs`` is then ignored).
    on_done : callable, optional
        ``on_done(k, value)`` as each task finishes (in the order they finish), called in this thread.
    here : callable, optional
        What this process calls instead of ``function`` for the tasks it runs itself (the same
        computation with a progress display, say); default ``function``.

    Returns
    -------
    values : list
        One per task, in the order of ``tasks``.
    """
    done = on_done or (lambda k, value: None)
    if scheduler is not None:
        return _on_dask(function, tasks, scheduler, done)
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    processes = local_processes(jobs, len(tasks))
    here = here or function
    if processes == 1:
        values: list = [None] * len(tasks)
        for k, task in enumerate(tasks):
            values[k] = here(*task)
            done(k, values[k])
        return values
    return _on_local_processes(function, here, tasks, processes - 1, done)


_in_task = False  # in a worker process: whether it is running a task now
_stopping = False  # in a worker process: whether it was told to stop (it then takes no further task)


def _start_worker(parent: int, kernel_threads: int, imports: Sequence[str] = ()) -> None:
    """A worker's start. Ctrl-C (which reaches every process of the terminal's group) and the parent's
    ``terminate`` stop a running task as Ctrl-C stops this process's own (training saves its state, temporary
    files are removed), and the worker then ends instead of taking a task that is already queued for it; an
    idle worker just ends. A worker also ends when its parent is gone (killed with SIGKILL, say): otherwise it
    would finish its task, writing checkpoints into a folder that a resumed run may be using, and wait for
    tasks forever, holding the terminal's or the caller's pipes open."""
    for sig in _HELD:
        if signal.getsignal(sig) is not signal.SIG_IGN:  # ignored by the parent (started with '&' by a script): kept so
            signal.signal(sig, _stop)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)  # held since the parent started this process
    threading.Thread(target=_end_with_parent, args=(parent,), daemon=True).start()
    limit_kernel_threads(kernel_threads)  # this process's share of the cores, for the compiled kernel's slices
    for module in imports:  # the tasks' own modules, while the parent is still busy (``workers_started_early``)
        importlib.import_module(module)


def _stop(signum, frame) -> None:
    global _stopping
    _stopping = True
    if _in_task:
        raise KeyboardInterrupt  # _run_task ends the process once the task has stopped
    os._exit(1)


def _end_with_parent(parent: int, every: float = 0.2, grace: float = 5.0) -> None:
    if hasattr(signal, "pthread_sigmask"):  # Ctrl-C and SIGTERM go to the main thread, whose sleep they interrupt: one
        signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)  # taken by this thread left an idle worker asleep for ever
    while os.getppid() == parent:
        time.sleep(every)
    os.kill(os.getpid(), signal.SIGTERM)  # the task stops as above, if one is running
    time.sleep(grace)  # a task inside one long library call notices the signal when the call returns
    os._exit(1)


def _run_task(function: Callable, *args) -> Any:
    """``function(*args)`` in a worker, marked as a running task for ``_stop``."""
    global _in_task
    if _stopping:
        os._exit(1)
    _in_task = True
    try:
        return function(*args)
    finally:
        _in_task = False
        if _stopping:
            os._exit(1)


_HELD = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_held_while_workers_start() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back from this process while it starts worker processes, and deliver them after.

    Arriving in the middle of a process's start, either left a half-started worker that nothing stopped (and
    the pool's shutdown waiting for it for ever) or an error that hid the real one. The workers inherit the
    held signals and take them once ``_start_worker`` has set its handler: a Ctrl-C while they import would
    otherwise print each one's traceback. (Where signals cannot be blocked, on Windows, they are only recorded.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived = []
    handlers = {sig: signal.signal(sig, lambda signum, frame: arrived.append(signum)) for sig in _HELD  # one already on
                if signal.getsignal(sig) is not signal.SIG_IGN}  # its way runs here, recorded, not inside a process's start;
    # an ignored one stays ignored, here and in the workers, which inherit that
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD) if hasattr(signal, "pthread_sigmask") else None
    try:
        yield
    finally:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        for sig in arrived:
            signal.raise_signal(sig)  # delivered now, to this process's own handlers


def _check_workers_can_start() -> None:
    """Refuse, before starting any, the one case where spawned workers cannot start: a main script that is not a file."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if getattr(main, "__spec__", None) is None and path is not None and not os.path.isfile(path):
        raise ConfigError(f"more than one process (jobs or --jobs) needs worker processes, which import the main script, and "
                          f"the main script {path} is not a file (read from stdin?); run it from a file, or use jobs=1")


class _TaskFailedElsewhere(KeyboardInterrupt):
    """Raised into this process's own task when a worker's task has failed: its task stops as at Ctrl-C (training
    saves its state), and ``_on_local_processes`` raises the worker's error in its place."""


def _pressed(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C (or SIGTERM) that ``exc`` interrupted the handling of, if any: a KeyboardInterrupt in its context
    chain that is not the news of a worker's failure."""
    return next((link for link in exception_chain(exc.__context__, causes=False)
                 if isinstance(link, KeyboardInterrupt) and not isinstance(link, _TaskFailedElsewhere)), None)


_INTERRUPT = getattr(signal, "SIGUSR1", None)  # the signal number that carries the news to the main thread (POSIX)


class _failure_interrupts_here:
    """While this process runs one of its own tasks, a failed worker task interrupts it (``tell``, from the
    dispatching thread), so that the error is reported when it happens rather than when this process's task ends,
    which on a long fit can be minutes later. No signal is sent to the process: ``_thread.interrupt_main`` runs this
    handler in the main thread between two Python instructions, and only while it is installed. Where that is not
    possible (not the main thread, no SIGUSR1) the error waits for this process's task, as before."""

    def __init__(self):
        self.failed = None  # the error of the worker's task (or of its hand-out)
        self.running_here = False
        self.lock = threading.Lock()
        self.installed = _INTERRUPT is not None and threading.current_thread() is threading.main_thread()
        self.previous = None

    def __enter__(self):
        if self.installed:
            self.previous = signal.signal(_INTERRUPT, self._handler)
        return self

    def __exit__(self, *exc_info):
        if self.installed:
            with self.lock:  # tell() never interrupts after this
                self.installed = False
                signal.signal(_INTERRUPT, self.previous)

    def _handler(self, signum, frame):
        if self.running_here and self.failed is not None:  # (a SIGUSR1 from elsewhere is ignored while we hold it)
            raise _TaskFailedElsewhere()

    def run(self, function: Callable, *args):
        """``function(*args)`` in this process, interrupted by a failure elsewhere (one already known stops it
        before it starts)."""
        self.running_here = True
        try:
            if self.failed is not None:
                raise _TaskFailedElsewhere()
            return function(*args)
        finally:
            self.running_here = False

    def tell(self, failed: BaseException) -> None:
        """Record a worker's failure; interrupt this process's own task if one is running."""
        if self.failed is None:
            self.failed = failed
        with self.lock:
            if self.installed and self.running_here:
                _thread.interrupt_main(_INTERRUPT)


def _share(workers: int) -> int:
    """The cores each of ``workers`` worker processes and this one runs the compiled kernel's slices on (one on two cores)."""
    return max(1, local_cores() // (workers + 1))


def _new_pool(workers: int, imports: Sequence[str] = ()) -> ProcessPoolExecutor:
    """A pool of ``workers`` fresh (spawned) worker processes, each importing ``imports`` as it starts; they start as tasks
    are submitted."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_start_worker,
                               initargs=(os.getpid(), _share(workers), tuple(imports)))


STOP_GRACE_S = 3.0  # how long a stopped worker has to end before it is killed


def _stop_pool(pool: ProcessPoolExecutor, grace: float = STOP_GRACE_S) -> None:
    """Stop a pool's workers now, rather than after their tasks (each stops its task as at Ctrl-C), and wait for them.

    A worker that has not ended ``grace`` seconds after SIGTERM is killed: an idle worker waiting for the lock of the
    task queue (another worker holds it, waiting for a task) sleeps in a C call, and a signal that arrives just before
    that wait is noted but never handled, since Python runs its handlers between instructions; the pool's shutdown
    then waited for it for ever (seen with two idle workers and Ctrl-C while they started)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # (Python 3.14 adds a public terminate_workers)
    for process in processes:
        process.terminate()
    running = {process.sentinel: process for process in processes}  # a sentinel is ready once its process has ended
    deadline = time.monotonic() + grace
    while running and (left := deadline - time.monotonic()) > 0:
        for sentinel in connection_wait(list(running), timeout=left):
            running.pop(sentinel)
    for process in running.values():
        process.kill()
    pool.shutdown(wait=True, cancel_futures=True)


_early: tuple[int, ProcessPoolExecutor] | None = None  # (workers, pool) started by workers_started_early, not yet used


def _ready() -> None:
    """A task that does nothing: submitted once per worker, it makes the pool start its processes."""


@contextmanager
def workers_started_early(jobs: int | None, most_tasks: int, imports: Sequence[str] = ()) -> Iterator[None]:
    """Start, as the block begins, the worker processes that a ``map_tasks(..., jobs=jobs)`` of up to ``most_tasks`` tasks
    inside it will use, each importing ``imports`` (the tasks' modules) as it starts.

    A worker's start (a fresh interpreter importing NumPy and the task's modules, about half a second) then overlaps
    this process's own work before the tasks (reading the data, choosing the settings) instead of delaying the first
    task. The first ``map_tasks`` on local processes in the block takes the workers when it needs as many of them (a
    series shorter than planned, with fewer tasks, starts its own instead); the block's end stops any it did not take,
    as at an error or Ctrl-C before the tasks. The workers are the ones ``map_tasks`` would start, so the results are
    the same."""
    global _early
    workers = local_processes(jobs, most_tasks) - 1
    if workers < 1 or _early is not None:
        yield
        return
    try:
        _check_workers_can_start()
    except ConfigError:  # map_tasks says so, if the block turns out to need workers at all
        yield
        return
    pool = _new_pool(workers, imports)
    with _signals_held_while_workers_start():
        for _ in range(workers):
            pool.submit(_ready)
    _early = (workers, pool)
    try:
        yield
    finally:
        unused, _early = _early, None
        if unused is not None:
            _stop_pool(unused[1])


def _take_early_pool(workers: int) -> ProcessPoolExecutor | None:
    """The pool ``workers_started_early`` started, if it has ``workers`` workers (it is stopped if not); None if none."""
    global _early
    early, _early = _early, None
    if early is None:
        return None
    if early[0] == workers:
        return early[1]
    _stop_pool(early[1])
    return None


def _on_local_processes(function: Callable, here: Callable, tasks: Sequence[tuple], workers: int, done: Callable) -> list:
    """``map_tasks`` on ``workers`` worker processes and this one. The workers take tasks from the front of the
    list, each one task at a time (a thread here hands a worker its next task when it finishes one, so that no
    task waits queued behind a busy worker while this process is free); this process takes them from the back.
    A task that fails in a worker stops this process's own task at once (``_failure_interrupts_here``) and is
    raised in its place, as it would be with every task here."""
    _check_workers_can_start()
    values: list = [None] * len(tasks)
    left = deque(range(len(tasks)))
    lock = threading.Lock()
    finished: queue.SimpleQueue = queue.SimpleQueue()  # (k, future) as workers finish; None when none is left
    stopping = threading.Event()
    share = _share(workers)
    pool = _take_early_pool(workers) or _new_pool(workers)
    running: dict = {}
    failure = _failure_interrupts_here()

    def take(front: bool) -> int | None:
        with lock:
            return None if not left else left.popleft() if front else left.pop()

    def submit_next() -> None:
        k = None if stopping.is_set() else take(front=True)
        if k is None:
            return
        try:
            running[pool.submit(_run_task, function, *tasks[k])] = k
        except RuntimeError as exc:  # a broken pool (BrokenProcessPool), or one shut down as this process leaves
            if not stopping.is_set():
                finished.put((k, exc))  # reported, never lost
                failure.tell(exc)

    def hand_out() -> None:  # the dispatching thread
        while running:
            done_now, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done_now:
                finished.put((running.pop(future), future))
                if future.cancelled():
                    continue
                if future.exception() is None:
                    submit_next()
                elif not stopping.is_set():
                    failure.tell(future.exception())
        finished.put(None)

    def collect(block: bool) -> bool:
        """Report the tasks the workers have finished; False once the dispatching thread is done."""
        while block or not finished.empty():
            item = finished.get()
            if item is None:
                return False
            k, outcome = item
            if isinstance(outcome, BaseException):
                raise outcome
            values[k] = outcome.result()  # a task's error, or BrokenProcessPool, is raised here
            done(k, values[k])
            block = False
        return True

    dispatcher = threading.Thread(target=hand_out, daemon=True)
    try:
        with _signals_held_while_workers_start():  # the workers start as the first tasks are submitted
            for _ in range(workers):
                submit_next()
        with failure, kernel_threads_at_most(share):
            dispatcher.start()
            more = True  # until the dispatching thread says it is done
            while (k := take(front=False)) is not None:
                values[k] = failure.run(here, *tasks[k])
                done(k, values[k])
                more = more and collect(block=False)
        while more:
            more = collect(block=True)
    except BaseException as exc:  # Ctrl-C, or a task's error: stop the workers now rather than after their tasks
        stopping.set()
        _stop_pool(pool)
        if dispatcher.ident is not None:  # (it starts after the workers)
            dispatcher.join(timeout=5)
        if isinstance(exc, _TaskFailedElsewhere):
            # a worker that stopped under the same Ctrl-C as this process broke the pool while this process's task
            # was saving its state: the user's interruption, not the worker's end, is what happened
            exc = _pressed(exc) or failure.failed
        if isinstance(exc, BrokenProcessPool):
            raise WorkerError("a worker process stopped before its task was done: killed, out of memory, or unable to start "
                              "(a script that runs on several processes needs the 'if __name__ == \"__main__\":' guard); "
                              "--jobs 1 (jobs=1) runs everything in this process") from None
        if exc is not sys.exc_info()[1]:
            raise exc  # the worker's error (its cause is the worker's traceback)
        raise
    pool.shutdown(wait=False)  # every task is done: the workers exit while this process goes on
    return values


DASK_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")  # with a port; inproc:// (a cluster in this process) has none
SCHEDULER_TIMEOUT_S = 20  # how long a Dask scheduler has to answer


def _check_scheduler_address(address) -> None:
    """Refuse an address that is no Dask scheduler's before a client tries it: a client made for one (``bogus``,
    ``http://host:1``) failed with the right message and then held the process for 40 s while it closed."""
    text = str(address)
    protocol, _, location = text.rpartition("://")
    host, _, port = location.rpartition(":")
    if protocol == "inproc":  # a cluster in this process: no port
        return
    if (protocol or "tcp") not in DASK_PROTOCOLS or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--scheduler {text!r} is not a Dask scheduler's address; give one like tcp://HOST:8786 (what "
                          "'dask scheduler' prints), or leave --scheduler out to run on local cores")


def _check_something_listens(address: str) -> None:
    """Refuse at once a ``tcp://`` address where nothing listens (a refused port, a host that does not resolve): Dask's
    own connect retries those until its timeout, and the refusal came after 20 s."""
    import socket

    host, _, port = address.removeprefix("tcp://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=SCHEDULER_TIMEOUT_S).close()
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"no Dask scheduler answered at {address} ({why}); start it (dask "
                          "scheduler) and its workers and give the address it prints (port 8786 by default; 8787 is its "
                          "dashboard), or leave --scheduler out to run on local cores") from None


class _NothingAnswered(Exception):
    """No connection could be made to a scheduler's address (refused, timed out, an unknown host)."""


def _check_scheduler_answers(address: str) -> None:
    """Ask a ``tcp://`` address for its identity before a client connects: a port that answers but is no Dask
    scheduler's (a web server, the dashboard's 8787) held a client's start forever, whatever its timeout."""
    import asyncio

    from distributed.comm import connect

    if not address.startswith("tcp://") and "://" in address:  # tls needs the cluster's certificates: the client's
        return
    address = address if "://" in address else f"tcp://{address}"
    _check_something_listens(address)

    async def ask_identity():
        try:
            comm = await connect(address, timeout=SCHEDULER_TIMEOUT_S)
        except OSError as exc:  # refused, timed out, no such host: nothing answered (not "an answer that is not Dask's")
            raise _NothingAnswered(str(exc)) from exc
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    answer: dict = {}

    def ask():  # in a thread of its own: the caller may be inside an event loop (a notebook)
        try:
            answer["identity"] = asyncio.run(asyncio.wait_for(ask_identity(), SCHEDULER_TIMEOUT_S))
        except BaseException as exc:
            answer["error"] = exc

    asker = threading.Thread(target=ask, name="scratchlstm-scheduler-probe", daemon=True)
    asker.start()
    asker.join()
    error, identity = answer.get("error"), answer.get("identity")
    kind = identity.get("type") if isinstance(identity, dict) else None  # "Scheduler", "Worker", "Nanny"
    if isinstance(error, (TimeoutError, asyncio.TimeoutError, _NothingAnswered)):
        why = f" ({error})" if isinstance(error, _NothingAnswered) and str(error) else ""
        raise ConfigError(f"no Dask scheduler answered at {address} within {SCHEDULER_TIMEOUT_S} s{why}; start it (dask scheduler) "
                          "and its workers and give the address it prints (port 8786 by default; 8787 is its dashboard), "
                          "or leave --scheduler out to run on local cores")
    if kind != "Scheduler":
        # (the kind, not the error: a web server's reply read as Dask's message asked for exabytes)
        what = f"it is a Dask {kind}" if kind else "its answer is not Dask's"
        raise ConfigError(f"{address} answers, but not as a Dask scheduler ({what}); give the address 'dask scheduler' "
                          "prints (port 8786 by default; 8787 is its dashboard), or leave --scheduler out to run on local cores")


def _on_dask(function: Callable, tasks: Sequence[tuple], scheduler: Any, done: Callable) -> list:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise ConfigError(f"--scheduler needs Dask's distributed scheduler, which is not installed ({INSTALL_DASK})") from None
    own = not isinstance(scheduler, Client)
    if own:
        _check_scheduler_address(scheduler)
        _check_scheduler_answers(str(scheduler))
        try:
            client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__}: {exc}); start it "
                              "(dask scheduler) and its workers, or leave --scheduler out to run on local cores") from None
    else:
        client = scheduler
    try:
        futures = [client.submit(function, *task, pure=False) for task in tasks]
        index = {future.key: k for k, future in enumerate(futures)}
        values: list = [None] * len(tasks)
        for future in dask_completed(futures, loop=client.loop):  # this client's (not a default client, which may not exist)
            k = index[future.key]
            values[k] = future.result()
            done(k, values[k])
        return values
    finally:
        if own:
            client.close()
