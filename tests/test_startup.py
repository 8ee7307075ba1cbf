"""Start-up: a command imports only what it needs (issue #16), and a Ctrl+C at start is 已中断.

Each command runs in a fresh interpreter, through the console script's entry function
(``gkreport.__main__:main``), and reports which heavy libraries ended up in
``sys.modules``. Timing is measured by ``benchmarks/startup.py`` (docs/benchmarks.md);
what is pinned here is what decides it: which libraries a command loads.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from conftest import REAL_REPORTS, make_filled
from gkreport.commands import cli, cli_commands, guard
from gkreport.core import addresses
from gkreport.core.exits import Exit
from gkreport.core.forms import load_form

HEAVY = ("openpyxl", "numpy", "scipy", "highspy", "jsonschema", "xlwings", "pandas", "docx", "rapidfuzz", "lxml",
         "python_calamine")

# Runs gkreport as the console script does; writes the heavy top-level packages then loaded.
WRAPPER = """
import json, os, sys
sys.argv = ["gkreport", *sys.argv[1:]]
from gkreport.__main__ import main
try:
    code = main()
finally:
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(os.environ["HEAVY"])))
    with open(os.environ["LOADED_TO"], "w") as f:
        json.dump(loaded, f)
sys.exit(code)
"""


def _loaded(tmp_path: Path, *argv: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The heavy packages ``gkreport *argv`` imports, and its result."""
    out = tmp_path / "loaded.json"
    env = {**os.environ, "HEAVY": json.dumps(HEAVY), "LOADED_TO": str(out)}
    done = subprocess.run([sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=tmp_path, timeout=120)
    return set(json.loads(out.read_text(encoding="utf-8"))), done


@pytest.mark.parametrize("argv", [["--version"], ["-h"], ["describe", "-h"], ["template", "-h"]],
                         ids=lambda a: " ".join(a))
def test_version_and_help_import_nothing_heavy(tmp_path: Path, argv: list[str]) -> None:
    loaded, done = _loaded(tmp_path, *argv)
    assert done.returncode == 0, done.stderr
    assert loaded == set(), f"gkreport {' '.join(argv)} imported {sorted(loaded)}"


def test_describe_imports_no_workbook_library(tmp_path: Path) -> None:
    loaded, done = _loaded(tmp_path, "describe", "--form", "2019")
    assert done.returncode == 0 and "t2.new.person" in done.stdout, done.stderr
    assert loaded - {"jsonschema"} == set(), sorted(loaded)


def test_describe_does_not_validate_the_shipped_forms_at_start(tmp_path: Path) -> None:
    loaded, done = _loaded(tmp_path, "describe")
    assert done.returncode == 0
    assert "jsonschema" not in loaded


def test_checking_a_clean_file_needs_no_solver_no_numpy_no_docx(tmp_path: Path) -> None:
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    clean = make_filled(tmp_path, "clean.xlsx", "2021", values, header)
    loaded, done = _loaded(tmp_path, "check", str(clean))
    assert done.returncode == Exit.OK and "未发现错误" in done.stdout, done.stdout + done.stderr
    # The fast reader accepts the file: no openpyxl (nor python-calamine), only lxml for the
    # workbook, styles and shared-string parts.
    assert loaded == {"lxml"}, sorted(loaded)

    # Control: a report whose identities fail does load the solver, so the check above can fail.
    wrong = make_filled(tmp_path, "wrong.xlsx", "2021", {**values, "t2.new.total": values["t2.new.total"] + 1},
                        header)
    loaded, done = _loaded(tmp_path, "check", str(wrong))
    assert done.returncode == Exit.FINDINGS, done.stderr
    assert {"numpy", "highspy"} <= loaded and "scipy" not in loaded and "docx" not in loaded


# Runs ``gkreport check`` counting HiGHS solves; writes them and every module then loaded.
SOLVES = """
import json, os, sys
sys.argv = ["gkreport", *sys.argv[1:]]
from gkreport.core import highs_solve
solves = []
_solve = highs_solve.solve
def counted(*args, **kwargs):
    res = _solve(*args, **kwargs)
    solves.append(res.status)
    return res
highs_solve.solve = counted
from gkreport.__main__ import main
code = main()
with open(os.environ["LOADED_TO"], "w") as f:
    json.dump({"solves": solves, "modules": sorted(sys.modules)}, f)
sys.exit(code)
"""


def test_a_check_with_errors_solves_with_highs_and_never_imports_scipy(tmp_path: Path) -> None:
    """Localisation calls HiGHS through highspy: scipy (its optimisers alone ~0.5 s at start)
    is not imported, and the wrong cells are still named with their values. The （七）总计
    row left at 0 needs HiGHS (no single cell explains it), so the solver really ran."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    wrong = make_filled(tmp_path, "wrong.xlsx", "2021",
                        {**values, "t2.total.person": 0, "t2.total.company": 0, "t2.total.total": 0}, header)
    out = tmp_path / "loaded.json"
    done = subprocess.run([sys.executable, "-c", SOLVES, "check", str(wrong)], capture_output=True, text=True,
                          encoding="utf-8", env={**os.environ, "LOADED_TO": str(out)}, cwd=tmp_path, timeout=120)
    assert done.returncode == Exit.FINDINGS, done.stdout + done.stderr
    seen = json.loads(out.read_text(encoding="utf-8"))
    assert seen["solves"][0] == "optimal", seen["solves"]  # then "infeasible": no other answer as good
    scipy = [m for m in seen["modules"] if m == "scipy" or m.startswith("scipy.")]
    assert scipy == [] and "scipy.optimize" not in seen["modules"], scipy[:5]
    assert "highspy" in seen["modules"]
    cell = load_form("2021").cells["t2.total.person"]
    assert f"表二 {cell.ref}" in done.stdout and "建议改为 80" in done.stdout, done.stdout


def test_a_clean_check_imports_neither_the_pool_nor_the_writers(tmp_path: Path) -> None:
    """One file is checked in this process: no multiprocessing, no marker, no template
    builder, no publisher (each ~5-30 ms at every start)."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    clean = make_filled(tmp_path, "clean.xlsx", "2021", values, header)
    code = ("import sys; sys.argv = ['gkreport', 'check', sys.argv[1]]\n"
            "from gkreport.__main__ import main\n"
            "code = main()\n"
            "mods = ('multiprocessing', 'concurrent.futures', 'gkreport.markers.openpyxl_marker', "
            "'gkreport.markers.marking', 'gkreport.output.template', "
            "'gkreport.output.fill', 'gkreport.publish', 'gkreport.readers.workbook_full', 'logging', 'tempfile', "
            "'xml.sax', 'urllib.request')\n"
            "print(code, sorted(m for m in mods if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, str(clean)], capture_output=True, text=True, encoding="utf-8",
                          timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stdout + done.stderr


@pytest.mark.parametrize("case", ["mark", "declined"])
def test_a_check_that_needs_openpyxl_imports_it_without_numpy(tmp_path: Path, case: str) -> None:
    """A marked copy, or a file the fast reader leaves to the full reader: openpyxl is imported
    where it is needed, still without numpy."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    path = make_filled(tmp_path, "a.xlsx", "2021", values, header)
    argv = ["check", str(path)]
    if case == "mark":
        argv += ["--mark", str(tmp_path / "marks"), "--mark-all"]
    else:  # a formula among the data cells: the full reader recomputes it
        import openpyxl

        cell = load_form("2021").cells["t2.new.person"]
        wb = openpyxl.load_workbook(path)
        wb[cell.sheet][cell.ref] = f"={values['t2.new.person']}+0"  # the same number: no solver
        wb.save(path)
    loaded, done = _loaded(tmp_path, *argv)
    assert done.returncode in (Exit.OK, Exit.FINDINGS), done.stdout + done.stderr
    assert "openpyxl" in loaded and "numpy" not in loaded, sorted(loaded)
    if case == "mark":
        assert (tmp_path / "marks" / "a.checked.xlsx").is_file()


def test_subcommand_modules_are_imported_only_when_run() -> None:
    code = ("import sys; from gkreport.commands.cli import build_parser; p = build_parser(); "
            "mods = [m for m in sys.modules if m.startswith('gkreport.commands.cli_') and m != 'gkreport.commands.cli_commands']; "
            "print(sorted(mods)); a = p.parse_args(['consolidate', 'x', '-o', 'y.xlsx', '--jobs', '2']); "
            "print(a.func.__module__, a.jobs, 'gkreport.commands.cli_check' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["[]", "gkreport.commands.cli_consolidate 2 False"]


def test_lazy_summaries_are_the_modules_own_help() -> None:
    """``gkreport -h`` lists the summaries from cli_commands.COMMANDS; each module's parser says the same."""
    for name, (module, summary) in cli_commands.COMMANDS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"gkreport.commands.{module}").add_parser(sub)
        (action,) = [a for a in sub._choices_actions if a.dest == name]
        assert action.help == summary, name
    listed = cli.build_parser().format_help()
    for name, (_, summary) in cli_commands.COMMANDS.items():
        assert f"{name}" in listed and summary in listed


def test_form_choices_are_listed_lazily_and_checked(capsys: pytest.CaptureFixture[str]) -> None:
    parser = cli.build_parser()
    assert parser.parse_args(["describe", "--form", "2019"]).form == "2019"
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["template", "--form", "2020"])
    assert e.value.code == Exit.UNUSABLE
    assert "“2020”不是可选的值（可选：2019, 2021）" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["describe", "-h"])
    assert "--form {2019,2021}" in capsys.readouterr().out
    assert list(cli.FormVersions()) == ["2019", "2021"] and len(cli.FormVersions()) == 2


