"""One interface for the three recurrent cells, so that stacks, checks and studies treat them alike.

Each ``Cell`` says what a layer of that kind holds and how to run it:

    cell = CELLS["gru"]
    params = cell.init(D, H, seed=0, scheme="glorot", dtype="float64")
    hs, state_T, cache = cell.forward(params, x, state=None, engine="fast")   # state: a tuple
    hs, state_T, _ = cell.forward(params, x, need_cache=False)                # no backward follows: cache None
    grads, dx, dstate_0 = cell.backward(cache, dhs, dstate_T=None)

The state is always a tuple: ``(h,)`` for the RNN and the GRU, ``(h, c)`` for the LSTM. Only the
LSTM has speed kernels; for the other two ``engine="fast"`` and ``"compiled"`` run their reference code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..backend import Array
from ..errors import ConfigError
from . import gru, lstm, rnn
from .init import init_gru_params, init_lstm_params, init_rnn_params
from .shapes import Params, check_engine


@dataclass(frozen=True)
class Cell:
    """A recurrent cell kind: its names, sizes, initialiser and its forward and backward."""

    name: str  # "lstm", "gru" or "rnn"
    gate_names: tuple[str, ...]  # the blocks fused along the last axis of W_x, W_h and the biases
    param_names: tuple[str, ...]
    state_names: tuple[str, ...]  # ("h", "c") or ("h",)
    has_kernel: bool  # whether engine="fast" runs a speed kernel (else the reference runs)
    sizes: Callable[[Params], tuple[int, int]]  # (D, H) after checking the arrays fit together
    init: Callable[..., Params]  # init(D, H, *, seed, scheme, xp, dtype, device)
    _forward: Callable
    _backward: Callable

    def forward(self, params: Params, x: Array, state: tuple | None = None, *, engine: str = "reference",
                need_cache: bool = True):
        """``(hs (T, B, H), state_T, cache)`` for ``x (T, B, D)``; ``state`` a tuple of (B, H) arrays or None;
        ``need_cache=False`` (no backward follows) keeps no cache and returns None for it."""
        state = (None,) * len(self.state_names) if state is None else tuple(state)
        if len(state) != len(self.state_names):
            raise ValueError(f"a {self.name} state is ({', '.join(self.state_names)}), got {len(state)} arrays")
        return self._forward(params, x, *state, engine=engine, need_cache=need_cache)

    def backward(self, cache, dhs: Array | None, dstate_T: tuple | None = None):
        """``(grads, dx (T, B, D), dstate_0)`` for a cache of ``forward``; ``dstate_T`` a tuple or None."""
        dstate_T = (None,) * len(self.state_names) if dstate_T is None else tuple(dstate_T)
        grads, dx, *dstate_0 = self._backward(cache, dhs, *dstate_T)
        return grads, dx, tuple(dstate_0)

    def gate_blocks(self, name: str) -> tuple[str, ...] | None:
        """The gate blocks fused along the last axis of parameter ``name``, or None."""
        return self.gate_names if len(self.gate_names) > 1 and name in self.param_names else None


def _without_engine(forward: Callable) -> Callable:
    """A cell without a kernel: ``engine`` selects nothing (the reference runs either way)."""
    def run(params, x, *state, engine: str = "reference", need_cache: bool = True):
        check_engine(engine)  # an unknown engine is still an error
        return forward(params, x, *state, need_cache=need_cache)
    return run


CELLS: dict[str, Cell] = {
    "lstm": Cell("lstm", lstm.GATE_ORDER, lstm.PARAM_NAMES, ("h", "c"), True, lstm.lstm_sizes, init_lstm_params,
                 lstm.lstm_forward, lstm.lstm_backward),
    "gru": Cell("gru", gru.GATE_ORDER, gru.PARAM_NAMES, ("h",), False, gru.gru_sizes, init_gru_params,
                _without_engine(gru.gru_forward), gru.gru_backward),
    "rnn": Cell("rnn", ("h",), rnn.PARAM_NAMES, ("h",), False, rnn.rnn_sizes, init_rnn_params,
                _without_engine(rnn.rnn_forward), rnn.rnn_backward),
}


def get_cell(name: str) -> Cell:
    """The cell called ``name`` (lstm, gru or rnn)."""
    if name not in CELLS:
        raise ConfigError(f"unknown cell {name!r}; choose one of {', '.join(CELLS)}")
    return CELLS[name]
