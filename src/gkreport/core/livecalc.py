"""The engine's reading of every data cell, as spreadsheet formulas (for the template's live checks).

The live checks must agree with ``check``: a plain ``SUM`` skips text, so "5件" in a cell
would show "✗ 应为 0" beside a correct total while the engine reads 5 (with a warning)
and reports nothing. So the template carries, on a very hidden sheet, a formula copy of
:func:`gkreport.core.values.parse_value` for each data cell, in stages ("bands"), each band a
copy of the table's grid (same columns, rows shifted), so a run of adjacent cells on the
table is a run of adjacent cells in every band:

``text``   the cell's text without spaces, full-width digits and signs made half-width
           (what NFKC does to them), "" when the cell is not text;
``unit``   ``text`` without a unit that fits the cell ("件" on a count, "万元" on an
           amount), or ``!`` when the unit does not fit (a count written in 元);
``whole``  the digits of ``unit`` before the point, without the sign;
``plain``  ``unit`` without correctly placed thousands separators (``!`` if misplaced);
``core``   ``plain`` without its sign and its exponent's sign;
``number`` ``plain`` as a number when it is one by the engine's grammar (digits, one
           point, an exponent; no dates like "1-2" that VALUE() would accept), else "";
``value``  the number the engine uses in the arithmetic (0 for blank, "/", text it
           cannot read, a negative count, a decimal count, a date, TRUE);
``state``  0 number or blank; 1 text the engine reads (a warning: "5件", "１２", "/");
           2 what the engine rejects (an error at the cell).

Only functions of Excel 2007 that LibreOffice and WPS share (SUBSTITUTE, CLEAN, VALUE,
FIND, MID, EXACT, SUMPRODUCT, COUNTIF, CELL): no LET, LAMBDA or dynamic arrays. Known
differences, all in contents no clerk types by accident: control characters inside the
text are dropped (the engine rejects "1\\n2"), and spaces inside a "not applicable" word
are ignored ("不 适用" counts as 不适用; both count as 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import addresses as addr
from . import rule_types
from .forms import CellDef, Form, RuleInstance, TableDef, Term
from .values import COUNT_UNITS, MAX_ABS, NOT_APPLICABLE

CALC_SHEET = "_gkreport_calc"
BANDS = ("text", "unit", "whole", "plain", "core", "number", "value", "state")
TEXT_READ, REJECTED = 1, 2  # the ``state`` codes a live check counts
FIRST_ROW = 3  # row 1 says what the sheet is

# What NFKC does to the characters a clerk types into a number (full-width digits and
# signs), and the spaces the engine strips or removes.
_WIDE = {chr(0xFF10 + i): str(i) for i in range(10)} | {"．": ".", "，": ",", "＋": "+", "－": "-",
                                                      "ｅ": "e", "Ｅ": "e", "E": "e", "／": "/"}
_SPACES = (" ", "\u3000", "\u00a0", "\u200b", "\ufeff")
_MONEY = {"元": 1, "万元": 10_000, "亿元": 100_000_000}


@dataclass(frozen=True)
class CalcLayout:
    """Where each table's bands sit on :data:`CALC_SHEET`."""

    starts: dict[tuple[str, str], int]  # (table id, band) -> the sheet row of the table's first row

    def ref(self, cell: CellDef, band: str, table: TableDef) -> str:
        """The address in ``band`` that mirrors ``cell``."""
        col, row = addr.split_ref(cell.ref)
        return addr.make_ref(col, self.starts[(table.id, band)] + row - table.first_row)

    def band_range(self, table: TableDef, band: str) -> str:
        """The whole band of ``table`` (only its data cells hold formulas)."""
        top = self.starts[(table.id, band)]
        return addr.make_range(table.first_col, top, table.last_col, top + table.n_rows - 1)


def layout(form: Form) -> CalcLayout:
    """Bands stacked table by table, one empty row between them."""
    starts: dict[tuple[str, str], int] = {}
    row = FIRST_ROW
    for table in form.tables:
        for band in BANDS:
            starts[(table.id, band)] = row
            row += table.n_rows + 1
    return CalcLayout(starts)


def calc_cells(form: Form, lay: CalcLayout) -> list[tuple[str, str]]:
    """(address on CALC_SHEET, formula) for every band of every data cell."""
    out = []
    for table in form.tables:
        for cid in table.cell_ids:
            cell = form.cells[cid]
            here = {band: lay.ref(cell, band, table) for band in BANDS}
            # relative, so the formula is the same in every cell of a band, moved as a copy
            # moves it: the sheet writes each band's formula once (gkreport.shared_formulas)
            src = f"{addr.quote_sheet(cell.sheet)}!{cell.ref}"
            for band in BANDS:
                out.append((here[band], "=" + _BUILDERS[band](cell, src, here)))
    return out


# ------------------------------------------------------------------------------ bands


def _text(cell: CellDef, x: str, b: dict[str, str]) -> str:
    s = f"CLEAN({x})"
    for ch in _SPACES:
        s = f'SUBSTITUTE({s},"{ch}","")'
    for wide, narrow in _WIDE.items():
        s = f'SUBSTITUTE({s},"{wide}","{narrow}")'
    return f'IF(ISTEXT({x}),{s},"")'


