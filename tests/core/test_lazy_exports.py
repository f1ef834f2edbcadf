"""The packages whose public names are imported on first use (``lazy_exports``) list each name twice: in the map
that the import follows at run time, and in the ``TYPE_CHECKING`` imports that readers, type checkers and the API
docs follow. The two must name the same things from the same modules, and every listed name must import."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import scratchlstm

PACKAGES = ("scratchlstm.forecast", "scratchlstm.data")


def type_checking_imports(package: str) -> dict[str, str]:
    """``{name: module}`` of the ``from .module import name`` lines under ``if TYPE_CHECKING:`` in the package's
    ``__init__``."""
    source = Path(scratchlstm.__file__).parent.joinpath(*package.split(".")[1:], "__init__.py").read_text()
    found = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for line in node.body:
                assert isinstance(line, ast.ImportFrom) and line.level == 1, ast.unparse(line)
                found.update({alias.name: line.module for alias in line.names})
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_the_lazy_map_and_the_type_checking_imports_agree_and_every_name_imports(package):
    module = importlib.import_module(package)
    assert type_checking_imports(package) == module._WHERE
    assert set(module._WHERE) <= set(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    assert set(module.__all__) <= set(dir(module))


def test_every_package_that_imports_lazily_is_checked():
    root = Path(scratchlstm.__file__).parent
    lazy = {".".join(("scratchlstm", *path.parent.relative_to(root).parts)) for path in root.rglob("__init__.py")
            if "lazy_exports(__name__" in path.read_text()}
    assert lazy == set(PACKAGES)
