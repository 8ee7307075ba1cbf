"""Entry points of the Excel ribbon add-in (started by ``python -m gkreport.xlcall <button>``).

Each button of ``addin/customUI.xml`` runs one function here with no argument, through
the add-in's launcher (``addin/gkreport_ribbon.bas`` -> :mod:`gkreport.xlcall`). Every
function also accepts the workbook to act on, so tests can pass a remote-engine book
(``xw.Book(json=...)``) and assert on the actions it queues.

Design, and why (the launcher and the helper macros: ``docs/addin-build.md``):

- **Which workbook**: the active workbook (``xw.books.active``), never
  ``xw.Book.caller()``: inside an ``.xlam`` the caller is the add-in itself.
- **No traceback ever reaches the user**: every entry point catches everything, shows a
  Chinese message box and appends the traceback to ``~/.gkreport/gkreport.log``, the file
  the 设置/帮助 button names. An empty error box (Python died silently) is the worst case.
- **The open workbook is checked as it is on screen**: values are read from Excel (one
  read per sheet, so no per-cell round trips), nothing is saved to disk first. Cells are
  found by the template's defined names (so moved tables still work), else by the
  official layout, as :mod:`gkreport.readers.workbook` does for files.
- **Version lock**: on the first button press the add-in's versions (gkreport and
  xlwings, passed by the launcher) are compared with this Python's; a mismatch (an
  upgrade without ``addin install``) is reported in plain Chinese.
- **Speed**: a click cold-starts Python, so nothing but xlwings is imported at module
  level, and marking goes through the add-in's helper macros
  (:class:`gkreport.markers.xlwings_marker.BatchMarker`): a few calls per sheet.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sys
import traceback
import zipfile
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import xlwings as xw

from . import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .consolidate import Consolidation
    from .findings import Finding
    from .forms import Form
    from .markers.xlwings_marker import CellLook
    from .report import Report
    from .values import Value

# Everything below xlwings is imported inside the functions that need it: a click
# cold-starts Python, and "help" or "new form" should not pay for the engine, the
# JSON schema validator and openpyxl (pinned by tests/test_excel_entrypoints.py).

__all__ = [
    "ExcelUserError",
    "addin_xlwings_version",
    "check_active",
    "clear_marks",
    "consolidate_folder",
    "new_form",
    "next_problem",
    "read_live_report",
    "show_help",
]

TITLE = "政务公开年报"
MAX_ROWS = 400  # same bound as the file reader: an inflated used range is not read
ADDIN_FILE = "gkreport.xlam"
_VERSION_RE = re.compile(r'XLWINGS_VERSION\s+As\s+String\s*=\s*"([^"]+)"', re.IGNORECASE)
RESULTS_SHEET = "校验结果"  # = gkreport.marking.RESULTS_SHEET (checked by a test)
STATE_SHEET = "_gkreport_marks"  # = gkreport.marking.STATE_SHEET
_CALC_SHEET = "_gkreport_calc"  # = gkreport.livecalc.CALC_SHEET (the live checks' helper)
_SKIP_SHEETS = (RESULTS_SHEET, STATE_SHEET, _CALC_SHEET)

P = ParamSpec("P")
R = TypeVar("R")

Location = tuple[str, str]  # (sheet, A1 ref)


class ExcelUserError(Exception):
    """A problem the user can fix; its (Chinese) message is shown as is, not logged."""


# Set by gkreport.xlcall (the add-in's launcher): the Excel instance that clicked and
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


# ------------------------------------------------------------------------------ plumbing


def _log_exception(where: str) -> None:
    """Append the current traceback to the add-in's log; never raises (we are already failing)."""
    from .runtime import append_log

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

    The traceback goes to :data:`gkreport.runtime.LOG_FILE`; the user sees where it is. The xlwings
    version check runs once per Python process, before the first button's work.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
        book: Any = args[0] if args else kwargs.get("book")
        app = getattr(book, "app", None) if book is not None else None
        from .exits import UsageError
        from .markers.xlwings_marker import ProtectedSheetError
        from .outputs import OutputError

        try:
            _check_versions_once(book if isinstance(book, xw.Book) else None)
            return func(*args, **kwargs)
        # The clerk's own situation, said in Chinese by the code that found it (a protected sheet,
        # an agency in two county summaries, a summary that cannot be written): no log, no type name.
        except (ExcelUserError, ProtectedSheetError, UsageError, OutputError) as e:
            _alert(app if app is not None else _any_app(), str(e), "info")
        except Exception as e:  # the Excel entry point: no traceback reaches the user, it goes to the log
            from .runtime import LOG_FILE

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