def _unit(cell: CellDef, x: str, b: dict[str, str]) -> str:
    """Strip one trailing unit as the engine's ``_UNIT_TAIL`` does (a two-character unit
    first); a unit of the wrong kind for the cell makes the cell unreadable."""
    u = b["text"]
    two = f"AND(LEN({u})>2,OR(RIGHT({u},2)=\"万元\",RIGHT({u},2)=\"亿元\"))"
    count = f"AND(LEN({u})>1,ISNUMBER(FIND(RIGHT({u},1),\"{''.join(COUNT_UNITS)}\")))"
    yuan = f"AND(LEN({u})>1,RIGHT({u},1)=\"元\")"
    if cell.type == "amount":
        return (f'IF({two},LEFT({u},LEN({u})-2),IF({count},"!",IF({yuan},LEFT({u},LEN({u})-1),{u})))')
    return f'IF({two},"!",IF({count},LEFT({u},LEN({u})-1),IF({yuan},"!",{u})))'


def _whole(cell: CellDef, x: str, b: dict[str, str]) -> str:
    """The digits before the point, without the sign (where thousands separators may be)."""
    us = _unsigned(b["unit"])
    return f'IF(ISNUMBER(FIND(".",{us})),LEFT({us},FIND(".",{us})-1),{us})'


def _plain(cell: CellDef, x: str, b: dict[str, str]) -> str:
    """Thousands separators count only where the engine's ``_THOUSANDS`` allows them:
    ``[+-]d{1,3}(,ddd)+(.d+)?`` (no exponent, digits after a point)."""
    n, w = b["unit"], b["whole"]
    commas = f'(LEN({w})-LEN(SUBSTITUTE({w},",","")))'
    placed = [f'OR({commas}<{j},MID({w},MAX(1,LEN({w})-{4 * j - 1}),1)=",")' for j in range(1, 5)]
    ok = (f'AND({commas}>=1,{commas}=INT((LEN({w})-{commas}-1)/3),{",".join(placed)},'
          f'ISERROR(FIND("e",{n})),RIGHT({n},1)<>".")')
    return f'IF(ISNUMBER(FIND(",",{n})),IF({ok},SUBSTITUTE({n},",",""),"!"),{n})'


def _core(cell: CellDef, x: str, b: dict[str, str]) -> str:
    """``plain`` without its sign and the exponent's sign: no "+" or "-" may remain."""
    m = b["plain"]
    return _unsigned(f'SUBSTITUTE(SUBSTITUTE({m},"e+","e"),"e-","e")')


def _unsigned(x: str) -> str:
    """``x`` without one leading "+" or "-"."""
    return f'IF(OR(LEFT({x},1)="+",LEFT({x},1)="-"),MID({x},2,99),{x})'


def _number(cell: CellDef, x: str, b: dict[str, str]) -> str:
    """The engine's ``_NUMBER`` grammar, checked before VALUE() (which would also take
    dates, times, percentages and currency)."""
    m, z = b["plain"], b["core"]
    others = z
    for ch in "0123456789.e":
        others = f'SUBSTITUTE({others},"{ch}","")'
    once = ",".join(f'(LEN({z})-LEN(SUBSTITUTE({z},"{ch}","")))<=1' for ch in ".e")
    point_first = f'IFERROR(FIND(".",{z}),0)<IFERROR(FIND("e",{z}),999)'
    ok = f'AND({others}="",{once},{point_first})'
    return f'IFERROR(IF(AND({m}<>"",{m}<>"!",{ok}),VALUE({m}){_factor(cell, b["text"])},""),"")'


def _factor(cell: CellDef, u: str) -> str:
    """Amounts in another money unit than the form's are converted, as the engine does."""
    if cell.type != "amount" or cell.unit not in _MONEY:
        return ""
    to = _MONEY[cell.unit]

    def scale(written: str) -> str:
        k = _MONEY[written]
        return "1" if k == to else (f"{k // to}" if k > to else f"(1/{to // k})")

    return (f'*IF(AND(LEN({u})>2,RIGHT({u},2)="万元"),{scale("万元")},'
            f'IF(AND(LEN({u})>2,RIGHT({u},2)="亿元"),{scale("亿元")},'
            f'IF(RIGHT({u},1)="元",{scale("元")},1)))')


def _valid(cell: CellDef, y: str) -> str:
    """The engine's range check (``_check_range``) on the number ``y``."""
    parts = [f"ABS({y})<={MAX_ABS:.0f}"]
    if cell.type in ("count", "signed"):
        parts.append(f"{y}=INT({y})")
    if cell.type in ("count", "amount"):
        parts.append(f"{y}>=0")
    return f"AND({','.join(parts)})"


def _is_date(x: str) -> str:
    """The engine reads a date-formatted number as a date, not a count. CELL("format")
    tells dates in Excel (D1…D9); LibreOffice answers G for most date formats, so there a
    date counts as its serial number (the one known difference a clerk can type)."""
    return f'LEFT(CELL("format",{x}),1)="D"'


