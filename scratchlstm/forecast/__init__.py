"""Forecasting prices with the LSTM, evaluated honestly: walk-forward, baselines, diagnostics."""

from .config import PRESETS, ForecastConfig, load_config_file, preset
from .baselines import baseline_forecasts, classical_forecasts, detect_season
from .evaluate import evaluate_forecasts, persistence_diagnostic
from .protocol import Scaler, walk_forward
from .run import ForecastResult, run_forecast

__all__ = [
    "PRESETS",
    "ForecastConfig",
    "ForecastResult",
    "Scaler",
    "baseline_forecasts",
    "classical_forecasts",
    "detect_season",
    "evaluate_forecasts",
    "load_config_file",
    "persistence_diagnostic",
    "preset",
    "run_forecast",
    "walk_forward",
]
