"""Fixtures shared by every test folder: the backend cases of ``tests.helpers``.

CI has NumPy and array-api-strict (default device, ``device1``, and ``no_float64`` in float32); CuPy
cases run where CuPy and a GPU are present and are skipped otherwise.
"""

from __future__ import annotations

import pytest

from tests.helpers import ALL_CASES, F64_CASES, Case


@pytest.fixture(params=ALL_CASES, ids=str)
def case(request) -> Case:
    return request.param


@pytest.fixture(params=F64_CASES, ids=str)
def case64(request) -> Case:
    return request.param
