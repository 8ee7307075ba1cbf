"""The Excel instance a ribbon click came from: which workbook, message boxes, the log, versions.

Split from :mod:`gkreport.addin.excel` (which re-exports the public names): what every
button needs around its own work. :func:`entry_point` turns any failure into a Chinese
message box and a log entry; the add-in's versions are compared with this Python's once
per process. Only xlwings is imported at module level (a click cold-starts Python).
"""

from __future__ import annotations

import functools
import re
import sys
import traceback
import zipfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import xlwings as xw

from gkreport import __version__

TITLE = "政务公开年报"
ADDIN_FILE = "gkreport.xlam"
_VERSION_RE = re.compile(r'XLWINGS_VERSION\s+As\s+String\s*=\s*"([^"]+)"', re.IGNORECASE)

P = ParamSpec("P")
R = TypeVar("R")


class ExcelUserError(Exception):
    """A problem the user can fix; its (Chinese) message is shown as is, not logged."""


# Set by gkreport.addin.xlcall (the add-in's launcher): the Excel instance that clicked and
# the versions the add-in was built with.
_APP: Any = None
_LAUNCH: dict[str, str] = {}


def use_app(app: Any, addin_version: str | None = None, xlwings_version: str | None = None) -> None:
    """Act on this Excel instance (the one whose button was clicked), not "the active one"."""
    global _APP
    _APP = app
    _LAUNCH.clear()
    if addin_version:
        _LAUNCH["addin"] = addin_version
    if xlwings_version:
        _LAUNCH["xlwings"] = xlwings_version


def _log_exception(where: str) -> None:
    """Append the current traceback to the add-in's log; never raises (we are already failing)."""
    from gkreport.commands.runtime import append_log

    append_log(f"gkreport {__version__} xlwings {xw.__version__} {where}", traceback.format_exc())


UNSHOWN: list[str] = []  # messages no message box could show (the launcher logs them)


def _alert(app: Any, text: str, mode: str = "info") -> None:
    """A message box; when even that fails (no Excel), fall back to stderr.

    The text is also kept in :data:`UNSHOWN`, so the add-in's launcher can write it to
    the log and exit non-zero: the VBA then shows its own Chinese dialog naming the log
    (under ``pythonw`` there is no stderr to read).
    """
    try:
        if app is None:
            raise RuntimeError("no app")
        app.alert(text, title=TITLE, buttons="ok", mode=mode)
    except Exception:  # Excel boundary: no message box could be shown (COM errors, engines without alert)
        UNSHOWN.append(text)
        print(text, file=sys.stderr)


def _status(book: Any, text: str | bool) -> None:
    """Status-bar progress where the engine has one (the remote engine has none)."""
    with suppress(Exception):  # progress text is optional
        book.app.status_bar = text


def _any_app() -> Any:
    """The Excel instance to talk to when no workbook is needed (new form, help)."""
    if _APP is not None:
        return _APP
    try:
        return xw.apps.active
    except Exception:  # Excel boundary: no Excel (xlwings raises its own and COM's error types)
        return None


