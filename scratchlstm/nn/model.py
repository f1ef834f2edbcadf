"""A forecasting model: a stack of recurrent layers (with dropout) and a dense head. By hand.

Shapes (batch first at this level, like the window datasets; time first inside the math):

    x    (B, T, D)        D features per step (close, volume, other assets side by side)
    out  (T, B, H_L)      the stack's top outputs, after its dropout mask
    y    (B, K)           head on the last step:  y = out[T-1] W + c
    y    (B, T, K)        head on every step:     y_t = out[t] W + c

The model holds one parameter dict per layer and the head's ``{"W" (H_L, K), "c" (K,)}``;
``named_params()`` is the flat view optimizers and checkpoints use:

    lstm0.W_x, lstm0.W_h, lstm0.b, lstm1.W_x, ..., head.W, head.c       (gru0.W_x, ... for a GRU)

Dropout (training only) is the stack's: one mask after every recurrent layer, drawn on the host
from the caller's generator (``draw_dropout_masks``); at evaluation no mask is applied and no
rescaling is needed ("inverted" dropout).
"""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np

from ..backend import Array, get_namespace, host_rng, is_array, is_masked, masked_array_refusal, namespace, place
from ..settings import check_fields, setting
from .cells import CELLS, get_cell
from .init import SCHEMES, glorot_uniform
from .shapes import Params, check_one_dtype, check_shape, dtype_name
from .stack import StackCache, draw_dropout_masks, stack_backward, stack_forward

HEADS = ("last", "all")
HEAD_INITS = ("glorot", "zeros")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a ``Model``; every default is a sensible small forecaster."""

    cell: str = setting("lstm", "recurrent cell of every layer", choices=tuple(CELLS), group="model")
    input_size: int = setting(1, "features per time step", at_least=1, group="model")
    hidden_sizes: tuple[int, ...] = setting((32,), "one recurrent layer per entry; sizes may differ, e.g. 50,100",
                                            at_least=1, flag="--hidden", group="model")
    output_size: int = setting(1, "outputs of the head (the horizon, for direct multi-step forecasts)", at_least=1,
                               group="model")
    dropout: float = setting(0.0, "inverted dropout after every recurrent layer while training", at_least=0.0, below=1.0,
                             group="model")
    head: str = setting("last", "dense head on the last step, or on every step (for truncated BPTT)", choices=HEADS,
                        group="model")
    init: str = setting("glorot", "initial weights: glorot (Keras's defaults: the tutorials' library) or pytorch "
                        "(uniform 1/sqrt(H))", choices=SCHEMES, group="model")
    head_init: str = setting("glorot", "zeros: the untrained model outputs exactly 0 (for returns: 'no change')",
                             choices=HEAD_INITS, group="model")

    def __post_init__(self):
        check_fields(self)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hidden_sizes": list(self.hidden_sizes)}

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name and shape of every parameter, in the order of ``Model.named_params``."""
        cell = get_cell(self.cell)
        gates = len(cell.gate_names)
        shapes, D = {}, self.input_size
        for l, H in enumerate(self.hidden_sizes):
            for name in cell.param_names:
                shape = {"W_x": (D, gates * H), "W_h": (H, gates * H)}.get(name, (gates * H,))
                shapes[f"{self.cell}{l}.{name}"] = shape
            D = H
        shapes.update({"head.W": (D, self.output_size), "head.c": (self.output_size,)})
        return shapes


