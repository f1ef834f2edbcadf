"""A forecasting model: stacked LSTM layers, inverted dropout, and a dense head. By hand.

Shapes (batch first at this level, like the window datasets; time first inside the math)::

    x    (B, T, D)        D features per step (close, volume, other assets side by side)
    out  (T, B, H_L)      top LSTM layer's outputs, after its dropout mask
    y    (B, K)           head on the last step:  y = out[T-1] W + c
    y    (B, T, K)        head on every step:     y_t = out[t] W + c

Parameters live in one flat dict so optimizers and checkpoints see plain named arrays::

    lstm0.W_x, lstm0.W_h, lstm0.b, lstm1.W_x, ..., head.W (H_L, K), head.c (K,)

Dropout (training only) multiplies the output sequence of every LSTM layer by a mask of entries
0 or 1/(1-p) drawn on the host from the caller's generator; at evaluation no mask is applied and no
rescaling is needed ("inverted" dropout).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..backend import Array, dtype_of, from_host, get_namespace, host_rng, like, namespace
from ..errors import ConfigError
from .init import glorot_uniform, init_lstm_params
from .stack import stack_backward, stack_forward

HEADS = ("last", "all")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a :class:`Model`; every default is a sensible small forecaster."""

    input_size: int = 1  # features per time step
    hidden_sizes: tuple[int, ...] = (32,)  # one LSTM layer per entry; sizes may differ (e.g. (50, 100))
    output_size: int = 1  # outputs of the head (the horizon, for direct multi-step forecasts)
    dropout: float = 0.0  # inverted dropout after every LSTM layer while training, in [0, 1)
    head: str = "last"  # "last": dense head on the last hidden state; "all": on every step
    init: str = "glorot"  # "glorot" (Keras-like, orthogonal recurrent) or "pytorch" (uniform 1/sqrt(H))
    forget_bias: float = 1.0  # added to the forget-gate bias so the cell remembers at the start
    head_init: str = "glorot"  # "zeros": the untrained model outputs exactly 0 (for returns: "no change")

    def __post_init__(self):
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        if self.input_size < 1 or self.output_size < 1:
            raise ConfigError(f"input_size and output_size must be at least 1, got {self.input_size} and {self.output_size}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ConfigError(f"hidden sizes must be positive integers, got {list(self.hidden_sizes)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.head_init not in ("glorot", "zeros"):
            raise ConfigError(f"unknown head_init {self.head_init!r}; choose glorot or zeros")
        if self.head not in HEADS:
            raise ConfigError(f"unknown head {self.head!r}; choose one of {', '.join(HEADS)}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hidden_sizes": list(self.hidden_sizes)}

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name and shape of every parameter, in order."""
        shapes, D = {}, self.input_size
        for l, H in enumerate(self.hidden_sizes):
            shapes.update({f"lstm{l}.W_x": (D, 4 * H), f"lstm{l}.W_h": (H, 4 * H), f"lstm{l}.b": (4 * H,)})
            D = H
        shapes.update({"head.W": (D, self.output_size), "head.c": (self.output_size,)})
        return shapes


def layer_params(params: dict[str, Array], l: int) -> dict[str, Array]:
    """The ``W_x, W_h, b`` dict of LSTM layer ``l`` (a view into the flat dict)."""
    return {name: params[f"lstm{l}.{name}"] for name in ("W_x", "W_h", "b")}


def init_model_params(config: ModelConfig, *, seed=0, xp=None, dtype: str = "float32", device=None) -> dict[str, Array]:
    """Fresh parameters for ``config``, all drawn on the host from ``seed``."""
    rng = host_rng(seed)
    xp = get_namespace("numpy") if xp is None else xp
    params: dict[str, Array] = {}
    D = config.input_size
    for l, H in enumerate(config.hidden_sizes):
        layer = init_lstm_params(D, H, seed=rng, scheme=config.init, forget_bias=config.forget_bias, xp=xp, dtype=dtype, device=device)
        params.update({f"lstm{l}.{k}": v for k, v in layer.items()})
        D = H
    W = glorot_uniform(rng, D, config.output_size)
    if config.head_init == "zeros":
        W = 0.0 * W  # drawn anyway so that the generator's state does not depend on this choice
    params["head.W"] = from_host(W, xp, dtype=dtype_of(xp, dtype), device=device)
    params["head.c"] = xp.zeros((config.output_size,), dtype=dtype_of(xp, dtype), device=device)
    return params


def draw_dropout_masks(config: ModelConfig, T: int, B: int, rng, ref: Array) -> list[Array] | None:
    """One (T, B, H_l) inverted-dropout mask per LSTM layer, or None when dropout is 0.

    ``rng`` is the host ``numpy.random.Generator`` of the run; the masks are moved next to ``ref``.
    """
    p = config.dropout
    if p == 0.0:
        return None
    return [like((rng.random((T, B, H)) >= p) / (1.0 - p), ref) for H in config.hidden_sizes]


def model_forward(params, config: ModelConfig, x: Array, dropout_masks=None, state=None):
    """``(y, (h_Ts, c_Ts), cache)`` for batch-first ``x (B, T, D)``.

    ``state`` is ``(h0s, c0s)``, lists with one (B, H_l) array per layer (stateful runs carry the
    returned final states into the next call).
    """
    if len(x.shape) != 3 or x.shape[2] != config.input_size:
        raise ValueError(f"x must have shape (B, T, D) with D = {config.input_size}, got {tuple(x.shape)}")
    xp = namespace(x)
    L = len(config.hidden_sizes)
    masks = [None] * L if dropout_masks is None else list(dropout_masks)
    h0s, c0s = (None, None) if state is None else state
    seq = xp.permute_dims(x, (1, 0, 2))  # (T, B, D)
    out, (h_Ts, c_Ts), stack_cache = stack_forward([layer_params(params, l) for l in range(L)], seq, h0s, c0s, masks[:-1])
    if masks[-1] is not None:
        out = out * masks[-1]
    W, c = params["head.W"], params["head.c"]
    if config.head == "last":
        z = out[-1, :, :]  # (B, H_L)
        y = z @ W + c  # (B, K)
    else:
        z = out  # (T, B, H_L)
        y = xp.permute_dims(z @ W + c, (1, 0, 2))  # (B, T, K)
    cache = {"stack": stack_cache, "top_mask": masks[-1], "z": z, "W": W, "head": config.head}
    return y, (h_Ts, c_Ts), cache


def model_backward(cache, dy: Array, dstate=None):
    """Backward of :func:`model_forward`: ``(grads, dx)`` with ``grads`` keyed like ``params``.

    ``dstate`` is ``(dh_Ts, dc_Ts)`` (gradients of the returned final states) or None.
    """
    xp = namespace(dy)
    z, W, mask = cache["z"], cache["W"], cache["top_mask"]
    L = len(cache["stack"]["layers"])
    dh_Ts, dc_Ts = ([None] * L, [None] * L) if dstate is None else (list(dstate[0]), list(dstate[1]))
    if cache["head"] == "last":
        dW = z.T @ dy  # (H_L, K)
        dc = xp.sum(dy, axis=0)
        dz = dy @ W.T  # (B, H_L): reaches the top layer through its final hidden state
        if mask is not None:
            dz = dz * mask[-1, :, :]
        dh_Ts[-1] = dz if dh_Ts[-1] is None else dh_Ts[-1] + dz
        dout = None
    else:
        dy_t = xp.permute_dims(dy, (1, 0, 2))  # (T, B, K)
        T, B, K = dy_t.shape
        H = z.shape[2]
        dW = xp.reshape(z, (T * B, H)).T @ xp.reshape(dy_t, (T * B, K))
        dc = xp.sum(xp.reshape(dy_t, (T * B, K)), axis=0)
        dout = dy_t @ W.T  # (T, B, H_L)
        if mask is not None:
            dout = dout * mask
    layer_grads, dseq, _, _ = stack_backward(cache["stack"], dout, dh_Ts, dc_Ts)
    grads = {f"lstm{l}.{k}": v for l, g in enumerate(layer_grads) for k, v in g.items()}
    grads.update({"head.W": dW, "head.c": dc})
    return grads, xp.permute_dims(dseq, (1, 0, 2))


@dataclass
class Model:
    """Parameters plus architecture, with ``predict`` for evaluation (no dropout)."""

    config: ModelConfig
    params: dict[str, Array] = field(default_factory=dict)

    @classmethod
    def create(cls, config: ModelConfig, *, seed=0, xp=None, dtype: str = "float32", device=None) -> "Model":
        return cls(config, init_model_params(config, seed=seed, xp=xp, dtype=dtype, device=device))

    def predict(self, x: Array, batch_size: int = 1024) -> Array:
        """Outputs for ``x (N, T, D)`` in batches, dropout off."""
        xp = namespace(x)
        parts = [model_forward(self.params, self.config, x[k : k + batch_size, ...])[0] for k in range(0, x.shape[0], batch_size)]
        return xp.concat(parts, axis=0)
