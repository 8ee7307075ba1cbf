"""The import contract: the pure core imports no adapter library.

The core (forms, values, the engine, localisation, findings, the publication's content) works
on a ``Report`` and never touches a file format, so importing it must not load openpyxl,
xlwings, python-calamine, python-docx or lxml: a click of the add-in, a worker process and a
script using only the engine then do not pay for them, and a new input or output format stays
an adapter. Nor may it load scipy, which gkreport no longer uses (HiGHS is called through highspy).
Each module is imported in a fresh interpreter, so what another test imported
does not hide a violation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils.cell import column_index_from_string, get_column_letter

from gkreport.core import addresses

# Every module of the core folder (a module added there is held to the contract without being
# listed), and the pure modules that live with their adapters.
CORE_DIR = Path(addresses.__file__).parent
CORE = (
    *sorted(f"gkreport.core.{p.stem}" for p in CORE_DIR.glob("*.py") if p.stem != "__init__"),
    "gkreport.output.safety",
    "gkreport.markers.marking",
    "gkreport.publish.content",
    "gkreport.publish.grid",
)
ADAPTERS = ("openpyxl", "xlwings", "python_calamine", "docx", "lxml")
# Not a dependency at all: localisation calls HiGHS through highspy (scipy.optimize alone took ~0.5 s).
UNUSED = ("scipy",)

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(n for n in sys.modules if n.split(".")[0] in sys.argv[2:])))
"""


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_adapter(module: str) -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE, module, *ADAPTERS, *UNUSED],
                         capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out)
    assert loaded == [], f"importing {module} loads {loaded[:5]}"


def test_probe_sees_an_adapter() -> None:
    """The probe itself works: a module that does import openpyxl is caught."""
    out = subprocess.run([sys.executable, "-c", _PROBE, "gkreport.output.fill", *ADAPTERS],
                         capture_output=True, text=True, check=True).stdout
    assert "openpyxl" in json.loads(out)


@given(st.integers(1, addresses.MAX_COLUMN))
def test_column_letters_agree_with_openpyxl(col: int) -> None:
    letters = addresses.get_column_letter(col)
    assert letters == get_column_letter(col)
    assert addresses.column_index_from_string(letters) == column_index_from_string(letters) == col


@pytest.mark.parametrize("bad", [0, -1, addresses.MAX_COLUMN + 1])
def test_column_out_of_range_is_refused(bad: int) -> None:
    with pytest.raises(ValueError):
        addresses.get_column_letter(bad)


@pytest.mark.parametrize("bad", ["", "ABCD", "A1", "Ä", "a1"])  # lower case is accepted, as by openpyxl
def test_not_column_letters_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        addresses.column_index_from_string(bad)
