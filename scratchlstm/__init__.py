"""scratchlstm: an LSTM written by hand, checked against finite differences and PyTorch.

The names most people need::

    from scratchlstm import lstm_forward, lstm_backward, clip_grad_norm, lstm_gradcheck, LSTM
    from scratchlstm import rnn_forward, rnn_backward, gru_forward, gru_backward   # for comparison
"""

from .clipping import clip_grad_norm, clip_grad_value, global_norm
from .gradcheck import GradcheckError, GradcheckReport, gradcheck, lstm_gradcheck, rnn_gradcheck
from .nn.gru import gru_backward, gru_forward
from .nn.rnn import rnn_backward, rnn_forward
from .nn import GATE_ORDER, LSTM, init_lstm_params, lstm_backward, lstm_cell_backward, lstm_cell_forward, lstm_forward

__version__ = "0.1.0"

__all__ = [
    "GATE_ORDER",
    "GradcheckError",
    "GradcheckReport",
    "LSTM",
    "clip_grad_norm",
    "clip_grad_value",
    "global_norm",
    "gradcheck",
    "init_lstm_params",
    "lstm_backward",
    "lstm_cell_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "lstm_gradcheck",
    "gru_backward",
    "gru_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_gradcheck",
]
