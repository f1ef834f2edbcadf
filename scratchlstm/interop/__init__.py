"""Exact weight converters between scratchlstm and other libraries.

``scratchlstm.interop.torch``        PyTorch's ``nn.LSTM``, ``nn.GRU`` and ``nn.RNN``
``scratchlstm.interop.keras``        Keras 3's ``LSTM``, ``GRU`` and ``SimpleRNN`` layers
``scratchlstm.interop.keras_model``  the Keras tutorial's ``Sequential`` forecaster, whole

Each converter copies: the arrays it returns share no memory with the other library's tensors.
The other library is imported only when a converter is called.
"""

from .keras import ConversionWarning, gru_from_keras, gru_to_keras, lstm_from_keras, lstm_to_keras, rnn_from_keras, rnn_to_keras
from .keras_model import model_from_keras, model_to_keras
from .torch import gru_from_torch, gru_to_torch, lstm_from_torch, lstm_to_torch, rnn_from_torch, rnn_to_torch

__all__ = [
    "ConversionWarning",
    "gru_from_keras",
    "gru_from_torch",
    "gru_to_keras",
    "gru_to_torch",
    "lstm_from_keras",
    "lstm_from_torch",
    "lstm_to_keras",
    "lstm_to_torch",
    "model_from_keras",
    "model_to_keras",
    "rnn_from_keras",
    "rnn_from_torch",
    "rnn_to_keras",
    "rnn_to_torch",
]
