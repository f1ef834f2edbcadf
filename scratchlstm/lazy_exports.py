"""A package's public names imported from their modules on first use (PEP 562).

A package whose ``__init__`` imported every module made each of its users pay for all of them: the command
line loaded pandas to build its flags, and a worker process that only fits loaded the report and the figures.
With ``lazy_exports`` the package lists where each name lives, and a name's module is imported the first time
the name is used; ``from package import name`` works as before.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable


def lazy_exports(package: str, where: dict[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose public name ``n`` is defined in its module
    ``where[n]`` (relative to the package, without the leading dot).

    Usage, in the package's ``__init__``: ``__getattr__, __dir__ = lazy_exports(__name__, {"load_prices": "loaders"})``.
    """
    namespace = import_module(package).__dict__  # the package's module, being initialised: its globals

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{where[name]}", package), name)
        namespace[name] = value  # once imported, an attribute like any other
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