def entry_point(func: Callable[P, R]) -> Callable[P, R | None]:
    """Run a ribbon button's body; turn every failure into a Chinese message box.

    The traceback goes to :data:`gkreport.commands.runtime.LOG_FILE`; the user sees where it is. The xlwings
    version check runs once per Python process, before the first button's work.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
        book: Any = args[0] if args else kwargs.get("book")
        app = getattr(book, "app", None) if book is not None else None
        from gkreport.core.exits import UsageError
        from gkreport.markers.xlwings_marker import ProtectedSheetError
        from gkreport.output.outputs import OutputError

        try:
            _check_versions_once(book if isinstance(book, xw.Book) else None)
            return func(*args, **kwargs)
        # The clerk's own situation, said in Chinese by the code that found it (a protected sheet,
        # an agency in two county summaries, a summary that cannot be written): no log, no type name.
        except (ExcelUserError, ProtectedSheetError, UsageError, OutputError) as e:
            _alert(app if app is not None else _any_app(), str(e), "info")
        except Exception as e:  # the Excel entry point: no traceback reaches the user, it goes to the log
            from gkreport.commands.runtime import LOG_FILE

            _log_exception(func.__name__)
            _alert(
                app if app is not None else _any_app(),
                f"操作未能完成：{type(e).__name__}: {str(e)[:200]}\n\n"
                f"详细信息已记录到日志文件：\n{LOG_FILE}\n"
                "如需求助，请把该文件发给技术支持人员。",
                "critical",
            )
        return None

    return wrapper


def _target(book: xw.Book | None) -> xw.Book:
    """The workbook a button acts on: the given one, else the active workbook.

    Not ``xw.Book.caller()``: called from the add-in, that is the ``.xlam`` itself.
    """
    if book is not None:
        return book
    try:
        active = _APP.books.active if _APP is not None else xw.books.active
    except Exception:  # Excel boundary: no Excel, or no workbook open (COM's own error types)
        active = None
    if active is None or str(getattr(active, "name", "")).lower().endswith(".xlam"):
        raise ExcelUserError("没有打开的工作簿。请先打开要校验的年报填报表（或点“新建填报表”），再点此按钮。")
    return active


def _open(app: Any, path: Path) -> None:
    """Open a workbook in the Excel whose button was clicked (not just any instance)."""
    if app is not None:
        try:
            app.books.open(str(path))
            return
        except Exception:  # Excel boundary: an engine without books.open: xlwings' default instance
            pass
    xw.Book(str(path))


_versions_checked = False


def addin_xlwings_version(xlam: Path) -> str | None:
    """The xlwings version the add-in's VBA was built from, or ``None`` if unreadable."""
    from gkreport.xlam.vbaproject import READ_ERRORS, list_modules

    try:
        with zipfile.ZipFile(xlam) as z:
            vba = z.read("xl/vbaProject.bin")
        for module in list_modules(vba):
            m = _VERSION_RE.search(module.source)
            if m:
                return m.group(1)
    except READ_ERRORS:
        return None
    return None


def _installed_addin(app: Any) -> Path | None:
    """Where the loaded add-in file is: asked from Excel on Windows, else the install folder."""
    try:
        return Path(str(app.api.Workbooks(ADDIN_FILE).FullName))
    except Exception:  # Excel boundary: not Windows, or not loaded under that name (COM's own error types)
        pass
    from gkreport.xlam import AddinError
    from gkreport.xlam.install import default_addin_dir

    try:
        path = default_addin_dir() / ADDIN_FILE
    except (AddinError, RuntimeError, KeyError):  # no APPDATA; no home folder (Path.home)
        return None
    return path if path.is_file() else None


def _version_problem(addin_gkreport: str | None, addin_xlwings: str | None) -> str | None:
    """The Chinese explanation when the add-in and this Python do not match, else None."""
    if addin_gkreport == "":
        return f"Excel 加载项是旧版 gkreport 生成的，而 Python 中的 gkreport 是 {__version__} 版（升级后没有重新安装加载项）。"
    if addin_gkreport is not None and addin_gkreport != __version__:
        return (f"Excel 加载项是 gkreport {addin_gkreport} 版生成的，而 Python 中的 gkreport 是 {__version__} 版"
                "（升级后没有重新安装加载项）。")
    if addin_xlwings is not None and addin_xlwings != xw.__version__:
        return f"加载项与 Python 的 xlwings 版本不一致：加载项为 {addin_xlwings}，Python 中为 {xw.__version__}。"
    return None


def _check_versions_once(book: xw.Book | None) -> None:
    """Say clearly (once) when the add-in and Python come from different versions.

    The add-in's launcher passes its versions (:func:`use_app`); an older add-in that
    still calls RunPython does not, so then the installed ``.xlam`` is read instead.
    """
    global _versions_checked
    if _versions_checked:
        return
    _versions_checked = True
    if book is not None and is_remote(book):
        return  # tests / xlwings Server: there is no .xlam
    app = getattr(book, "app", None) or _any_app()
    if app is None:
        return
    path: Path | None = None
    if _LAUNCH:
        problem = _version_problem(_LAUNCH.get("addin"), _LAUNCH.get("xlwings"))
    else:
        from gkreport.xlam.build import built_version

        path = _installed_addin(app)
        if path is None:
            return
        problem = _version_problem(built_version(path) or "", addin_xlwings_version(path))
    if problem is None:
        return
    _alert(
        app,
        problem + "\n按钮可能无法正常工作。请在命令提示符中运行“python -m gkreport addin install”"
        "重新安装加载项，然后重启 Excel。" + (f"\n加载项文件：{path}" if path else ""),
        "critical",
    )


def is_remote(book: xw.Book) -> bool:
    """True for xlwings' remote engine (tests, xlwings Server); see the marker module."""
    from gkreport.markers.xlwings_marker import is_remote as remote

    return remote(book)