def test_column_letters_match_openpyxl_for_every_column() -> None:
    from openpyxl.utils.cell import column_index_from_string, get_column_letter

    for col in range(1, addresses.MAX_COLUMN + 1):
        letters = get_column_letter(col)
        assert addresses.get_column_letter(col) == letters
        assert addresses.column_index_from_string(letters) == col == column_index_from_string(letters)
        assert addresses.column_index_from_string(letters.lower()) == col
    for bad in (0, -1, addresses.MAX_COLUMN + 1):
        with pytest.raises(ValueError):
            addresses.get_column_letter(bad)
        with pytest.raises(ValueError):
            get_column_letter(bad)
    for bad in ("", "AAAA", "A1", "1", "Ä"):
        with pytest.raises(ValueError):
            addresses.column_index_from_string(bad)
        with pytest.raises(ValueError):
            column_index_from_string(bad)


def test_openpyxl_is_imported_without_numpy_and_numpy_still_works() -> None:
    code = ("import sys; from gkreport.commands.runtime import import_openpyxl; import_openpyxl(); "
            "import openpyxl; print('numpy' in sys.modules, openpyxl.compat.numbers.NUMPY); "
            "import numpy; print(numpy.float64(2.5) + 1)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "3.5"]


@pytest.mark.parametrize(("button", "openpyxl"), [("new_form", "True"), ("consolidate_folder", "True"),
                                                 ("check_active", "False"), ("show_help", "False")])
def test_a_workbook_button_of_the_ribbon_loads_openpyxl_without_numpy(tmp_path: Path, button: str,
                                                                     openpyxl: str) -> None:
    """The buttons that write workbooks load openpyxl first, without numpy; 校验 reads and marks
    the open workbook through xlwings and never pays for openpyxl (~0.1 s a click)."""
    from gkreport.addin import xlcall

    assert set(xlcall.WORKBOOK_BUTTONS) <= set(xlcall.BUTTONS)
    code = (f"import sys, gkreport.addin.xlcall as m; code = m.main(['{button}', '--pid=1']); "
            "print(code, 'openpyxl' in sys.modules, 'numpy' in sys.modules, 'pandas' in sys.modules)")
    env = {**os.environ, "HOME": str(tmp_path)}  # no Excel here: the button's message goes to ~/.gkreport
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split()[1:] == [openpyxl, "False", "False"]  # (without Excel the button itself fails or finds nothing)


def test_the_console_script_is_the_interrupt_safe_entry() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "gkreport"]
    assert script.value == "gkreport.__main__:main"
    from gkreport import __main__

    assert __main__.INTERRUPTED == Exit.INTERRUPTED


