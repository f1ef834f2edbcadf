"""Property-based tests of the protocol: training windows never cross the cutoff."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchlstm.errors import DataError
from scratchlstm.forecast.config import ForecastConfig
from scratchlstm.forecast.windows import first_origin, training_origins, walk_forward_origins, windows


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(20, 400),
    window=st.integers(1, 40),
    horizon=st.integers(1, 7),
    target=st.sampled_from(["returns", "price"]),
    cutoff_frac=st.floats(0.0, 1.0),
)
def test_training_windows_never_cross_the_cutoff(n, window, horizon, target, cutoff_frac):
    config = ForecastConfig(window=window, horizon=horizon, target=target, test_size=1, batch_size=8)
    cutoff = int(cutoff_frac * (n - 1))
    origins = training_origins(cutoff, config)
    if len(origins) == 0:
        return
    series = np.arange(n, dtype=float)  # the value is its own index: windows show which steps they read
    X, Y = windows(series, origins, window, horizon)
    assert Y.max() <= cutoff  # every target step is known at the cutoff
    assert X.max() <= cutoff - horizon  # and every input precedes its target
    assert X.min() >= (1 if target == "returns" else 0)  # r[0] does not exist
    assert origins.min() == first_origin(config)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(60, 500), window=st.integers(1, 20), horizon=st.integers(1, 5), test=st.integers(1, 30))
def test_test_points_come_after_every_training_target(n, window, horizon, test):
    config = ForecastConfig(window=window, horizon=horizon, test_size=test, batch_size=8)
    try:
        origins = walk_forward_origins(n, config)
    except DataError:
        return
    assert origins[-1] + horizon == n - 1 and len(origins) == test
    train = training_origins(int(origins[0]), config)  # the first fit's windows
    assert train.max() + horizon <= origins[0] < origins[0] + horizon
