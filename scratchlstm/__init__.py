"""scratchlstm: an LSTM written by hand, checked against finite differences, PyTorch and Keras.

The names most people need:

    from scratchlstm import lstm_forward, lstm_backward, clip_grad_norm, lstm_gradcheck, LSTM
    from scratchlstm import rnn_forward, rnn_backward, gru_forward, gru_backward   # for comparison
    from scratchlstm import interop                                                # PyTorch and Keras converters

``lstm_forward(params, x)`` runs the reference code the docs derive; ``engine="fast"`` runs the speed
kernel of NumPy or CuPy arrays.
"""

from . import interop
from .clipping import clip_grad_norm, clip_grad_value, global_norm
from .gradcheck import GradcheckError, GradcheckReport, cell_gradcheck, gradcheck, gru_gradcheck, lstm_gradcheck, rnn_gradcheck
from .nn import (CELLS, ENGINES, GATE_ORDER, LSTM, gru_backward, gru_forward, init_gru_params, init_lstm_params, init_rnn_params,
                 lstm_backward, lstm_cell_backward, lstm_cell_forward, lstm_forward, rnn_backward, rnn_forward)

__version__ = "0.2.0"

__all__ = [
    "CELLS",
    "ENGINES",
    "GATE_ORDER",
    "GradcheckError",
    "GradcheckReport",
    "LSTM",
    "cell_gradcheck",
    "clip_grad_norm",
    "clip_grad_value",
    "global_norm",
    "gradcheck",
    "gru_backward",
    "gru_forward",
    "gru_gradcheck",
    "init_gru_params",
    "init_lstm_params",
    "init_rnn_params",
    "interop",
    "lstm_backward",
    "lstm_cell_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "lstm_gradcheck",
    "rnn_backward",
    "rnn_forward",
    "rnn_gradcheck",
]
