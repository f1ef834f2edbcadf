"""Where the series of a panel run: in this process, on local cores, or on a Dask cluster.

Every series is an independent task (its own seed, its own data), so the results do not depend on
which worker runs which series, or in what order they finish: ``map_tasks`` returns them in the
order of the tasks. On local cores the workers are fresh processes (``spawn``), which start from
the same state whatever the parent did before. Every task runs with one BLAS thread
(``one_blas_thread``): a matrix product split over two threads can round differently from the
same product on one (OpenBLAS does), so without this a series would give other digits on a Dask
worker, which limits its threads to one, than in a process that does not. A script that runs a panel on several processes
therefore needs the usual ``if __name__ == "__main__":`` guard around its main code. On a cluster the task function and its arguments
travel to the workers by pickling, so those workers need scratchlstm installed at the same version.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from ..errors import ConfigError

INSTALL_DASK = "pip install 'scratchlstm[dask]'"


def local_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows
        return os.cpu_count() or 1


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limits = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with the BLAS library limited to one thread, so that its sums are always made
    in the same order. Threads of one process (a threaded Dask worker) share the limit: the first
    to enter sets it, the last to leave restores the previous setting."""
    from threadpoolctl import threadpool_limits

    global _blas_users, _blas_limits
    with _blas_lock:
        if _blas_users == 0:
            _blas_limits = threadpool_limits(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limits.restore_original_limits()


def map_tasks(function: Callable, tasks: Sequence[tuple], *, jobs: int | None = None, scheduler: Any = None,
              on_done: Callable[[int, Any], None] | None = None) -> list:
    """``[function(*task) for task in tasks]``, run in parallel.

    Parameters
    ----------
    function : callable
        A module-level function (it is pickled to the workers).
    tasks : sequence of tuple
        The arguments of each call.
    jobs : int, optional
        Local worker processes; 1 runs every task here, in this process; None: one per core.
    scheduler : str or distributed.Client, optional
        The address of a Dask scheduler (``tcp://host:8786``) or a connected client: the tasks run on
        its workers instead (``jobs`` is then ignored).
    on_done : callable, optional
        ``on_done(k, value)`` as each task finishes (in the order they finish).

    Returns
    -------
    values : list
        One per task, in the order of ``tasks``.
    """
    done = on_done or (lambda k, value: None)
    if scheduler is not None:
        return _on_dask(function, tasks, scheduler, done)
    jobs = local_cores() if jobs is None else jobs
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    values: list = [None] * len(tasks)
    if jobs == 1 or len(tasks) <= 1:
        for k, task in enumerate(tasks):
            values[k] = function(*task)
            done(k, values[k])
        return values
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(function, *task): k for k, task in enumerate(tasks)}
        for future in as_completed(futures):
            k = futures[future]
            values[k] = future.result()
            done(k, values[k])
    return values


def _on_dask(function: Callable, tasks: Sequence[tuple], scheduler: Any, done: Callable) -> list:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise ConfigError(f"--scheduler needs Dask's distributed scheduler, which is not installed ({INSTALL_DASK})") from None
    own = not isinstance(scheduler, Client)
    if own:
        try:
            client = Client(scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__}: {exc}); start it "
                              "(dask scheduler) and its workers, or leave --scheduler out to run on local cores") from None
    else:
        client = scheduler
    try:
        futures = [client.submit(function, *task, pure=False) for task in tasks]
        index = {future.key: k for k, future in enumerate(futures)}
        values: list = [None] * len(tasks)
        for future in dask_completed(futures):
            k = index[future.key]
            values[k] = future.result()
            done(k, values[k])
        return values
    finally:
        if own:
            client.close()
