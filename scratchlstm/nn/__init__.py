"""The math: cells, their backward passes, stacking and initialisation. No I/O, no plotting."""

from .cells import CELLS, Cell, get_cell
from .functional import sigmoid, sigmoid_grad_from_output, tanh, tanh_grad_from_output
from .gru import gru_backward, gru_forward
from .init import init_gru_params, init_lstm_params, init_rnn_params
from .layer import LSTM
from .lstm import GATE_ORDER, LSTMCache, lstm_backward, lstm_cell_backward, lstm_cell_forward, lstm_forward, lstm_sizes
from .model import Model, ModelConfig, model_backward, model_forward
from .rnn import rnn_backward, rnn_forward
from .shapes import ENGINES, Params
from .stack import draw_dropout_masks, stack_backward, stack_forward

__all__ = [
    "CELLS",
    "Cell",
    "ENGINES",
    "GATE_ORDER",
    "LSTM",
    "LSTMCache",
    "Model",
    "ModelConfig",
    "Params",
    "draw_dropout_masks",
    "get_cell",
    "gru_backward",
    "gru_forward",
    "init_gru_params",
    "init_lstm_params",
    "init_rnn_params",
    "lstm_backward",
    "lstm_cell_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "lstm_sizes",
    "model_backward",
    "model_forward",
    "rnn_backward",
    "rnn_forward",
    "sigmoid",
    "sigmoid_grad_from_output",
    "stack_backward",
    "stack_forward",
    "tanh",
    "tanh_grad_from_output",
]
