"""Forecasting prices with the LSTM, evaluated honestly: walk-forward, baselines, diagnostics.

``config`` (the settings), ``protocol`` (windows, cutoffs, walk-forward, the seasonal index, the
automatic settings, the keep-or-revert test), ``baselines`` (naive, seasonal naive and the others,
the classical peers), ``evaluate`` (metrics and tests), ``run`` (``run_forecast``), ``report`` (table, files, figures),
``predict`` (forecasts from a saved model, with fit checks).
"""

from .baselines import baseline_forecasts, classical_forecasts, detect_season
from .config import PRESETS, ForecastConfig, load_config_file, preset
from .evaluate import evaluate_forecasts, persistence_diagnostic
from .predict import Prediction, predict_next
from .protocol import walk_forward
from .windows import Scaler
from .run import ForecastResult, run_forecast

__all__ = [
    "PRESETS",
    "ForecastConfig",
    "ForecastResult",
    "Prediction",
    "Scaler",
    "baseline_forecasts",
    "classical_forecasts",
    "detect_season",
    "evaluate_forecasts",
    "load_config_file",
    "persistence_diagnostic",
    "predict_next",
    "preset",
    "run_forecast",
    "walk_forward",
]
