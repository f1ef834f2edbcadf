"""Fixtures shared by every test folder: the backend cases of ``tests.helpers``.

CI has NumPy and array-api-strict (default device, ``device1``, and ``no_float64`` in float32); CuPy
cases run where CuPy and a GPU are present and are skipped otherwise.
"""

from __future__ import annotations

import os
import signal

import pytest
from hypothesis import settings

from tests.helpers import ALL_CASES, F64_CASES, Case

# Property tests draw the same examples on every run, so a test run (CI's included) is repeatable.
# HYPOTHESIS_PROFILE=explore draws new ones on each run, to look for new failures.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# The tests of Ctrl-C and SIGTERM model a command typed at a terminal, where neither is ignored. A test run started
# by a script in the background (``cmd &`` without job control, as some CI runners do) starts with both ignored, and
# the command line rightly keeps an ignored signal ignored: here they get what a terminal gives, in this process and,
# through it, in the processes the tests start. (tests/forecast/test_swallowed_stops.py tests the ignored case.)
for _stop, _handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
    if signal.getsignal(_stop) is signal.SIG_IGN:
        signal.signal(_stop, _handler)


@pytest.fixture(params=ALL_CASES, ids=str)
def case(request) -> Case:
    return request.param


@pytest.fixture(params=F64_CASES, ids=str)
def case64(request) -> Case:
    return request.param
