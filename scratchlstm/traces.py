"""Look inside: per-step gate values of the LSTM, and how gradients flow back through time.

``lstm_trace`` returns every gate before and after its nonlinearity, the cell state and the hidden
state at every step, as named (T, B, H) arrays. ``gradient_flow`` measures, for a loss on the last
step only, the size of dL/dh_t (and dL/dc_t for the LSTM) at every step t, i.e. against the distance
T - 1 - t from the loss, together with the product of forget gates along the cell path.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .backend import Array, host_rng, like, to_numpy
from .nn.cells import get_cell
from .nn.gru import gru_backward, gru_forward
from .nn.lstm import lstm_backward, lstm_forward, lstm_sizes
from .nn.rnn import rnn_backward, rnn_forward


@dataclass
class LSTMTrace:
    """Every quantity of the forward pass, each (T, B, H) on the host (NumPy)."""

    a_i: np.ndarray  # pre-activations, before the nonlinearities
    a_f: np.ndarray
    a_g: np.ndarray
    a_o: np.ndarray
    i: np.ndarray  # input gate, sigmoid(a_i)
    f: np.ndarray  # forget gate
    g: np.ndarray  # candidate, tanh(a_g)
    o: np.ndarray  # output gate
    c: np.ndarray  # cell state c_t
    h: np.ndarray  # hidden state h_t (exactly the forward's outputs)

    def names(self) -> list[str]:
        return [f.name for f in fields(self)]

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.names()}


def lstm_trace(params: dict[str, Array], x: Array, h0: Array | None = None, c0: Array | None = None, *,
               engine: str = "reference") -> LSTMTrace:
    """Run ``lstm_forward`` on ``x (T, B, D)`` and return every per-step quantity.

    Gates, c and h are read from the forward's own cache (``gate_values()``, ``cell_states()``), so
    ``trace.h`` equals the forward's outputs exactly, for either ``engine``; pre-activations are
    recomputed as ``x_t W_x + h_{t-1} W_h + b``.
    """
    hs, _, cache = lstm_forward(params, x, h0, c0, engine=engine)
    _, H = lstm_sizes(params)
    h = to_numpy(hs)
    gates = to_numpy(cache.gate_values())  # (T, B, 4H), activated i | f | g | o
    i, f, g, o = (gates[:, :, k * H : (k + 1) * H] for k in range(4))
    c = to_numpy(cache.cell_states())
    W_x, W_h, b = (to_numpy(params[k]) for k in ("W_x", "W_h", "b"))
    x_host = to_numpy(x)
    h_prev = np.concatenate([np.zeros_like(h[:1]) if h0 is None else to_numpy(h0)[None], h[:-1]], axis=0)
    a = x_host @ W_x + h_prev @ W_h + b  # (T, B, 4H)
    a_i, a_f, a_g, a_o = (a[:, :, k * H : (k + 1) * H] for k in range(4))
    return LSTMTrace(a_i=a_i, a_f=a_f, a_g=a_g, a_o=a_o, i=np.array(i), f=np.array(f), g=np.array(g), o=np.array(o),
                     c=np.array(c), h=h)


@dataclass
class GradientFlow:
    """Gradient sizes against the distance from the loss (which sits on the last step)."""

    kind: str  # "rnn", "gru" or "lstm"
    distance: np.ndarray  # (T,) T - 1 - t
    dh_norm: np.ndarray  # (T,) mean over the batch of ||dL/dh_t||
    dc_norm: np.ndarray | None = None  # (T,) mean over the batch of ||dL/dc_t|| (LSTM)
    forget_product: np.ndarray | None = None  # (T,) mean of prod_{k=t+1}^{T-1} f_k (LSTM's cell path gain)


def gradient_flow(kind: str, params: dict[str, Array], x: Array, seed: int = 0) -> GradientFlow:
    """How the gradient of a loss on the last hidden state reaches every earlier step.

    The loss is ``L = sum(w * h_T)`` with a fixed random ``w``; the reference backward of the cell
    (``kind`` rnn, gru or lstm) reports the gradient at every step.
    """
    get_cell(kind)  # an unknown kind ("LSTM") is refused with the choices, not a KeyError at the end
    T, B, _ = x.shape
    H = params["W_h"].shape[0]
    w = like(host_rng(seed).standard_normal((B, H)), x)
    dh_norm, dc_norm = np.zeros(T), np.zeros(T)

    def norm(a) -> float:
        return float(np.mean(np.linalg.norm(to_numpy(a).astype(float), axis=1)))

    if kind == "lstm":
        _, _, cache = lstm_forward(params, x)  # the reference engine: its backward reports every step
        gates, tcs = to_numpy(cache.gates), to_numpy(cache.tcs)
        o = gates[:, :, 3 * H :]

        def record(t, dh, dc_next):
            dh_norm[t] = norm(dh)
            # total gradient of c_t: through c_{t+1} plus through h_t = o * tanh(c_t)
            dc_norm[t] = norm(to_numpy(dc_next) + to_numpy(dh) * o[t] * (1 - tcs[t] ** 2))

        lstm_backward(cache, None, w, None, on_step=record)
        f = gates[:, :, H : 2 * H].astype(float)
        suffix = np.ones_like(f)  # suffix[t] = prod_{k=t+1}^{T-1} f_k
        for t in range(T - 2, -1, -1):
            suffix[t] = suffix[t + 1] * f[t + 1]
        return GradientFlow(kind, np.arange(T)[::-1].copy(), dh_norm, dc_norm, suffix.mean(axis=(1, 2)))
    forward, backward = {"rnn": (rnn_forward, rnn_backward), "gru": (gru_forward, gru_backward)}[kind]
    _, _, cache = forward(params, x)
    backward(cache, None, w, on_step=lambda t, dh: dh_norm.__setitem__(t, norm(dh)))
    return GradientFlow(kind, np.arange(T)[::-1].copy(), dh_norm)