# ------------------------------------------------------------------------------ version check

_versions_checked = False


def addin_xlwings_version(xlam: Path) -> str | None:
    """The xlwings version the add-in's VBA was built from, or ``None`` if unreadable."""
    from .xlam.vbaproject import READ_ERRORS, list_modules

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
    from .xlam import AddinError
    from .xlam.install import default_addin_dir

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
        from .xlam.build import built_version

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
    from .markers.xlwings_marker import is_remote as remote

    return remote(book)


# ------------------------------------------------------------------------------ reading the open book


def _sheet_grid(sheet: Any) -> list[list[Any]]:
    """All values of a sheet from A1 to its last used cell, in one read."""
    used = sheet.used_range
    last = used.last_cell
    rows, cols = min(last.row, MAX_ROWS), last.column
    values = sheet.range((1, 1), (rows, cols)).options(ndim=2).value
    return values or []


def _grid_value(grid: Mapping[str, list[list[Any]]], loc: Location) -> Any:
    from . import addresses as addr

    sheet, ref = loc
    rows = grid.get(sheet)
    if rows is None:
        return None
    col, row = addr.split_ref(ref)
    if row - 1 >= len(rows) or col - 1 >= len(rows[row - 1]):
        return None
    v = rows[row - 1][col - 1]
    return None if v == "" else v


def _parse_refers_to(text: str) -> Location | None:
    """``='表一 主动公开'!$B$6`` -> ``("表一 主动公开", "B6")``; anything else -> None."""
    m = re.fullmatch(r"=?(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Za-z]{1,3})\$?(\d+)(?::.*)?", text.strip())
    if m is None:
        return None
    sheet = (m.group(1) or m.group(2)).replace("''", "'")
    return sheet, f"{m.group(3).upper()}{m.group(4)}"


def _book_names(book: xw.Book) -> dict[str, Location]:
    """Workbook-level names pointing at one cell: cell id -> (sheet, ref)."""
    out: dict[str, Location] = {}
    try:
        names = list(book.names)
    except Exception:  # Excel boundary: an engine without names (COM's own error types)
        return out
    for n in names:
        try:
            name, refers = str(n.name), n.refers_to
        except Exception:  # Excel boundary: a name Excel cannot describe (COM's own error types)
            continue
        if "!" in name or not isinstance(refers, str):
            continue  # sheet-scoped names are not ours
        loc = _parse_refers_to(refers)
        if loc is not None:
            out[name] = loc
    return out


def _form_by_layout(grid: Mapping[str, list[list[Any]]]) -> Form | None:
    from .forms import available_forms, load_form
    from .readers.workbook_layout import MIN_LAYOUT_SCORE, layout_score

    scored = sorted(((layout_score(f, grid), f.version, f) for f in map(load_form, available_forms())),
                    key=lambda t: (t[0], t[1]), reverse=True)
    return scored[0][2] if scored and scored[0][0] >= MIN_LAYOUT_SCORE else None


def _cell_value(raw: Any, ctype: str, unit: str | None) -> Value:
    from .values import Value, parse_value

    if isinstance(raw, dt.datetime | dt.date | dt.time | dt.timedelta):
        return Value(raw, "invalid", why="是日期或时间格式，不是数字")
    return parse_value(raw, ctype, unit)


