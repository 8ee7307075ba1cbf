"""gkreport: the annual government-information-disclosure report (政府信息公开工作年度报告).

Official Excel templates, declarative rules, validation with in-place marks, and
county consolidation. The pure core (forms, values, engine, locate, findings) never
touches files; adapters (readers, markers, CLI, the xlwings add-in) do.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from . import _aliases

_aliases.install()  # the old flat module names (gkreport.values, gkreport.xlcall, ...) keep working

if TYPE_CHECKING:
    from .api import check as check
    from .api import read as read

_API = ("read", "check")  # gkreport.read / gkreport.check: the functions of gkreport.api


def __getattr__(name: str) -> Any:
    """The Python interface (:mod:`gkreport.api`), loaded on first use: ``import gkreport`` and
    ``gkreport --version`` must not pay for the engine, the readers or pandas (tests/test_startup.py).
    ``gkreport.consolidate`` (the old name of gkreport.consolidation.consolidate) is a module; the function is :func:`gkreport.api.consolidate`.
    """
    import importlib

    if name in _API:
        value = getattr(importlib.import_module(".api", __name__), name)
        globals()[name] = value
        return value
    if name == "api":
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
