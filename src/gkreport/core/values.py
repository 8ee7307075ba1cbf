"""Turning what is in a cell into a value the rules can use, without losing what was there.

Blank, zero and "not applicable" stay distinct: a blank counts as 0 in the arithmetic
but is still *blank* in the data. Text that reads as a number ("5件", full-width "５",
"1,234", "75394432.52元") is used and reported; text that does not is an error at its
cell. Nothing here raises on bad input: every outcome is a ``Value`` with a state.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

# ``unread``: an imported report printed a value here that the importer could not place
# (a row with too few values, a merged row ...). It counts as 0 like a blank, but rules
# that depend on it cannot be checked: the engine says so instead of reporting arithmetic.
State = Literal["number", "blank", "na", "converted", "invalid", "unreadable", "unread"]

NOT_APPLICABLE = {"/", "／", "-", "－", "—", "——", "–", "―", "不适用", "无", "空", "n/a", "na", "N/A", "NA"}
COUNT_UNITS = ("件", "项", "个", "条", "起", "次", "宗", "份")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_UNIT_TAIL = re.compile(r"^(?P<num>.*?)(?P<unit>万元|亿元|元|" + "|".join(COUNT_UNITS) + r")$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
MAX_ABS = 1e12  # beyond any real count or amount (in 元) of one agency
# Text longer than this is not a number anyone typed ("1,234,567,890.12万元" is 18): it is
# reported as such without being parsed, so a 5000-digit string costs nothing.
MAX_NUMBER_TEXT = 64


@dataclass(frozen=True)
class Value:
    """A cell as read: ``raw`` is untouched; ``number`` is what the arithmetic uses."""

    raw: object
    state: State
    number: float | int | None = None
    why: str = ""
    formula: str | None = None  # the cell's formula, when it had one (the value is recomputed)

    @property
    def arith(self) -> float | int:
        """The value in the arithmetic: blanks, "/" and unusable cells count as 0."""
        return self.number if self.number is not None and self.state in ("number", "converted") else 0

    @property
    def is_blank(self) -> bool:
        return self.state == "blank"

    @property
    def usable(self) -> bool:
        """Whether the cell's value can be compared as a number (``compare`` lists the others
        apart instead of comparing them as 0): a number, a converted text, a blank or "/"."""
        return self.state in ("number", "converted", "blank", "na")


BLANK = Value(None, "blank")


def unread(why: str) -> Value:
    """A cell whose published value the importer could not place (see ``State``)."""
    return Value(None, "unread", why=why)


def _integral(x: float) -> bool:
    return math.isfinite(x) and float(x).is_integer()


def _as_number(x: float) -> int | float:
    return int(x) if _integral(x) and abs(x) < 2**53 else x


def parse_value(raw: object, ctype: str = "count", unit: str | None = None) -> Value:
    """Interpret one cell for a cell of type ``count``/``signed``/``amount``.

    ``unit`` is the unit the form prints for the cell (e.g. 万元); amounts written in
    another unit are converted to it and reported.
    """
    if raw is None:
        return BLANK
    if isinstance(raw, bool):
        return Value(raw, "invalid", why="是逻辑值（TRUE/FALSE），不是数字")
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            return Value(raw, "invalid", why="不是有效数字")
        return _check_range(raw, raw, ctype, "number", "")
    text = str(raw)
    stripped = text.strip().strip("\u200b\ufeff")
    if not stripped:
        return BLANK
    if stripped in NOT_APPLICABLE:
        return Value(raw, "na", why="视为不适用")
    if len(stripped) > MAX_NUMBER_TEXT:
        digits = sum(ch.isdigit() for ch in stripped)
        return Value(raw, "invalid", why=f"不是有效数字（{digits} 位数字，过长）" if digits > MAX_NUMBER_TEXT // 2
                     else "不是数字")
    notes: list[str] = []
    s = unicodedata.normalize("NFKC", stripped)
    if s != stripped:
        notes.append("含全角字符")
    s = s.replace(" ", "")
    factor = Decimal(1)
    m = _UNIT_TAIL.match(s)
    if m and m["num"]:
        s, written_unit = m["num"], m["unit"]
        factor, note = _unit_factor(written_unit, ctype, unit)
        if factor == 0:
            return Value(raw, "invalid", why=note)
        notes.append(note)
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
        notes.append("含千位分隔符")
    if not _NUMBER.match(s):
        return Value(raw, "invalid", why="不是数字")
    try:
        number = float(Decimal(s) * factor)
    except ArithmeticError:  # decimal.InvalidOperation / Overflow ("1e999999999"), OverflowError
        return Value(raw, "invalid", why="数值过大或不是有效数字")
    if not notes:
        notes.append("数字以文本形式存储")
    return _check_range(raw, number, ctype, "converted", "，".join(notes))


def _unit_factor(written: str, ctype: str, unit: str | None) -> tuple[Decimal, str]:
    if written in COUNT_UNITS:
        if ctype == "amount":
            return Decimal(0), f"金额单元格带有件数单位“{written}”"
        return Decimal(1), f"去掉单位“{written}”"
    if ctype != "amount":
        return Decimal(0), f"件数单元格带有金额单位“{written}”"
    to_yuan = {"元": Decimal(1), "万元": Decimal(10000), "亿元": Decimal(100000000)}
    if unit is None or unit == written:
        return Decimal(1), f"去掉单位“{written}”" + ("（本表未规定单位，请确认各单位口径一致）" if unit is None else "")
    if unit in to_yuan:
        return to_yuan[written] / to_yuan[unit], f"由{written}换算为{unit}"
    return Decimal(1), f"去掉单位“{written}”"


def _check_range(raw: object, number: float, ctype: str, state: State, why: str) -> Value:
    if abs(number) > MAX_ABS:
        return Value(raw, "invalid", why="数值过大，不可能是真实的件数或金额")
    if ctype in ("count", "signed") and not _integral(number):
        return Value(raw, "invalid", why="不是整数（件数、项目数应为整数）")
    if ctype in ("count", "amount") and number < 0:
        return Value(raw, "invalid", why="是负数（此处不能为负）")
    return Value(raw, state, _as_number(number), why)


def format_number(x: float | int | None) -> str:
    """Numbers for messages: integers without ``.0``, amounts without float noise."""
    if x is None:
        return "空白"
    if _integral(float(x)):
        return str(int(x))
    return f"{x:.6f}".rstrip("0").rstrip(".")


_DATE = re.compile(r"(\d{4})\D{1,3}(\d{1,2})\D{1,3}(\d{1,2})")


def iso_date(v: object) -> str | None:
    """A 填报日期 as typed (a date cell, "2024-01-20", "2024年1月20日", "2024.1.20") as
    YYYY-MM-DD, or None: the summary picks the newest resubmission by it, the publication prints it."""
    if isinstance(v, dt.datetime | dt.date):
        return v.strftime("%Y-%m-%d")
    m = _DATE.search(str(v or ""))
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None
