"""Forecasting prices with the LSTM, evaluated honestly: walk-forward, baselines, diagnostics.

``config`` (the settings), ``protocol`` (windows, cutoffs, walk-forward, the seasonal index, the
automatic settings, the keep-or-revert test), ``baselines`` (naive, seasonal naive and the others,
the classical peers), ``evaluate`` (metrics and tests), ``run`` (``run_forecast``), ``report`` (table, files, figures),
``predict`` (forecasts from a saved model, with fit checks).
"""

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

# Each public name and its module, imported when first used (PEP 562): a worker process that only fits imports
# protocol and what it needs, not the report, the figures' modules or pandas, about 0.3 s of its start.
_WHERE = {
    "baseline_forecasts": "baselines", "classical_forecasts": "baselines", "detect_season": "baselines",
    "PRESETS": "config", "ForecastConfig": "config", "load_config_file": "config", "preset": "config",
    "evaluate_forecasts": "evaluate", "persistence_diagnostic": "evaluate",
    "Prediction": "predict", "predict_next": "predict",
    "walk_forward": "protocol",
    "Scaler": "windows",
    "ForecastResult": "run", "run_forecast": "run",
}

if TYPE_CHECKING:  # what readers and documentation tools see
    from .baselines import baseline_forecasts, classical_forecasts, detect_season
    from .config import PRESETS, ForecastConfig, load_config_file, preset
    from .evaluate import evaluate_forecasts, persistence_diagnostic
    from .predict import Prediction, predict_next
    from .protocol import walk_forward
    from .run import ForecastResult, run_forecast
    from .windows import Scaler


__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

__all__ = sorted(_WHERE)  # (tests/core/test_lazy_exports.py checks that the TYPE_CHECKING imports name the same)
