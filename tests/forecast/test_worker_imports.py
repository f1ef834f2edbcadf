"""What a worker process imports before its first fit: the fit's modules, not pandas, the report or the figures.

A walk-forward's second fit runs in a spawned worker, which imports what the fit needs before it starts; the
main job waits for it. Importing ``scratchlstm.forecast.protocol`` used to run the package's ``__init__``, which
imported the run, the report and the predict modules, and with them pandas: 0.55 s of the worker's start against
0.27 s now (docs/speed.md). The property is checked here, the time in the doc.
"""

import subprocess
import sys

import pytest

HEAVY = ("pandas", "matplotlib", "scratchlstm.forecast.run", "scratchlstm.forecast.report", "scratchlstm.data")


def test_the_fit_modules_import_without_pandas_the_report_or_the_figures():
    code = ("import sys; import scratchlstm.forecast.protocol, scratchlstm.forecast.executors; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout


@pytest.mark.parametrize("name", ["ForecastConfig", "run_forecast", "predict_next", "Scaler", "baseline_forecasts",
                                  "walk_forward", "PRESETS"])
def test_the_packages_names_are_there_on_first_use(name):
    import scratchlstm.forecast as forecast

    assert name in forecast.__all__ and name in dir(forecast)
    assert getattr(forecast, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        forecast.no_such_name  # noqa: B018
