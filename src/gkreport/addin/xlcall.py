"""What the add-in's buttons start: ``pythonw -m gkreport.addin.xlcall <button> --pid=N ...``.

The ribbon's VBA (``addin/gkreport_ribbon.bas``, ``GKLaunchWin``) runs this module
directly instead of xlwings' ``RunPython`` (which needs an active workbook and goes
through ``cmd.exe``). Here we:

1. keep the start cheap: xlwings imports pandas and numpy when they are installed,
   which gkreport never uses; they are hidden while xlwings is imported (~0.3 s per
   click). The buttons that read or write workbooks import openpyxl first, without
   numpy (:func:`gkreport.commands.runtime.import_openpyxl`). Nothing else of gkreport is
   imported before the button needs it;
2. attach to the Excel that clicked (``--pid``: its process id), not whichever Excel
   instance happens to be "active";
3. never die silently: anything that goes wrong before gkreport.addin.excel can show its own
   Chinese message box, and any message no box could show, is written to
   ``~/.gkreport/gkreport.log`` and the exit code is non-zero, so the VBA shows one
   Chinese dialog naming that log.

The log is UTF-8 and read by people, never by VBA (VBA's ANSI reader is why the old
``PYTHONUTF8=1`` advice produced mojibake).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any

from gkreport.core.exits import Exit

BUTTONS = ("new_form", "check_active", "clear_marks", "next_problem", "consolidate_folder", "show_help")
# Add-ins built before 新建填报表 chose the form by year had one button per form version and
# still start ``new_form_<version>`` (gkreport.addin.excel answers those names for any version).
LEGACY_BUTTON = re.compile(r"new_form_[0-9]{4}")
EXIT_OK, EXIT_FAILED = Exit.OK, Exit.INTERNAL  # what the add-in's launcher tests
_HIDDEN_WHILE_IMPORTING = ("pandas", "numpy")
WORKBOOK_BUTTONS = ("new_form", "consolidate_folder")  # write workbooks with openpyxl (and legacy new_form_<v>);
# 校验 (check_active) reads and marks the open workbook through xlwings alone


def import_xlwings() -> Any:
    """``import xlwings`` without letting it import pandas/numpy (unused by gkreport)."""
    if "xlwings" in sys.modules:
        return sys.modules["xlwings"]
    from gkreport.commands.runtime import hidden_modules

    with hidden_modules(*_HIDDEN_WHILE_IMPORTING):
        import xlwings
    return xlwings


def _log(text: str) -> None:
    from gkreport.commands.runtime import append_log  # not at the top: a click imports nothing it does not need

    append_log(f"gkreport.addin.xlcall {sys.executable}", text)


def _excel_app(xw: Any, pid: int | None) -> Any:
    """The Excel instance with this process id, else the active one."""
    if pid:
        try:
            return xw.apps[pid]
        except Exception:  # Excel boundary (COM's own error types): that instance is gone, try the active one
            pass
    try:
        return xw.apps.active
    except Exception:  # Excel boundary: no Excel running; the messages then go to the log
        return None


def _button(name: str) -> str:
    if name in BUTTONS or LEGACY_BUTTON.fullmatch(name):
        return name
    raise argparse.ArgumentTypeError(f"unknown button {name!r}")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m gkreport.addin.xlcall", add_help=False)
    p.add_argument("button", type=_button)
    p.add_argument("--pid", type=int, default=None)
    p.add_argument("--addin-version", default=None)
    p.add_argument("--xlwings-version", default=None)
    args, _unknown = p.parse_known_args(list(argv))  # xlwings' AppleScript appends --wb=... etc.
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run one button; 0 when it ran (its own message boxes said how it went)."""
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit:
        _log(f"bad arguments: {argv if argv is not None else sys.argv[1:]!r}\n")
        return EXIT_FAILED
    try:
        xw = import_xlwings()
        if args.button in WORKBOOK_BUTTONS or LEGACY_BUTTON.fullmatch(args.button):
            from gkreport.commands.runtime import import_openpyxl

            import_openpyxl()
        from gkreport.addin import excel

        excel.use_app(_excel_app(xw, args.pid), args.addin_version, args.xlwings_version)
        excel.UNSHOWN.clear()
        getattr(excel, args.button)()  # entry points catch and report everything themselves
    except BaseException:  # the launcher's boundary: logged for the VBA's dialog, never a silent death
        import traceback

        _log(traceback.format_exc())
        return EXIT_FAILED
    if excel.UNSHOWN:  # e.g. this Excel could not be reached: let the VBA point at the log
        _log(f"{args.button}: messages that could not be shown in Excel (pid {args.pid}):\n"
             + "\n---\n".join(excel.UNSHOWN) + "\n")
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