@pytest.mark.skipif(os.name == "nt", reason="sends itself a POSIX SIGINT")
@pytest.mark.parametrize("module", ["gkreport.commands.cli", "gkreport.commands.guard", "argparse"])
def test_ctrl_c_while_gkreport_loads_is_interrupted_not_a_traceback(tmp_path: Path, module: str) -> None:
    """A real SIGINT (the user's Ctrl+C) while the command line's own modules are imported,
    before the guard runs: one Chinese line and 130, as at any later moment."""
    code = f"""
import os, signal, sys, time
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises KeyboardInterrupt here, inside the import
        return None
sys.meta_path.insert(0, CtrlC())
sys.argv = ["gkreport", "describe"]
from gkreport.__main__ import main
sys.exit(main())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
                          cwd=tmp_path, timeout=60)
    assert done.returncode == Exit.INTERRUPTED
    assert done.stderr.strip().startswith("已中断") and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_the_guard_names_user_errors_without_importing_their_modules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from gkreport.core.forms import FormError
    from gkreport.output.outputs import OutputError
    from gkreport.readers import ReadError

    def fails(e: BaseException) -> int:
        raise e

    for error in (FormError("表式坏了"), OutputError("写不了"), ReadError("读不了"),
                  FileNotFoundError(2, "No such file", "x.xlsx")):
        assert guard.run_guarded(fails, error) == Exit.UNUSABLE
    err = capsys.readouterr().err
    assert "错误：表式坏了" in err and "错误：写不了" in err and "错误：读不了" in err and "x.xlsx：" in err
    monkeypatch.setenv("GKREPORT_LOG", str(tmp_path / "gkreport.log"))
    assert guard.run_guarded(fails, ZeroDivisionError("bug")) == Exit.INTERNAL
    assert "程序内部错误" in capsys.readouterr().err
    assert guard.run_guarded(fails, KeyboardInterrupt()) == Exit.INTERRUPTED
    assert "ZeroDivisionError: bug" in (tmp_path / "gkreport.log").read_text(encoding="utf-8")
    code = ("import sys, gkreport.commands.guard; "
            "print([m for m in ('gkreport.core.forms', 'gkreport.readers', 'gkreport.output.outputs') if m in sys.modules])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"


def test_xml_safe_keeps_exactly_the_characters_xml_allows() -> None:
    """XML 1.0's Char production (the pattern is written as its complement, which compiles
    ~40× faster at start): every code point is kept or dropped as the spec says."""
    from gkreport.output.safety import xml_safe

    def allowed(c: int) -> bool:
        return c in (0x9, 0xA, 0xD) or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD or 0x10000 <= c <= 0x10FFFF

    text = "".join(map(chr, range(0x110000)))
    assert xml_safe(text) == "".join(chr(c) for c in range(0x110000) if allowed(c))


def test_version_loads_no_forms_and_no_rules_overlay() -> None:
    """``--version`` (and any command without ``--rules``) does not load the forms, their schema
    or the overlay machinery: a few milliseconds each, paid at every ribbon click otherwise."""
    code = ("import sys; sys.argv = ['gkreport', '--version']\n"
            "from gkreport.__main__ import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('gkreport.core.overlay', 'gkreport.core.forms', 'gkreport.core.form_schema', "
            "'gkreport.core.engine', 'gkreport.readers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
