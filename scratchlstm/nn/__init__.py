"""The math: cells, their backward passes, stacking and initialisation. No I/O, no plotting."""

from .functional import sigmoid, sigmoid_grad_from_output, tanh, tanh_grad_from_output
from .init import init_lstm_params
from .layer import LSTM
from .lstm import (
    GATE_ORDER,
    lstm_backward,
    lstm_backward_reference,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_forward,
    lstm_forward_reference,
    reference_only,
)
from .stack import stack_backward, stack_forward

__all__ = [
    "GATE_ORDER",
    "LSTM",
    "init_lstm_params",
    "lstm_backward",
    "lstm_backward_reference",
    "lstm_cell_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "lstm_forward_reference",
    "reference_only",
    "sigmoid",
    "sigmoid_grad_from_output",
    "stack_backward",
    "stack_forward",
    "tanh",
    "tanh_grad_from_output",
]
