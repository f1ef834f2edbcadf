"""Fixtures shared by every test folder: the backend cases of ``tests.helpers``.

CI has NumPy and array-api-strict (default device, ``device1``, and ``no_float64`` in float32); CuPy
cases run where CuPy and a GPU are present and are skipped otherwise.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from tests.helpers import ALL_CASES, F64_CASES, Case

# Property tests draw the same examples on every run, so a test run (CI's included) is repeatable.
# HYPOTHESIS_PROFILE=explore draws new ones on each run, to look for new failures.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(params=ALL_CASES, ids=str)
def case(request) -> Case:
    return request.param


@pytest.fixture(params=F64_CASES, ids=str)
def case64(request) -> Case:
    return request.param