@dataclass
class Model:
    """Parameters plus architecture: ``layers`` (one dict per recurrent layer) and the dense ``head``."""

    config: ModelConfig
    layers: list[Params] = field(default_factory=list)
    head: Params = field(default_factory=dict)

    def __post_init__(self):
        # Model(config) alone used to build a model without weights, which failed later as KeyError: 'W'
        if len(self.layers) != len(self.config.hidden_sizes) or not self.head:
            given = ("Model(config) alone holds no weights" if not (self.layers or self.head) else
                     f"this Model has {len(self.layers)} layer dicts and {'a' if self.head else 'no'} head for "
                     f"{len(self.config.hidden_sizes)} hidden sizes")
            raise ValueError(f"{given}: make fresh weights with Model.create(config, seed=0), or give them with "
                             "Model.from_named_params(config, params)")
        named = self.named_params()
        _split_named(self.config, named)  # every weight there, of its shape (KeyError, ValueError)
        check_one_dtype(named)  # float32 layers under a float64 head were called "the model is float64" later

    @classmethod
    def create(cls, config: ModelConfig, *, seed=0, xp=None, dtype: str = "float32", device=None) -> "Model":
        """Fresh parameters for ``config``, all drawn on the host from ``seed``."""
        rng = host_rng(seed)
        cell = get_cell(config.cell)
        xp = get_namespace("numpy") if xp is None else xp
        layers, D = [], config.input_size
        for H in config.hidden_sizes:
            layers.append(cell.init(D, H, seed=rng, scheme=config.init, xp=xp, dtype=dtype, device=device))
            D = H
        W = glorot_uniform(rng, D, config.output_size)
        if config.head_init == "zeros":
            W = 0.0 * W  # drawn anyway so that the generator's state does not depend on this choice
        head = place({"W": W, "c": np.zeros(config.output_size)}, xp=xp, dtype=dtype, device=device)
        return cls(config, layers, head)

    @classmethod
    def from_named_params(cls, config: ModelConfig, params: Mapping[str, Array]) -> "Model":
        """A model holding exactly the arrays of a flat dict (as ``named_params`` returns)."""
        return cls(config, *_split_named(config, params))

    def named_params(self) -> dict[str, Array]:
        """Every parameter in one flat dict, keyed like ``lstm0.W_x`` and ``head.W`` (a new dict of the same arrays)."""
        flat = {f"{self.config.cell}{l}.{k}": v for l, layer in enumerate(self.layers) for k, v in layer.items()}
        flat.update({f"head.{k}": v for k, v in self.head.items()})
        return flat

    def load_named_params(self, params: Mapping[str, Array]) -> None:
        """Replace the arrays with those of a flat dict; its names must be exactly ``config.param_shapes()``'s."""
        layers, head = _split_named(self.config, params)
        check_one_dtype(params)  # as where a model is made: one dtype for every weight
        for mine, given in zip(self.layers, layers):
            mine.update(given)
        self.head.update(head)

    @property
    def dtype(self):
        return self.head["W"].dtype

    def predict(self, x: Array, *, batch_size: int = 1024, engine: str = "reference") -> Array:
        """Outputs for windows ``x (N, T, D)``, ``batch_size`` at a time, dropout off.

        ``(N, K)`` for ``head="last"``, ``(N, T, K)`` for ``"all"``; N = 0 gives an empty array.
        """
        if not is_array(x):
            raise TypeError(f"x must be an array (N, T, D), got a {type(x).__name__}; make one with "
                            f"np.asarray(x, dtype='{dtype_name(self.dtype)}') (the model's dtype)")
        if is_masked(x):
            raise masked_array_refusal("x")
        if len(x.shape) != 3:  # a 0-d array failed at x.shape[0] below
            raise ValueError(f"x must have shape (N, T, D) with D = {self.config.input_size}, got {tuple(x.shape)}")
        if isinstance(batch_size, (bool, np.bool_)) or not _is_whole(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number of windows, at least 1, got {batch_size!r}")
        xp = namespace(x)
        N = x.shape[0]
        parts = [model_forward(self, x[k : min(k + batch_size, N), ...], engine=engine, need_cache=False)[0]
                 for k in range(0, max(N, 1), batch_size)]  # N = 0: one empty batch, whose output has the right shape
        return xp.concat(parts, axis=0)


def _is_whole(n) -> bool:
    """Whether ``n`` is an integer of any kind (an int, a NumPy integer), as ``operator.index`` takes it."""
    try:
        operator.index(n)
    except TypeError:
        return False
    return True


def _split_named(config: ModelConfig, params: Mapping[str, Array]) -> tuple[list[Params], Params]:
    """``(layers, head)`` from a flat dict of parameters, whose names and shapes must be ``config.param_shapes()``'s."""
    expected = config.param_shapes()
    if set(params) != set(expected):
        missing, extra = sorted(set(expected) - set(params)), sorted(set(params) - set(expected))
        raise KeyError(f"parameters do not match the model: missing {missing}, not part of it {extra}")
    for name, shape in expected.items():
        if tuple(params[name].shape) != shape:
            raise ValueError(f"{name} has shape {tuple(params[name].shape)}, expected {shape}")
    layers: list[Params] = [{} for _ in config.hidden_sizes]
    head: Params = {}
    for name, value in params.items():
        owner, key = name.split(".", 1)
        target = head if owner == "head" else layers[int(owner[len(config.cell):])]
        target[key] = value
    return layers, head


@dataclass
class ModelCache:
    """What ``model_forward`` keeps for ``model_backward``."""

    stack: StackCache
    z: Array  # the head's input: (B, H_L) for head "last", (T, B, H_L) for "all"
    W: Array
    head: str
    cell: str


def model_forward(model: Model, x: Array, dropout_masks=None, states=None, *, engine: str = "reference",
                  need_cache: bool = True):
    """``(y, states_T, cache)`` for batch-first ``x (B, T, D)``.

    ``dropout_masks`` holds one (T, B, H_l) mask per layer or None (``draw_dropout_masks``);
    ``states`` one initial state tuple per layer (stateful runs carry the returned ``states_T`` into
    the next call); ``engine`` is passed to every layer. ``need_cache=False`` is for forwards that no
    backward follows (``predict``, validation): no layer keeps a cache, the returned cache is None,
    and ``y`` is the same, bit for bit.
    """
    config = model.config
    if len(x.shape) != 3 or x.shape[2] != config.input_size:
        raise ValueError(f"x must have shape (B, T, D) with D = {config.input_size}, got {tuple(x.shape)}")
    check_one_dtype({"the model": model.head["W"], "x": x})  # x first named to cast: it is the caller's
    xp = namespace(x)
    seq = xp.permute_dims(x, (1, 0, 2))  # (T, B, D)
    out, states_T, stack_cache = stack_forward(config.cell, model.layers, seq, states, dropout_masks, engine=engine,
                                               need_cache=need_cache)
    W, c = model.head["W"], model.head["c"]
    if config.head == "last":
        z = out[-1, :, :]  # (B, H_L)
        y = z @ W + c  # (B, K)
    else:
        z = out  # (T, B, H_L)
        y = xp.permute_dims(z @ W + c, (1, 0, 2))  # (B, T, K)
    return y, states_T, ModelCache(stack_cache, z, W, config.head, config.cell) if need_cache else None


def model_backward(cache: ModelCache, dy: Array, dstates_T=None):
    """Backward of ``model_forward``: ``(grads, dx, dstates_0)``.

    ``grads`` is keyed like ``Model.named_params``; ``dx`` is (B, T, D); ``dstates_0`` holds one tuple
    of initial-state gradients per layer (chain them into the previous chunk for stateful training).
    ``dstates_T`` is one gradient tuple of each returned final state, or None.
    """
    check_one_dtype({"the model": cache.W, "dy": dy})
    xp = namespace(dy)
    z, W = cache.z, cache.W
    T, B, _ = cache.stack.out_shape
    K = W.shape[1]
    if cache.head == "last":
        check_shape("dy", dy, (B, K), "(B, output_size)")
    else:
        check_shape("dy", dy, (B, T, K), "(B, T, output_size)")
    if cache.head == "last":
        dW = z.T @ dy  # (H_L, K)
        dc = xp.sum(dy, axis=0)
        layer_grads, dseq, dstates_0 = stack_backward(cache.stack, None, dstates_T, dout_last=dy @ W.T)
    else:
        dy_t = xp.permute_dims(dy, (1, 0, 2))  # (T, B, K)
        T, B, K = dy_t.shape
        H = z.shape[2]
        dW = xp.reshape(z, (T * B, H)).T @ xp.reshape(dy_t, (T * B, K))
        dc = xp.sum(xp.reshape(dy_t, (T * B, K)), axis=0)
        layer_grads, dseq, dstates_0 = stack_backward(cache.stack, dy_t @ W.T, dstates_T)  # dout (T, B, H_L)
    grads = {f"{cache.cell}{l}.{k}": v for l, g in enumerate(layer_grads) for k, v in g.items()}
    grads.update({"head.W": dW, "head.c": dc})
    return grads, xp.permute_dims(dseq, (1, 0, 2)), dstates_0


__all__ = ["HEADS", "Model", "ModelCache", "ModelConfig", "draw_dropout_masks", "model_backward", "model_forward"]