def read_live_report(book: xw.Book) -> tuple[Report, dict[str, Location]]:
    """The open workbook as a Report, plus where each cell id actually is."""
    from .readers.workbook_layout import detect_form_by_names  # (not the file readers: ~10 ms a click)
    from .report import Report

    grid: dict[str, list[list[Any]]] = {}
    for sheet in book.sheets:
        if sheet.name in _SKIP_SHEETS:
            continue
        grid[sheet.name] = _sheet_grid(sheet)
    names = _book_names(book)
    form = detect_form_by_names(names)
    if form is not None:
        positions = {cid: (c.sheet, c.ref) for cid, c in form.cells.items()}
        positions |= {h.id: (h.sheet, h.cell) for h in form.header}
        where = {k: names.get(k, v) for k, v in positions.items()}
    else:
        form = _form_by_layout(grid)
        if form is None:
            raise ExcelUserError(
                "当前工作簿不是年报填报表：既没有模板中的单元格名称，也没有找到按官方表式排列的表格。\n"
                "请打开用“新建填报表”生成的工作簿后再校验。"
            )
        where = {cid: (c.sheet, c.ref) for cid, c in form.cells.items()}
        where |= {h.id: (h.sheet, h.cell) for h in form.header}
    missing = sorted({s for s, _ in where.values() if s not in grid})
    if missing:
        raise ExcelUserError("工作簿缺少工作表：" + "、".join(missing) + "（可能被删除或改名）。")
    values = {cid: _cell_value(_grid_value(grid, where[cid]), c.type, c.unit) for cid, c in form.cells.items()}
    header = {h.id: _grid_value(grid, where[h.id]) for h in form.header}
    source = str(getattr(book, "name", ""))
    return Report(form=form, values=values, header=header, source=source), where


def _relocate(findings: list[Finding], form: Form, where: Mapping[str, Location]) -> list[Finding]:
    """Point findings at where the cells really are when a clerk moved them (names)."""

    def refs(ids: tuple[str, ...], cells: tuple[str, ...], sheet: str | None) -> tuple[str, ...]:
        if len(ids) != len(cells) or any(i not in where or where[i][0] != sheet for i in ids):
            return cells
        return tuple(where[i][1] for i in ids)

    out = []
    for f in findings:
        if f.sheet:
            f = replace(f, cells=refs(f.cell_ids, f.cells, f.sheet),
                        suspects=refs(f.suspect_ids, f.suspects, f.sheet))
        out.append(f)
    return out


def _template_look(form: Form, where: Mapping[str, Location]) -> Callable[[str, str], CellLook]:
    """The look the template gives each data cell, for engines that cannot read formats."""
    from .markers.xlwings_marker import CellLook
    from .template import INPUT_FILL, TOTAL_FILL

    looks = {where.get(cid, (c.sheet, c.ref)): CellLook(
        fill=str((TOTAL_FILL if c.kind == "total" else INPUT_FILL).fgColor.rgb)[-6:], border="thin")
        for cid, c in form.cells.items()}
    return lambda sheet, ref: looks.get((sheet, ref), CellLook())


def engine_check(report: Report) -> list[Finding]:
    """The rule engine (imported on first use; tests replace this name)."""
    from .engine import check

    return check(report)


def _marker(book: xw.Book, fallback: Callable[[str, str], CellLook] | None = None) -> Any:
    """The add-in's batched marker when its macros answer, else the per-cell one."""
    from .markers.xlwings_marker import BatchMarker, XlwingsMarker

    return BatchMarker.available(book, ADDIN_FILE) or XlwingsMarker(book, fallback=fallback)


def _say_note_failures(marker: Any) -> str:
    n = getattr(marker, "note_failures", 0)
    return f"\n（有 {n} 个单元格带有新式“批注”（对话），无法添加说明，请看“{RESULTS_SHEET}”工作表。）" if n else ""


# ------------------------------------------------------------------------------ entry points


@entry_point
def check_active(book: xw.Book | None = None) -> None:
    """校验: check the open workbook as it is on screen and mark the problems in place."""
    from .findings import count_by_severity
    from .marking import apply_marks, plan_marks

    book = _target(book)
    try:
        _status(book, "gkreport：正在读取工作簿……")
        report, where = read_live_report(book)
        _status(book, "gkreport：正在校验……")
        findings = _relocate(engine_check(report), report.form, where)
        _status(book, "gkreport：正在标注……")
        marker = _marker(book, fallback=_template_look(report.form, where))
        plan = plan_marks(findings)
        with marker.session({m.sheet for m in plan}):
            marker.prefetch((m.sheet, m.ref) for m in plan)
            marked = apply_marks(marker, findings)
    finally:
        _status(book, False)
    counts = count_by_severity(findings)
    if not findings:
        text = "校验完成：未发现问题，表内合计与勾稽关系均平衡。"
    else:
        text = (f"校验完成（{report.form.name}）：错误 {counts['error']} 项，警告 {counts['warning']} 项，"
                f"提示 {counts['info']} 项；已在表中标出 {marked} 个单元格。\n\n"
                f"详见“{RESULTS_SHEET}”工作表（点单元格地址可跳转），或点“跳到下一个问题”逐个查看。\n"
                "改正后再点“校验”；点“清除标记”可去掉颜色和批注。")
    _alert(book.app, text + _say_note_failures(marker), "info")


