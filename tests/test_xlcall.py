"""The add-in's launcher (``python -m gkreport.addin.xlcall``) and the cost of a click."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gkreport.addin import excel, xlcall

IMPORT_BUDGET_S = 0.1


def _importtime(module: str) -> dict[str, int]:
    """module -> self time (µs) of everything ``import module`` loads, from ``-X importtime``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPROFILEIMPORTTIME"}
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                         capture_output=True, text=True, check=True, env=env).stderr
    out: dict[str, int] = {}
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if m:
            out[m.group(2)] = int(m.group(1))
    return out


def test_entry_module_adds_at_most_a_tenth_of_a_second_over_xlwings() -> None:
    base = set(_importtime("xlwings"))
    extra = min(sum(t for mod, t in _importtime("gkreport.addin.excel").items() if mod not in base) for _ in range(5))
    assert extra / 1e6 <= IMPORT_BUDGET_S, f"gkreport.addin.excel adds {extra / 1e3:.0f} ms over xlwings"
    loaded = set(_importtime("gkreport.addin.excel"))
    for heavy in ("openpyxl", "jsonschema", "gkreport.core.engine", "gkreport.core.forms", "gkreport.consolidation.consolidate"):
        assert heavy not in loaded, heavy  # imported by the button that needs it, not at start


def test_launcher_imports_xlwings_without_pandas_and_numpy() -> None:
    code = ("import sys, gkreport.addin.xlcall as m; m.import_xlwings(); "
            "print(sorted(n for n in ('pandas', 'numpy', 'openpyxl') if n in sys.modules)); "
            "import xlwings; print(xlwings.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "[]"
    code = "import gkreport.addin.xlcall as m; m.import_xlwings(); import pandas; print('ok')"  # still importable
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() in ("ok", "")


@pytest.fixture(autouse=True)
def _isolated(excel_log: Path) -> Iterator[Path]:
    yield excel_log
    excel.use_app(None)


def test_every_button_is_an_entry_point() -> None:
    for name in xlcall.BUTTONS:
        assert callable(getattr(excel, name))


def test_an_old_addins_per_version_buttons_are_accepted() -> None:
    # Add-ins built before 新建填报表 chose the form by year start new_form_<version>.
    assert xlcall.parse_args(["new_form_2021", "--pid=7"]).button == "new_form_2021"
    assert callable(getattr(excel, xlcall.parse_args(["new_form_2019"]).button))
    assert xlcall.parse_args(["new_form"]).button == "new_form"
    with pytest.raises(SystemExit):
        xlcall.parse_args(["new_form_latest"])


def test_bad_arguments_are_logged_not_raised(_isolated: Path) -> None:
    assert xlcall.main(["no_such_button"]) == xlcall.EXIT_FAILED
    assert "no_such_button" in _isolated.read_text("utf-8")


def test_a_broken_install_exits_non_zero_with_the_traceback_in_the_log(
    _isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The VBA then shows one Chinese dialog naming the log (GKText("python_failed")).
    monkeypatch.setitem(sys.modules, "gkreport.addin.excel", None)
    monkeypatch.delattr(sys.modules["gkreport.addin"], "excel", raising=False)
    assert xlcall.main(["check_active", "--pid=4242"]) == xlcall.EXIT_FAILED
    text = _isolated.read_text("utf-8")
    assert "Traceback" in text and "ModuleNotFoundError" in text


def test_a_message_no_box_could_show_goes_to_the_log(capsys: pytest.CaptureFixture[str], _isolated: Path) -> None:
    # No Excel here (as when the clicking Excel cannot be reached): the button ran, its
    # message could not be shown, so it is logged and the VBA is told (exit code) to
    # show its Chinese dialog naming the log. pythonw has no stderr to fall back on.
    assert xlcall.main(["show_help", "--pid=4242", f"--addin-version={excel.__version__}",
                        "--wb=年报.xlsx", "--from_xl=1"]) == xlcall.EXIT_FAILED
    assert "gkreport 版本" in capsys.readouterr().err
    assert "gkreport 版本" in _isolated.read_text("utf-8")
    assert xlcall.main(["check_active"]) == xlcall.EXIT_FAILED
    assert "没有打开的工作簿" in _isolated.read_text("utf-8")


def test_a_button_whose_message_was_shown_exits_zero(monkeypatch: pytest.MonkeyPatch, _isolated: Path) -> None:
    app = _App()
    monkeypatch.setattr(xlcall, "_excel_app", lambda xw, pid: app)
    assert xlcall.main(["show_help", "--pid=1"]) == xlcall.EXIT_OK
    assert "gkreport 版本" in app.seen[-1] and not _isolated.exists()


class _App:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.books = self

    @property
    def active(self) -> Any:
        return None

    def alert(self, text: str, **_: Any) -> None:
        self.seen.append(text)


def test_old_add_in_after_an_upgrade_is_named_in_chinese() -> None:
    import xlwings as xw

    app = _App()
    excel.use_app(app, addin_version="0.0.9", xlwings_version=xw.__version__)
    excel.clear_marks()
    assert "gkreport 0.0.9 版生成" in app.seen[0] and "python -m gkreport addin install" in app.seen[0]
    assert "没有打开的工作簿" in app.seen[1]


def test_xlwings_mismatch_is_named_in_chinese() -> None:
    app = _App()
    excel.use_app(app, addin_version=excel.__version__, xlwings_version="0.30.0")
    excel.show_help()
    assert "xlwings 版本不一致" in app.seen[0]
    assert "gkreport 版本" in app.seen[1]


def test_matching_versions_say_nothing() -> None:
    import xlwings as xw

    app = _App()
    excel.use_app(app, addin_version=excel.__version__, xlwings_version=xw.__version__)
    excel.show_help()
    assert len(app.seen) == 1 and "gkreport 版本" in app.seen[0]


def test_python_dash_m_gkreport_runs_the_cli(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "gkreport", "addin", "build", "-o", str(tmp_path / "a.xlam")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.xlam").is_file()


def test_sheet_names_copied_to_keep_the_import_light_match_marking() -> None:
    from gkreport.core.livecalc import CALC_SHEET
    from gkreport.markers import marking

    assert (excel.RESULTS_SHEET, excel.STATE_SHEET) == (marking.RESULTS_SHEET, marking.STATE_SHEET)
    assert CALC_SHEET == excel._CALC_SHEET
