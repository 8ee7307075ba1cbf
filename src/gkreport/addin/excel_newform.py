"""新建填报表: a blank workbook on the form whose ``years`` cover the report year.

One button for every form version: it asks the report year (last year filled in, as reports
are written early in the following year) and takes the form from ``rules/form-*.json``, so a
new form version needs no new button. Add-ins built before that had one button per version
and still start ``new_form_<version>``: :func:`legacy_entry_point` answers those names.
The entry points themselves are in :mod:`gkreport.addin.excel` (where the add-in looks them up).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xlwings as xw

from .excel_app import TITLE, ExcelUserError, _any_app, _open, entry_point, is_remote

_LEGACY_NEW_FORM = re.compile(r"new_form_(\d{4})")


def default_report_year(today: dt.date | None = None) -> int:
    """Reports are filled early in the year after the one they cover: last year."""
    return (today or dt.date.today()).year - 1


def ask_year(app: Any) -> int | None:
    """The report year from an Excel input box (a number, last year filled in); None when
    cancelled. Where no input box can be shown (the remote engine, the Mac), last year."""
    default = default_report_year()
    if app is None:
        return default
    try:
        answer = app.api.InputBox("请输入报告年度（四位数字），将按该年度适用的表式新建填报表：", TITLE, default, Type=1)
    except Exception:  # not desktop Excel on Windows: no input box
        return default
    if answer is False or answer is None or answer == "":
        return None
    wrong = ExcelUserError(f"报告年度应为四位数字的年份（例如 {default}），而不是“{answer}”。")
    try:
        year = int(float(answer))
    except (TypeError, ValueError):
        raise wrong from None
    if not 2008 <= year <= 2100:
        raise wrong
    return year


def new_form_for_year(book: xw.Book | None, year: int | None) -> Path | None:
    """The body of the 新建填报表 button: ``year`` or the one asked; None when cancelled."""
    from gkreport.core.forms import FormError
    from gkreport.core.forms_meta import form_for_report_year

    if year is None:
        remote = book is not None and is_remote(book)
        year = default_report_year() if remote else ask_year(book.app if book is not None else _any_app())
        if year is None:
            return None  # cancelled
    try:
        form = form_for_report_year(year)
    except FormError as e:
        raise ExcelUserError(str(e)) from None
    return open_new_form(form.version, book)


def legacy_entry_point(name: str) -> Callable[..., Path | None]:
    """``new_form_2021`` and the like: a blank workbook on that version, as before, for any
    version that has a rules file; AttributeError for any other name (a module ``__getattr__``)."""
    m = _LEGACY_NEW_FORM.fullmatch(name)
    if m is None:
        raise AttributeError(f"module 'gkreport.addin.excel' has no attribute {name!r}")
    version = m[1]

    def legacy_new_form(book: xw.Book | None = None) -> Path | None:
        from gkreport.core.forms import available_forms

        if version not in available_forms():
            raise ExcelUserError(f"没有 {version} 版表式。请点“新建填报表”，按报告年度新建。")
        return open_new_form(version, book)

    legacy_new_form.__name__ = legacy_new_form.__qualname__ = name
    return entry_point(legacy_new_form)


def open_new_form(version: str, book: xw.Book | None) -> Path | None:
    """Write a fresh template to a temp folder and open it (remote: just return the path)."""
    from gkreport.core.forms import load_form
    from gkreport.markers.xlwings_marker import uses_com
    from gkreport.output.template import build_template, save_workbook_atomic, template_filename

    form = load_form(version)
    folder = Path(tempfile.mkdtemp(prefix="gkreport-"))
    path = save_workbook_atomic(build_template(form), folder / template_filename(version))
    if book is not None and is_remote(book):
        return path
    app = book.app if book is not None else _any_app()
    windows = uses_com(book) if book is not None else sys.platform.startswith("win")
    if app is not None and windows:
        try:
            # A copy of the template: 保存 then asks where to save instead of writing to temp.
            app.api.Workbooks.Add(Template=str(path))
            return path
        except Exception:  # fall back to opening the file itself
            pass
    _open(app, path)
    return path