@entry_point
def clear_marks(book: xw.Book | None = None) -> None:
    """清除标记: undo every mark of the last check (values are never touched)."""
    from .marking import clear_marks as clear_all_marks

    book = _target(book)
    marker = _marker(book)
    touching = {s for s, _, _ in marker.read_state()} if marker.has_sheet(STATE_SHEET) else set()
    with marker.session(touching):
        restored = clear_all_marks(marker)
    _alert(book.app, f"已清除 {restored} 个单元格的校验标记。" if restored else "没有需要清除的校验标记。")


def _position(book: xw.Book, sheet: str, ref: str) -> tuple[int, int, int]:
    from . import addresses as addr

    names = [s.name for s in book.sheets]
    col, row = addr.split_ref(ref)
    return (names.index(sheet) if sheet in names else len(names), row, col)


def _messages(book: xw.Book) -> dict[Location, list[str]]:
    """(sheet, ref) -> the results sheet's messages for that cell."""
    out: dict[Location, list[str]] = {}
    if RESULTS_SHEET not in [s.name for s in book.sheets]:
        return out
    rows = book.sheets[RESULTS_SHEET].used_range.options(ndim=2).value or []
    for row in rows[1:]:
        if len(row) >= 6 and row[2] and row[3]:
            out.setdefault((str(row[2]), str(row[3])), []).append(f"[{row[1]}] {row[5]}")
    return out


@entry_point
def next_problem(book: xw.Book | None = None) -> None:
    """跳到下一个问题: select the next marked cell after the current selection."""
    from .markers.xlwings_marker import XlwingsMarker

    book = _target(book)
    marker = XlwingsMarker(book)
    if not marker.has_sheet(STATE_SHEET):
        raise ExcelUserError("当前工作簿没有校验标记。请先点“校验”。")
    targets = [(s, r) for s, r, _ in marker.read_state() if marker.has_sheet(s)]
    if not targets:
        raise ExcelUserError("当前工作簿没有校验标记。请先点“校验”。")
    targets.sort(key=lambda t: _position(book, *t))
    here = (-1, 0, 0)  # no cell selected (a chart, or an engine without a selection): start at the top
    try:
        sel = book.app.selection
        if sel is not None:
            here = _position(book, sel.sheet.name, sel.address.replace("$", "").split(":")[0])
    except Exception:  # Excel boundary: COM raises its own error types for a selection it cannot describe
        pass
    after = [t for t in targets if _position(book, *t) > here]
    sheet, ref = after[0] if after else targets[0]
    ws = book.sheets[sheet]
    ws.activate()
    ws.range(ref).select()
    k = targets.index((sheet, ref)) + 1
    notes = _messages(book).get((sheet, ref), [])
    text = f"第 {k}/{len(targets)} 个问题：{sheet} {ref}"
    if notes:
        text += "\n\n" + "\n".join(notes)
    _alert(book.app, text)


@entry_point
def new_form(book: xw.Book | None = None, *, year: int | None = None) -> Path | None:
    """新建填报表: asks the report year (last year by default) and opens a blank workbook on
    the form whose ``years`` cover it (see :mod:`gkreport.excel_newform`)."""
    from .excel_newform import new_form_for_year

    return new_form_for_year(book, year)


def __getattr__(name: str) -> Any:
    """``new_form_<version>``: what add-ins built before 新建填报表 still start (see
    :func:`gkreport.excel_newform.legacy_entry_point`)."""
    if not name.startswith("new_form_"):  # e.g. __path__, asked by every "from .excel import"
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .excel_newform import legacy_entry_point

    return legacy_entry_point(name)


def _open(app: Any, path: Path) -> None:
    """Open a workbook in the Excel whose button was clicked (not just any instance)."""
    if app is not None:
        try:
            app.books.open(str(path))
            return
        except Exception:  # Excel boundary: an engine without books.open: xlwings' default instance
            pass
    xw.Book(str(path))


