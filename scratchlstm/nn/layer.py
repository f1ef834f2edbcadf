"""``LSTM``: a small layer class with PyTorch's calling convention around the stateless math.

    lstm = LSTM(input_size=1, hidden_size=50, num_layers=2, batch_first=True)
    output, (h_n, c_n) = lstm(x)             # x (B, T, D); output (B, T, H); h_n, c_n (L, B, H)
    dx, (dh0, dc0) = lstm.backward(doutput)  # fills lstm.grads, one dict per layer

The class only holds parameters and the last forward's cache; all math is in ``lstm.py`` and
``stack.py``.
"""

from __future__ import annotations

from typing import Sequence

from ..backend import Array, host_rng, namespace
from .init import init_lstm_params
from .lstm import Params, lstm_sizes
from .stack import stack_backward, stack_forward


class LSTM:
    """Multi-layer LSTM with ``torch.nn.LSTM`` semantics (``num_layers``, ``batch_first``, states
    of shape (num_layers, B, H)), forward and backward by hand.

    Parameters
    ----------
    input_size, hidden_size, num_layers : as in PyTorch
    batch_first : inputs and outputs are (B, T, *) instead of (T, B, *)
    seed, scheme, forget_bias : see :func:`scratchlstm.nn.init.init_lstm_params`
    xp, dtype, device : where the weights live (NumPy float32 by default)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        batch_first: bool = False,
        seed: int = 0,
        scheme: str = "pytorch",
        forget_bias: float = 0.0,
        xp=None,
        dtype: str = "float32",
        device=None,
    ):
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        rng = host_rng(seed)
        layers = [
            init_lstm_params(input_size if l == 0 else hidden_size, hidden_size, seed=rng, scheme=scheme,
                             forget_bias=forget_bias, xp=xp, dtype=dtype, device=device)
            for l in range(num_layers)
        ]
        self._set_layers(layers, batch_first)

    @classmethod
    def from_layers(cls, layers: Sequence[Params], *, batch_first: bool = False) -> "LSTM":
        """Wrap existing per-layer parameter dicts (for example from :mod:`scratchlstm.interop`)."""
        self = cls.__new__(cls)
        self._set_layers(list(layers), batch_first)
        return self

    def _set_layers(self, layers: list[Params], batch_first: bool) -> None:
        sizes = [lstm_sizes(p) for p in layers]
        H = sizes[0][1]
        if any(h != H for _, h in sizes) or any(d != H for d, _ in sizes[1:]):
            raise ValueError(f"all layers of an LSTM must have the same hidden size; got (D, H) per layer {sizes}")
        self.layers = layers
        self.input_size, self.hidden_size, self.num_layers = sizes[0][0], H, len(layers)
        self.batch_first = batch_first
        self.grads: list[Params] | None = None
        self._cache = None

    def _time_major(self, a: Array) -> Array:
        return namespace(a).permute_dims(a, (1, 0, 2)) if self.batch_first else a

    def forward(self, x: Array, state: tuple[Array, Array] | None = None):
        """``(output, (h_n, c_n))`` for ``x``; ``state`` is ``(h_0, c_0)``, each (num_layers, B, H)."""
        xp = namespace(x)
        L = self.num_layers
        h0s = c0s = None
        if state is not None:
            h0, c0 = state
            h0s = [h0[l, :, :] for l in range(L)]
            c0s = [c0[l, :, :] for l in range(L)]
        out, (h_Ts, c_Ts), self._cache = stack_forward(self.layers, self._time_major(x), h0s, c0s)
        return self._time_major(out), (xp.stack(h_Ts, axis=0), xp.stack(c_Ts, axis=0))

    __call__ = forward

    def backward(self, doutput: Array | None, dstate: tuple[Array | None, Array | None] | None = None):
        """Backward of the last :meth:`forward`: returns ``(dx, (dh_0, dc_0))`` and sets ``self.grads``.

        ``doutput`` has the shape of ``output`` (None for zeros); ``dstate`` is ``(dh_n, dc_n)``.
        """
        if self._cache is None:
            raise RuntimeError("call forward before backward")
        L = self.num_layers
        dh_Ts = dc_Ts = None
        if dstate is not None:
            dh_n, dc_n = dstate
            dh_Ts = None if dh_n is None else [dh_n[l, :, :] for l in range(L)]
            dc_Ts = None if dc_n is None else [dc_n[l, :, :] for l in range(L)]
        dout = None if doutput is None else self._time_major(doutput)
        self.grads, dx, dh0s, dc0s = stack_backward(self._cache, dout, dh_Ts, dc_Ts)
        xp = namespace(dx)
        return self._time_major(dx), (xp.stack(dh0s, axis=0), xp.stack(dc0s, axis=0))