def _value(cell: CellDef, x: str, b: dict[str, str]) -> str:
    p = b["number"]
    return (f"IF(ISLOGICAL({x}),0,IF(ISNUMBER({x}),IF(AND({_valid(cell, x)},NOT({_is_date(x)})),{x},0),"
            f"IF(ISNUMBER({p}),IF({_valid(cell, p)},{p},0),0)))")


def _state(cell: CellDef, x: str, b: dict[str, str]) -> str:
    u, p = b["text"], b["number"]
    na = ",".join(f'"{w}"' for w in sorted(NOT_APPLICABLE))
    text = (f"IF({u}=\"\",0,IF(ISNUMBER({p}),IF({_valid(cell, p)},{TEXT_READ},{REJECTED}),"
            f"IF(SUMPRODUCT(--EXACT({u},{{{na}}}))>0,{TEXT_READ},{REJECTED})))")
    number = f"IF(AND({_valid(cell, x)},NOT({_is_date(x)})),0,{REJECTED})"
    return (f"IF(ISLOGICAL({x}),{REJECTED},IF(ISNUMBER({x}),{number},"
            f"IF(ISTEXT({x}),{text},IF(ISBLANK({x}),0,{REJECTED}))))")


_BUILDERS: dict[str, Callable[[CellDef, str, dict[str, str]], str]] = {
    "text": _text, "unit": _unit, "whole": _whole, "plain": _plain, "core": _core, "number": _number,
    "value": _value, "state": _state,
}


# ------------------------------------------------------------------------------ sums over bands


def band_sum(terms: Sequence[Term], form: Form, lay: CalcLayout, band: str = "value", const: int = 0) -> str:
    """Σ coef × (the band's copy of each cell) + ``const``, adjacent cells with the same
    coefficient grouped into ranges (``2*SUM(…)`` for a coefficient of 2)."""
    parts = [("-" if coef < 0 else "+") + (f"{abs(coef)}*" if abs(coef) != 1 else "") + f"SUM({rng})"
             for coef, rng in _runs(terms, form, lay, band)]
    if const:
        parts.append(f"{const:+d}")
    return "".join(parts).removeprefix("+") or "0"


def band_count(terms: Sequence[Term], form: Form, lay: CalcLayout, code: int) -> str:
    """How many of the cells of ``terms`` have ``state`` = ``code``."""
    rngs = dict.fromkeys(rng for _, rng in _runs(terms, form, lay, "state"))
    return "+".join(f"COUNTIF({rng},{code})" for rng in rngs) or "0"


def _runs(terms: Sequence[Term], form: Form, lay: CalcLayout, band: str) -> list[tuple[int, str]]:
    groups: list[tuple[int, list[tuple[int, int]]]] = []
    for t in terms:
        cell = form.cells[t.cell]
        col, row = addr.split_ref(lay.ref(cell, band, form.table(cell.table)))
        if groups:
            coef, run = groups[-1]
            lc, lr = run[-1]
            same_col = col == lc and row == lr + 1 and all(c == col for c, _ in run)
            same_row = row == lr and col == lc + 1 and all(r == row for _, r in run)
            if coef == t.coef and (same_col or same_row):
                run.append((col, row))
                continue
        groups.append((t.coef, [(col, row)]))
    return [(coef, addr.absolute(addr.make_range(run[0][0], run[0][1], run[-1][0], run[-1][1]), CALC_SHEET))
            for coef, run in groups]


# ------------------------------------------------------------------------------ live checks per rule type
# Each returns (the condition under which the engine reports the identity, the text shown
# then, starting with the template's ``mark``): the template's half of the rule type
# (gkreport.core.rule_types).


def _sides(inst: RuleInstance, form: Form, lay: CalcLayout) -> tuple[str, str]:
    return (band_sum(inst.left, form, lay, const=inst.left_const),
            band_sum(inst.right, form, lay, const=inst.right_const))


@rule_types.live_formula("equal")
def _equal_live(inst: RuleInstance, form: Form, lay: CalcLayout, mark: str) -> tuple[str, str]:
    left, right = _sides(inst, form, lay)
    diff = f"({left})-({right})"
    fails = f"ABS({diff})>{inst.rule.tolerance:g}"
    if inst.target:  # a rule with a single total states the value the total should have
        tgt = addr.absolute(form.cells[inst.target].ref)
        return fails, f'IF(ISBLANK({tgt}),"{mark} 空白，应为 ","{mark} 应为 ")&ROUND({right},6)'
    return fails, f'"{mark} 相差 "&ROUND({diff},6)'  # a balance of several cells can only state the imbalance


@rule_types.live_formula("compare")
def _compare_live(inst: RuleInstance, form: Form, lay: CalcLayout, mark: str) -> tuple[str, str]:
    left, right = _sides(inst, form, lay)
    op = inst.rule.op or ">="
    slack = {">=": f"-{1e-9:g}", "<=": f"+{1e-9:g}"}.get(op, "")  # rule_types.compare_holds
    return f"NOT(({left}){op}({right}){slack})", f'"{mark} 为 "&ROUND({left},6)'