def _ask_folder(app: Any) -> Path | None:
    """A folder picker on Windows (Office FileDialog), an input box as fallback."""
    if app is None:
        return None
    try:
        dialog = app.api.FileDialog(4)  # msoFileDialogFolderPicker
        dialog.Title = "选择存放各单位年报的文件夹"
        if dialog.Show() != -1:
            return None
        return Path(str(dialog.SelectedItems(1)))
    except Exception:  # Excel boundary: not Windows COM; try the input box
        pass
    try:
        answer = app.api.InputBox("请输入存放各单位年报的文件夹路径：", TITLE, Type=2)
    except Exception as e:  # Excel boundary: no input box either (COM's own error types)
        raise ExcelUserError(
            "此环境无法弹出选择文件夹的对话框。请在命令行运行：gkreport consolidate <文件夹>"
        ) from e
    return Path(str(answer)) if isinstance(answer, str) and answer.strip() else None


def _summary_path(folder: Path) -> Path:
    """Next to the folder (not inside it, so the next run does not read the summary)."""
    base = folder.parent / f"{folder.name}-汇总"
    path = base.with_suffix(".xlsx")
    n = 2
    while path.exists():
        path = folder.parent / f"{folder.name}-汇总({n}).xlsx"
        n += 1
    return path


@entry_point
def consolidate_folder(book: xw.Book | None = None, *, folder: Path | None = None) -> Path | None:
    """汇总: check every report in a folder and write the county summary workbook."""
    try:
        from . import consolidate as cons
    except ImportError as e:
        raise ExcelUserError("这个版本的 gkreport 没有汇总功能（缺少 gkreport.consolidate），请升级 gkreport。") from e
    app = book.app if book is not None else _any_app()
    if folder is None:
        folder = _ask_folder(app)
        if folder is None:
            return None  # cancelled
    folder = Path(folder)
    if not folder.is_dir():
        raise ExcelUserError(f"找不到文件夹：{folder}")
    status_book = book if book is not None else None
    if status_book is not None:
        _status(status_book, "gkreport：正在汇总，请稍候……")
    try:
        # One process: worker processes started from the add-in's pythonw are not worth the risk.
        roster = cons.find_roster(folder)
        out_path = _summary_path(folder)
        result: Consolidation = cons.consolidate([folder], jobs=1, roster=roster, output=out_path)
        if result.form is None or not result.included:
            raise ExcelUserError(f"文件夹中没有可汇总的年报填报表：{folder}")
        out = cons.write_summary(result, out_path)
    finally:
        if status_book is not None:
            _status(status_book, False)
    if not (book is not None and is_remote(book)):
        _open(app, out)
    skipped = len(result.entries) - len(result.included)
    roster_line = (f"\n已按名单“{roster.name}”核对：未报送 {len(result.missing)} 个单位。" if roster is not None
                   else "\n（文件夹中放一个文件名含“名单”的 .xlsx 或 .csv，即可同时核对谁未报送。）")
    _alert(app, f"汇总完成：纳入 {len(result.included)} 份，未纳入 {skipped} 份"
                f"（原因见“报送情况”工作表）。{roster_line}\n汇总表：{out}")
    return out


def _readme() -> str:
    root = Path(__file__).resolve().parents[2]
    readme = root / "README.md"
    return str(readme) if readme.is_file() else "随 gkreport 安装的 README（pip show gkreport 可查看安装位置）"


@entry_point
def show_help(book: xw.Book | None = None) -> None:
    """设置/帮助: versions, interpreter and where the log is (what support asks for first)."""
    from . import runtime

    app = book.app if book is not None else _any_app()
    from .xlam import AddinError
    from .xlam.install import config_file_path

    try:
        conf = str(config_file_path())
    except (AddinError, RuntimeError, KeyError):  # a system without Excel; no home folder (Path.home)
        conf = "（本系统不适用）"
    _alert(app, "\n".join([
        f"gkreport 版本：{__version__}（加载项：{_LAUNCH.get('addin', '未知')}）",
        f"xlwings 版本：{xw.__version__}",
        f"Python：{sys.executable}",
        f"加载项配置文件：{conf}",
        f"使用说明：{_readme()}",
        f"日志文件：{runtime.LOG_FILE}",
        "",
        "按钮：新建填报表 → 填写 → 校验（标出问题）→ 跳到下一个问题 → 改正后再校验 → 清除标记。",
    ]))
