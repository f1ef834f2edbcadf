"""The NumPy kernel holds BLAS to one thread for small step products, and gives the setting back."""

import numpy as np
import pytest
import threadpoolctl

import scratchlstm as sl
from scratchlstm.nn.kernels import numpy_lstm, threads
from scratchlstm.nn.model import Model, ModelConfig
from scratchlstm.train import TrainConfig, train

from tests.helpers import random_lstm_host




def _blas_threads() -> list[int]:
    """The thread counts of the BLAS libraries NumPy loaded (where another test loaded SciPy, its own OpenBLAS is
    there too, and NumPy's products never run on it)."""
    found = [lib for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    numpys = [lib for lib in found if "numpy" in lib["filepath"]]
    return [lib["num_threads"] for lib in (numpys or found)]


def test_small_products_run_on_one_thread_and_the_setting_comes_back():
    before = _blas_threads()
    if not before:
        pytest.skip("NumPy reports no BLAS library to threadpoolctl")
    seen = []
    with threads.blas_threads_for(threads.ONE_THREAD_BELOW - 1):
        seen.append(_blas_threads())
    with threads.blas_threads_for(threads.ONE_THREAD_BELOW):
        seen.append(_blas_threads())
    assert seen == [[1] * len(before), before]
    assert _blas_threads() == before


def test_kernel_calls_are_held_to_one_thread_when_small(monkeypatch):
    before = _blas_threads()
    if not before:
        pytest.skip("NumPy reports no BLAS library to threadpoolctl")
    seen = []
    step = numpy_lstm._recurrence

    def watching(*args):
        seen.append(_blas_threads())
        return step(*args)

    monkeypatch.setattr(numpy_lstm, "_recurrence", watching)
    params = random_lstm_host(1, 8, 0)
    x = np.random.default_rng(0).normal(size=(5, 4, 1))
    _, _, cache = sl.lstm_forward(params, x, engine="fast")
    sl.lstm_forward(params, x, engine="fast", need_cache=False)
    assert seen == [[1] * len(before)] * 2
    sl.lstm_backward(cache, np.ones((5, 4, 8)))
    assert _blas_threads() == before


@pytest.mark.parametrize("hidden, one_thread", [(8, True), (600, False)])
def test_training_holds_blas_to_one_thread_when_the_steps_are_small(hidden, one_thread):
    # the GRU has no kernel: the trainer itself applies the rule, for the whole run, and gives the setting back
    before = _blas_threads()
    if not before:
        pytest.skip("NumPy reports no BLAS library to threadpoolctl")
    model = Model.create(ModelConfig(cell="gru", input_size=1, hidden_sizes=(hidden,)), seed=0, dtype="float64")
    X = np.random.default_rng(0).normal(size=(4, 3, 1))
    seen = []
    train(model, X, X[:, -1, :], config=TrainConfig(epochs=2, batch_size=4, quiet=True),
             on_epoch_end=lambda epoch, history: seen.append(_blas_threads()))
    assert seen == [[1] * len(before) if one_thread else before] * 2
    assert _blas_threads() == before
