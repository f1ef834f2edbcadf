"""``LSTM``: a small layer class with PyTorch's calling convention around the stateless math.

    lstm = LSTM(input_size=1, hidden_size=50, num_layers=2, batch_first=True)
    output, (h_n, c_n) = lstm(x)             # x (B, T, D); output (B, T, H); h_n, c_n (L, B, H)
    dx, (dh0, dc0) = lstm.backward(doutput)  # fills lstm.grads, one dict per layer

The class only holds parameters and the last forward's cache; the math is in ``lstm.py`` and runs
through the package's one multi-layer stack (``stack.py``). It defaults to what ``torch.nn.LSTM``
does: PyTorch's initialisation, no dropout, time first, and the reference engine (the code the docs
derive); pass ``engine="fast"`` for the speed kernel.
"""

from __future__ import annotations

from typing import Sequence

from ..backend import Array, host_rng, is_array, is_masked, masked_array_refusal, namespace
from ..errors import ConfigError
from .cells import CELLS
from .init import init_lstm_params
from .shapes import Params, check_engine
from .stack import check_layers, layer_list, stack_backward, stack_forward


class LSTM:
    """Multi-layer LSTM with ``torch.nn.LSTM`` semantics (``num_layers``, ``batch_first``, states of
    shape (num_layers, B, H)), forward and backward by hand.

    Parameters
    ----------
    input_size, hidden_size, num_layers : int
        As in PyTorch.
    batch_first : bool
        Inputs and outputs are (B, T, *) instead of (T, B, *).
    seed : int
        Seed of the initial weights.
    scheme : {"pytorch", "glorot"}
        Initialisation (see ``scratchlstm.nn.init``); PyTorch's by default, as this class mimics it.
    forget_bias : float, optional
        Replaces the scheme's forget-gate bias.
    engine : {"reference", "fast", "compiled"}
        Which code runs the layers (the attribute can be changed later).
    xp, dtype, device
        Where the weights live (NumPy float32 by default).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *, batch_first: bool = False, seed: int = 0,
                 scheme: str = "pytorch", forget_bias: float | None = None, engine: str = "reference", xp=None,
                 dtype: str = "float32", device=None):
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        rng = host_rng(seed)
        layers = [init_lstm_params(input_size if l == 0 else hidden_size, hidden_size, seed=rng, scheme=scheme,
                                   forget_bias=forget_bias, xp=xp, dtype=dtype, device=device)
                  for l in range(num_layers)]
        self._set_layers(layers, batch_first, engine)

    @classmethod
    def from_layers(cls, layers: Sequence[Params], *, batch_first: bool | None = None, engine: str = "reference") -> "LSTM":
        """Wrap existing per-layer parameter dicts (for example from ``scratchlstm.interop``). ``batch_first``: the
        layers' own when they carry one (``lstm_from_torch`` gives the module's), else False."""
        self = cls.__new__(cls)
        if batch_first is None:
            batch_first = getattr(layers, "batch_first", False)
        self._set_layers(layer_list(layers), batch_first, engine)
        return self

    def _set_layers(self, layers: list[Params], batch_first: bool, engine: str) -> None:
        if batch_first not in (True, False):  # "false" is a true string
            raise ConfigError(f"batch_first must be True or False, got {batch_first!r}")
        sizes = check_layers(CELLS["lstm"], layers)
        H = sizes[0][1]
        if any(h != H for _, h in sizes):
            raise ValueError(f"all layers of an LSTM must have the same hidden size; got (D, H) per layer {sizes}")
        self.layers = layers
        self.input_size, self.hidden_size, self.num_layers = sizes[0][0], H, len(layers)
        self.batch_first = batch_first
        self.engine = check_engine(engine)
        self.grads: list[Params] | None = None
        self._cache = None

    def named_params(self) -> dict[str, Array]:
        """Every parameter in one flat dict, keyed ``lstm{l}.{name}``."""
        return {f"lstm{l}.{k}": v for l, layer in enumerate(self.layers) for k, v in layer.items()}

    def _check_layered(self, name: str, pair, form: str) -> None:
        """``pair`` is None or two arrays (or None) of (num_layers, B, H): a third layer's state was dropped without a
        word, and a 2-D one raised an IndexError."""
        if pair is None:
            return
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"{name} must be a pair {form}, each (num_layers, B, H), or None")
        for k, a in enumerate(pair):
            if a is not None and (len(a.shape) != 3 or a.shape[0] != self.num_layers or a.shape[2] != self.hidden_size):
                raise ValueError(f"{name}[{k}] must have shape (num_layers, B, H) = ({self.num_layers}, B, "
                                 f"{self.hidden_size}), got {tuple(a.shape)}")

    def _time_major(self, a: Array, name: str, axes: str = "(B, T, H)") -> Array:
        """``a`` time first; with ``batch_first`` its first two axes are swapped, once its shape is checked (NumPy's
        "axes don't match array" was all a 2-d input got)."""
        if not self.batch_first:
            return a  # the layers check it, naming (T, B, ...)
        if is_masked(a):
            raise masked_array_refusal(name)
        if not is_array(a):
            raise TypeError(f"{name} must be an array {axes} (batch_first=True), got a {type(a).__name__}")
        if len(a.shape) != 3:
            unbatched = f"; one unbatched sequence (T, {axes[-2]}) needs a batch axis first: {name}[None]" if len(a.shape) == 2 else ""
            raise ValueError(f"{name} must have shape {axes} with batch_first=True, got {tuple(a.shape)}{unbatched}")
        return namespace(a).permute_dims(a, (1, 0, 2))

    def forward(self, x: Array, state: tuple[Array, Array] | None = None):
        """``(output, (h_n, c_n))`` for ``x``; ``state`` is ``(h_0, c_0)``, each (num_layers, B, H) or None for zeros."""
        self._check_layered("state", state, "(h_0, c_0)")
        states = None
        if state is not None:  # a None entry is zeros, as lstm_forward's h0=None or c0=None (it was indexed and crashed)
            h_0, c_0 = state
            states = [(None if h_0 is None else h_0[l, :, :], None if c_0 is None else c_0[l, :, :]) for l in range(self.num_layers)]
        out, states_T, self._cache = stack_forward("lstm", self.layers, self._time_major(x, "x", "(B, T, D)"), states, engine=self.engine)
        xp = namespace(out)
        h_n = xp.stack([h for h, _ in states_T], axis=0)
        c_n = xp.stack([c for _, c in states_T], axis=0)
        output = self._time_major(out, "output")
        self._output_shape = tuple(output.shape)
        return output, (h_n, c_n)

    __call__ = forward

    def backward(self, doutput: Array | None, dstate: tuple[Array | None, Array | None] | None = None):
        """Backward of the last ``forward``: returns ``(dx, (dh_0, dc_0))`` and sets ``self.grads``.

        ``doutput`` has the shape of ``output`` (None for zeros); ``dstate`` is ``(dh_n, dc_n)``.
        """
        if self._cache is None:
            raise RuntimeError("call forward before backward")
        dstates_T = None
        self._check_layered("dstate", dstate, "(dh_n, dc_n)")
        if dstate is not None:
            dh_n, dc_n = dstate
            dstates_T = [(None if dh_n is None else dh_n[l, :, :], None if dc_n is None else dc_n[l, :, :])
                         for l in range(self.num_layers)]
        if self.batch_first and is_array(doutput) and len(doutput.shape) == 3 and tuple(doutput.shape) != self._output_shape:
            # checked before the swap: after it, the error named the shape the caller had given as the one expected
            raise ValueError(f"doutput must have the shape of the last output, (B, T, H) = {self._output_shape} with "
                             f"batch_first=True, got {tuple(doutput.shape)}")
        dout = None if doutput is None else self._time_major(doutput, "doutput")
        self.grads, dx, dstates_0 = stack_backward(self._cache, dout, dstates_T)
        xp = namespace(dx)
        return self._time_major(dx, "dx", "(B, T, D)"), (xp.stack([d[0] for d in dstates_0], axis=0), xp.stack([d[1] for d in dstates_0], axis=0))
