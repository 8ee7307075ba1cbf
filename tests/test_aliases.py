"""The old flat module names keep working after the folders by concern (issue #14).

Add-ins installed at agencies start ``python -m gkreport.xlcall`` / ``import gkreport.xlcall``,
and users' scripts import ``gkreport.consolidate`` or patch ``gkreport.engine.check``: every
old name must give the SAME module object as its new name (a second copy would have its own
globals, so a patch or a setting on one would not reach the other). This is the one test that
uses the old names on purpose; every other test uses the new ones.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest

import gkreport
from gkreport._aliases import ALIASES

PACKAGE = Path(gkreport.__file__).parent


def test_every_new_name_is_a_module_file_and_no_old_file_is_left() -> None:
    """The table is right: each new name has its file, and no file still answers an old
    name (it would be imported instead of the alias: two copies of one module)."""
    for old, new in ALIASES.items():
        assert (PACKAGE / (new.replace(".", "/") + ".py")).is_file(), new
        assert not (PACKAGE / f"{old}.py").exists(), old
        assert not (PACKAGE / old / "__init__.py").exists(), old


@pytest.mark.parametrize("old", sorted(ALIASES))
def test_old_name_is_the_same_module_object(old: str) -> None:
    new = importlib.import_module(f"gkreport.{ALIASES[old]}")
    assert importlib.import_module(f"gkreport.{old}") is new
    assert sys.modules[f"gkreport.{old}"] is new
    assert getattr(gkreport, old) is new  # `from gkreport import values` and `gkreport.values`
    assert new.__name__ == f"gkreport.{ALIASES[old]}"  # the module keeps its real name (pickling)


def test_patching_an_old_name_patches_the_real_module() -> None:
    from gkreport.core import engine

    real = engine.check
    with mock.patch("gkreport.engine.check") as fake:
        assert engine.check is fake
    assert engine.check is real


def _fresh_import(old: str) -> tuple[str, subprocess.CompletedProcess[str]]:
    code = (f"import sys, gkreport.{old} as m; from gkreport import {old} as n; "
            f"assert m is n is sys.modules['gkreport.{ALIASES[old]}']; print(m.__name__)")
    return old, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_each_old_name_imports_in_a_fresh_interpreter() -> None:
    """Nothing imported earlier in this process hides a name that only works after another
    import: each old name is imported first thing in its own interpreter."""
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        done = list(pool.map(_fresh_import, sorted(ALIASES)))
    failed = {old: r.stderr.strip().splitlines()[-1:] for old, r in done if r.returncode != 0}
    assert failed == {}
    assert {old: r.stdout.strip() for old, r in done} == {old: f"gkreport.{new}" for old, new in ALIASES.items()}


def test_an_addin_built_before_the_move_still_starts_its_launcher() -> None:
    """What the old .bas runs: ``pythonw -m gkreport.xlcall <button>`` (here without Excel,
    so the launcher itself answers with its usage line: it ran, as the new module)."""
    done = subprocess.run([sys.executable, "-m", "gkreport.xlcall"], capture_output=True, text=True, timeout=300)
    assert "usage: python -m gkreport.addin.xlcall" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "No module named" not in done.stderr
    old_cli = subprocess.run([sys.executable, "-m", "gkreport.cli", "--version"], capture_output=True, text=True,
                             timeout=300)
    assert old_cli.returncode == 0 and old_cli.stdout.startswith("gkreport "), old_cli.stderr


def test_unknown_names_are_still_missing() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("gkreport.no_such_module")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("gkreport.core.values_old")
