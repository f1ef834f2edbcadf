"""One build of the docs site for every test that reads it (a build runs the notebooks: half a minute)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The site built with ``mkdocs build --strict`` (a warning fails the build) into a temporary folder."""
    pytest.importorskip("mkdocs", reason="pip install -e '.[docs]' installs mkdocs")
    pytest.importorskip("latex2mathml", reason="pip install -e '.[docs]' installs latex2mathml")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out
