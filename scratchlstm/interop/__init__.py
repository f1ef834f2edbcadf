"""Exact weight converters between scratchlstm and other libraries.

``scratchlstm.interop.torch``  PyTorch's ``nn.LSTM``, ``nn.GRU`` and ``nn.RNN``

Each converter copies: the arrays it returns share no memory with the other library's tensors.
The other library is imported only when a converter is called.
"""

from .torch import gru_from_torch, gru_to_torch, lstm_from_torch, lstm_to_torch, rnn_from_torch, rnn_to_torch

__all__ = [
    "gru_from_torch",
    "gru_to_torch",
    "lstm_from_torch",
    "lstm_to_torch",
    "rnn_from_torch",
    "rnn_to_torch",
]
