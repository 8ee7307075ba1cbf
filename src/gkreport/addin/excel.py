"""Entry points of the Excel ribbon add-in (started by ``python -m gkreport.addin.xlcall <button>``).

Each button of ``addin/customUI.xml`` runs one function here with no argument, through
the add-in's launcher (``addin/gkreport_ribbon.bas`` -> :mod:`gkreport.addin.xlcall`). Every
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

import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlwings as xw

from gkreport import __version__
from gkreport.addin import excel_app
from gkreport.addin.excel_app import ADDIN_FILE as ADDIN_FILE
from gkreport.addin.excel_app import TITLE as TITLE
from gkreport.addin.excel_app import UNSHOWN as UNSHOWN
from gkreport.addin.excel_app import ExcelUserError as ExcelUserError
from gkreport.addin.excel_app import _alert, _open, _status, _target
from gkreport.addin.excel_app import addin_xlwings_version as addin_xlwings_version
from gkreport.addin.excel_app import entry_point as entry_point
from gkreport.addin.excel_app import is_remote as is_remote
from gkreport.addin.excel_app import use_app as use_app
from gkreport.addin.excel_live import _CALC_SHEET as _CALC_SHEET
from gkreport.addin.excel_live import MAX_ROWS as MAX_ROWS
from gkreport.addin.excel_live import RESULTS_SHEET as RESULTS_SHEET
from gkreport.addin.excel_live import STATE_SHEET as STATE_SHEET
from gkreport.addin.excel_live import Location as Location
from gkreport.addin.excel_live import read_live_report as read_live_report

if TYPE_CHECKING:  # pragma: no cover
    from gkreport.consolidation.consolidate import Consolidation
    from gkreport.core.findings import Finding
    from gkreport.core.forms import Form
    from gkreport.core.report import Report
    from gkreport.markers.xlwings_marker import CellLook

# Everything below xlwings is imported inside the functions that need it: a click
# cold-starts Python, and "help" or "new form" should not pay for the engine, the
# JSON schema validator and openpyxl (pinned by tests/test_excel_entrypoints.py).
# The plumbing every button shares is in :mod:`gkreport.excel_app`, reading the open
# workbook in :mod:`gkreport.excel_live`; their public names are importable from here.

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
    from gkreport.markers.xlwings_marker import CellLook
    from gkreport.output.palette import INPUT_RGB, TOTAL_RGB  # (not template_style: no openpyxl for a click)

    looks = {where.get(cid, (c.sheet, c.ref)): CellLook(fill=TOTAL_RGB if c.kind == "total" else INPUT_RGB,
                                                        border="thin")
             for cid, c in form.cells.items()}
    return lambda sheet, ref: looks.get((sheet, ref), CellLook())


def engine_check(report: Report) -> list[Finding]:
    """The rule engine (imported on first use; tests replace this name)."""
    from gkreport.core.engine import check

    return check(report)


def _marker(book: xw.Book, fallback: Callable[[str, str], CellLook] | None = None) -> Any:
    """The add-in's batched marker when its macros answer, else the per-cell one."""
    from gkreport.markers.xlwings_marker import BatchMarker, XlwingsMarker

    return BatchMarker.available(book, ADDIN_FILE) or XlwingsMarker(book, fallback=fallback)


def _say_note_failures(marker: Any) -> str:
    n = getattr(marker, "note_failures", 0)
    return f"\n（有 {n} 个单元格带有新式“批注”（对话），无法添加说明，请看“{RESULTS_SHEET}”工作表。）" if n else ""


# ------------------------------------------------------------------------------ entry points


@entry_point
def check_active(book: xw.Book | None = None) -> None:
    """校验: check the open workbook as it is on screen and mark the problems in place."""
    from gkreport.core.findings import count_by_severity
    from gkreport.markers.marking import apply_marks, plan_marks

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
    from gkreport.markers.marking import clear_marks as clear_all_marks

    book = _target(book)
    marker = _marker(book)
    touching = {s for s, _, _ in marker.read_state()} if marker.has_sheet(STATE_SHEET) else set()
    with marker.session(touching):
        restored = clear_all_marks(marker)
    _alert(book.app, f"已清除 {restored} 个单元格的校验标记。" if restored else "没有需要清除的校验标记。")


def _position(book: xw.Book, sheet: str, ref: str) -> tuple[int, int, int]:
    from gkreport.core import addresses as addr

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
    from gkreport.markers.xlwings_marker import XlwingsMarker

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
    the form whose ``years`` cover it (see :mod:`gkreport.addin.excel_newform`)."""
    from gkreport.addin.excel_newform import new_form_for_year

    return new_form_for_year(book, year)


def __getattr__(name: str) -> Any:
    """``new_form_<version>``: what add-ins built before 新建填报表 still start (see
    :func:`gkreport.addin.excel_newform.legacy_entry_point`)."""
    if not name.startswith("new_form_"):  # e.g. __path__, asked by every "from .excel import"
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from gkreport.addin.excel_newform import legacy_entry_point

    return legacy_entry_point(name)


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
        from gkreport.consolidation import consolidate as cons
    except ImportError as e:
        raise ExcelUserError("这个版本的 gkreport 没有汇总功能（缺少 gkreport.consolidation.consolidate），请升级 gkreport。") from e
    app = book.app if book is not None else excel_app._any_app()
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
        # The reading cache: files unchanged since the last 汇总 are not read again.
        roster = cons.find_roster(folder)
        out_path = _summary_path(folder)
        result: Consolidation = cons.consolidate([folder], jobs=1, roster=roster, output=out_path, cache=True)
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
    root = Path(__file__).resolve().parents[3]
    readme = root / "README.md"
    return str(readme) if readme.is_file() else "随 gkreport 安装的 README（pip show gkreport 可查看安装位置）"


@entry_point
def show_help(book: xw.Book | None = None) -> None:
    """设置/帮助: versions, interpreter and where the log is (what support asks for first)."""
    from gkreport.commands import runtime

    app = book.app if book is not None else excel_app._any_app()
    from gkreport.xlam import AddinError
    from gkreport.xlam.install import config_file_path

    try:
        conf = str(config_file_path())
    except (AddinError, RuntimeError, KeyError):  # a system without Excel; no home folder (Path.home)
        conf = "（本系统不适用）"
    _alert(app, "\n".join([
        f"gkreport 版本：{__version__}（加载项：{excel_app._LAUNCH.get('addin', '未知')}）",
        f"xlwings 版本：{xw.__version__}",
        f"Python：{sys.executable}",
        f"加载项配置文件：{conf}",
        f"使用说明：{_readme()}",
        f"日志文件：{runtime.LOG_FILE}",
        "",
        "按钮：新建填报表 → 填写 → 校验（标出问题）→ 跳到下一个问题 → 改正后再校验 → 清除标记。",
    ]))
