"""The shared and data-table formulas of a worksheet part that make openpyxl's load fail.

openpyxl (the full reader) parses every worksheet, the ones the fast reader never reads
too (the template's very hidden ``_gkreport_calc``, written as shared formulas). In
``WorkSheetParser.parse_formula``, per sheet and in document order:

- ``t="shared"``: the first cell of a group ``si`` with formula text is its anchor
  (``Translator(text, r)``: openpyxl's ``Tokenizer`` may refuse the text); every later
  cell of the group translates the anchor's relative references by its offset, and a row
  that falls to 0 or below, or a column outside A..ZZZ, raises ``TranslatorError``;
- ``t="dataTable"``: ``DataTableFormula(**attributes)`` needs a ``ref`` attribute.

:func:`check_formulas` finds exactly those failures, or raises :class:`Unproven` for a
shape it does not read (the full reader then decides). The anchor's verdict (tokenizer,
the relative rows and columns it references) is kept per formula text: files made from
one template share their anchors, and tokenizing them costs milliseconds.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import OrderedDict
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from types import ModuleType
from typing import Any

from gkreport.core import addresses as addr

from . import ooxml_skeleton
from .ooxml_common import Unproven, unescape
from .ooxml_sheet import _DECL, _ENCODING, _MARKUP_DECL, _ROOT, _check_namespaces

_MAX_COL = 18278  # openpyxl's get_column_letter: columns A..ZZZ
_ATTR = re.compile(rb"""([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ATTRS = rb"""((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)"""
_CANON = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})\Z")
# A formula element that may carry attributes: "<f " (or a prefixed "<x:f "), whitespace after the name.
_NEEDLES = (b"<f ", b"<f\t", b"<f\n", b"<f\r", b":f")


@lru_cache(maxsize=8)
def _patterns(prefix: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    p = re.escape(prefix)
    any_f = re.compile(rb"<" + p + rb"f\s")
    # A cell whose first child is a formula with whitespace after its name (attributes).
    cell_f = re.compile(rb"<" + p + rb"c" + _ATTRS + rb"\s*>\s*<" + p + rb"f(?=\s)" + _ATTRS
                        + rb"\s*(?:(/)>|>([^<]*)</" + p + rb"f\s*>)")
    return any_f, cell_f


_CHECKED: OrderedDict[int, tuple[bytes, str | None]] = OrderedDict()


def check_formulas(xml: bytes) -> None:
    """Raise :class:`Unproven` if openpyxl's load may fail on this worksheet part's formulas.

    Remembered for the very same bytes object (a part shared byte for byte by many files
    is handed over as one object, see :mod:`gkreport.readers.ooxml_members`).
    """
    hit = _CHECKED.get(id(xml))
    if hit is None or hit[0] is not xml:
        try:
            _check(xml)
            verdict: str | None = None
        except Unproven as e:
            verdict = str(e)
        hit = _CHECKED[id(xml)] = (xml, verdict)
        while len(_CHECKED) > 64:
            _CHECKED.popitem(last=False)
    _CHECKED.move_to_end(id(xml))
    if hit[1] is not None:
        raise Unproven(hit[1])


def _check(xml: bytes) -> None:
    decl = _DECL.match(xml)
    enc = _ENCODING.search(decl.group(1)) if decl is not None and decl.group(1) else None
    if decl is None or (enc.group(1) if enc else b"utf-8").lower() not in (b"utf-8", b"utf8"):
        raise Unproven("工作表部件不是 UTF-8 编码")  # the byte searches below read UTF-8
    root = _ROOT.search(xml, 0, 4096)
    prefix = b"" if root is None or not root.group(1) else root.group(1) + b":"
    try:
        if root is None:
            raise Unproven("工作表部件的根元素不是 worksheet")
        _check_namespaces(xml, root, prefix)
    except Unproven:
        if not any(n in xml for n in _NEEDLES):
            return  # no formula with attributes (under any prefix): nothing openpyxl could fail on
        raise
    # SpreadsheetML is bound to ``prefix`` only: every formula element is written "<{prefix}f".
    if _patterns(prefix)[0].search(xml) is None:
        return  # no formula with attributes: no shared or data-table formula
    if _MARKUP_DECL.search(xml, root.start()) is not None:
        raise Unproven("工作表含有注释、CDATA 或处理指令")
    if prefix:
        _check_cells(xml, prefix)
        return
    # The cells' cached values do not matter here (a <v> holds text, no markup): the verdict is
    # that of the part with every <v> emptied, kept by that text. Files made from one template
    # differ in their calc sheet's values only (Excel, WPS write them per file), not its formulas.
    # (the well-formedness proof has usually emptied this very part already: its result is reused)
    skeleton = ooxml_skeleton.skeleton_of(xml) or ooxml_skeleton.emptied(xml)
    verdict = _SKELETONS.get(skeleton, _UNSEEN)
    if verdict is _UNSEEN:
        try:
            _check_cells(skeleton, prefix)
            verdict = None
        except Unproven as e:
            verdict = str(e)
        _SKELETONS[skeleton] = verdict
        while len(_SKELETONS) > 8:
            _SKELETONS.popitem(last=False)
    _SKELETONS.move_to_end(skeleton)
    if verdict is not None:
        raise Unproven(str(verdict))


_UNSEEN = object()
_SKELETONS: OrderedDict[bytes, object] = OrderedDict()  # part with its <v> emptied -> None or why unproven


def _check_cells(xml: bytes, prefix: bytes) -> None:
    """The formulas of a part whose shape :func:`_check` has established."""
    if not prefix and _common_shape_proves(xml):
        return
    any_f, cell_f = _patterns(prefix)
    found = cell_f.findall(xml)
    if len(found) != len(any_f.findall(xml)):
        raise Unproven("有带属性的公式不是其单元格的第一个子元素，或标记无法识别")
    anchors: dict[str | None, tuple[int, int, tuple[int, int, int]]] = {}
    for cell_attrs, f_attrs, slash, text in found:
        t, si, has_ref = _formula_attrs(f_attrs)
        if t == "dataTable":
            if not has_ref:
                raise Unproven("数据表公式缺少 ref 属性（openpyxl 无法读取）")
            continue
        if t != "shared":
            continue
        row, col = _cell_position(cell_attrs)
        if si in anchors:
            _translate(anchors[si], row, col)
        elif not slash and text:
            anchors[si] = (row, col, _anchor_bounds(text))


# The shape Excel, WPS and openpyxl write: <c r="B5" s="1"><f t="shared" si="0"/>..., no entities in
# attributes; the formula's text (up to its end tag; "" when it closes itself or is empty).
_SHAPE_F = re.compile(rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"(?: [a-z]+="[^"<>&]*")*><f ([^<>]*)>'
                      rb'([^<]*)(?:(?=</f>)|(?<=/>))')
_SHAPE_ATTRS = re.compile(rb'[A-Za-z0-9]+="[^"<>&]*"(?: [A-Za-z0-9]+="[^"<>&]*")*/?')
_ODD_SPACE = re.compile(rb"<f[\t\n\r]")


def _common_shape_proves(xml: bytes) -> bool:
    """True when the part, written in the common shape, has no formula openpyxl fails on;
    False: the exact pass decides (or raises Unproven for a certain failure).

    Cheap for the calc sheet of every file (1,600 shared cells): one pass collects the
    cells, the per-cell work is done on distinct (column, formula attributes) pairs, and
    rows in document order that never go down make every translated row valid (a cell
    after its anchor is on or below it, and a reference row is >= 1).
    """
    found = _SHAPE_F.findall(xml)
    if len(found) != xml.count(b"<f ") or _ODD_SPACE.search(xml) is not None:
        return False
    kinds = {}
    for attrs in set(map(itemgetter(2), found)):
        if not _SHAPE_ATTRS.fullmatch(attrs):
            return False
        kinds[attrs] = _formula_attrs(b" " + attrs.rstrip(b"/"))
    if not any(k[0] in ("shared", "dataTable") for k in kinds.values()):
        return True
    if any(k[0] == "dataTable" and not k[2] for k in kinds.values()):
        raise Unproven("数据表公式缺少 ref 属性（openpyxl 无法读取）")
    anchors: dict[str | None, tuple[int, int, tuple[int, int, int]]] = {}
    for col, row, attrs, text in [x for x in found if x[3]]:
        t, si, _ = kinds[attrs]
        if t == "shared" and si not in anchors and not attrs.endswith(b"/"):
            anchors[si] = (int(row), addr.column_index_from_string(col.decode("ascii")),
                           _anchor_bounds(text))
    rows = list(map(int, map(itemgetter(1), found)))
    if rows != sorted(rows):
        return False
    for col, attrs in set(map(itemgetter(0, 2), found)):
        t, si, _ = kinds[attrs]
        if t != "shared" or si not in anchors:
            continue
        _, col0, (_, min_col, max_col) = anchors[si]
        dc = addr.column_index_from_string(col.decode("ascii")) - col0
        if min_col + dc < 1 or max_col + dc > _MAX_COL:
            return False  # perhaps out of range (or written before its anchor): the exact pass decides
    return True


@lru_cache(maxsize=256)
def _formula_attrs(attrs: bytes) -> tuple[str | None, str | None, bool]:
    """``t``, ``si`` and whether ``ref`` is there (attributes without a namespace prefix)."""
    got = {m[1]: m[2] if m[2] is not None else m[3] for m in _ATTR.finditer(attrs)}
    t, si = got.get(b"t"), got.get(b"si")
    return (None if t is None else unescape(t.decode("utf-8")), None if si is None else unescape(si.decode("utf-8")),
            b"ref" in got)


_R_ATTR = re.compile(rb"""\sr\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _cell_position(attrs: bytes) -> tuple[int, int]:
    m = _R_ATTR.search(attrs)
    ref = None if m is None else unescape((m[1] if m[1] is not None else m[2]).decode("utf-8"))
    pos = None if ref is None else _CANON.match(ref)
    if pos is None:
        raise Unproven("共享公式所在单元格的地址缺失或写法不常见")
    return int(pos[2]), addr.column_index_from_string(pos[1])


def _formula_text(raw: bytes) -> str:
    """The formula as an XML parser gives it (line ends normalised, references resolved)."""
    return unescape(raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n"))


def _translate(anchor: tuple[int, int, tuple[int, int, int]], row: int, col: int) -> None:
    """openpyxl's ``Translator.translate_formula`` to the cell (row, col): out of range or not."""
    row0, col0, (min_row, min_col, max_col) = anchor
    dr, dc = row - row0, col - col0
    if min_row + dr <= 0 or min_col + dc < 1 or max_col + dc > _MAX_COL:
        raise Unproven("共享公式平移后引用超出工作表（openpyxl 无法读取）")


_ANCHORS: dict[bytes, tuple[int, int, int] | str] = {}
_FAR = 1 << 30  # no relative row (column) referenced: no translation leaves the sheet


def _anchor_bounds(text: bytes) -> tuple[int, int, int]:
    """The smallest relative row, smallest and largest relative column the anchor's
    references use; raises Unproven if openpyxl's tokenizer refuses it.
    Cached per text as written (bounded): files made from one template share their anchors."""
    got = _ANCHORS.get(text)
    if got is None:
        try:
            got = _bounds("=" + _formula_text(text))
        except Unproven:
            raise
        except Exception as e:  # the tokenizer's failure is openpyxl's load failing
            got = f"共享公式无法被 openpyxl 解析（{type(e).__name__}）"
        if len(_ANCHORS) > 4096:
            _ANCHORS.clear()
        _ANCHORS[text] = got
    if isinstance(got, str):
        raise Unproven(got)
    return got


def _bounds(formula: str) -> tuple[int, int, int]:
    tok = _tokenizer_module()
    rows: list[int] = []
    cols: list[int] = []
    for token in tok.Tokenizer(formula).items:
        if token.type == tok.Token.OPERAND and token.subtype == tok.Token.RANGE:
            _references(token.value, rows, cols)
    return min(rows, default=_FAR), min(cols, default=_FAR), max(cols, default=0)


# openpyxl's Translator's expressions (openpyxl/formula/translate.py), used the same way.
_ROW_RANGE = re.compile(r"(\$?[1-9][0-9]{0,6}):(\$?[1-9][0-9]{0,6})$")
_COL_RANGE = re.compile(r"(\$?[A-Za-z]{1,3}):(\$?[A-Za-z]{1,3})$")
_CELL_REF = re.compile(r"(\$?[A-Za-z]{1,3})(\$?[1-9][0-9]{0,6})$")


def _references(range_str: str, rows: list[int], cols: list[int]) -> None:
    """The relative rows and columns ``Translator.translate_range`` moves, mirrored step by
    step (sheet name split off at the last "!", row range, column range, ":" pieces, cell)."""
    if "!" in range_str:
        range_str = range_str.rsplit("!", 1)[1]
    m = _ROW_RANGE.match(range_str)
    if m is not None:
        rows.extend(int(g) for g in m.groups() if not g.startswith("$"))
        return
    m = _COL_RANGE.match(range_str)
    if m is not None:
        cols.extend(addr.column_index_from_string(g.upper()) for g in m.groups() if not g.startswith("$"))
        return
    if ":" in range_str:
        for piece in range_str.split(":"):
            _references(piece, rows, cols)
        return
    m = _CELL_REF.match(range_str)
    if m is None:
        return  # a name: not moved
    if not m[1].startswith("$"):
        cols.append(addr.column_index_from_string(m[1].upper()))
    if not m[2].startswith("$"):
        rows.append(int(m[2]))


_TOKENIZER: list[ModuleType] = []


def _tokenizer_module() -> Any:
    """openpyxl's own formula tokenizer (openpyxl/formula/tokenizer.py, which imports only
    ``re``), loaded by itself when openpyxl is not imported yet: importing the package costs
    ~0.1 s, which a file the fast reader accepts does not pay."""
    loaded = sys.modules.get("openpyxl.formula.tokenizer")
    if loaded is not None:
        return loaded
    if not _TOKENIZER:
        spec = importlib.util.find_spec("openpyxl")
        if spec is None or spec.origin is None:
            raise Unproven("找不到 openpyxl")
        path = Path(spec.origin).parent / "formula" / "tokenizer.py"
        own = importlib.util.spec_from_file_location("gkreport._openpyxl_formula_tokenizer", path)
        if own is None or own.loader is None:
            raise Unproven("找不到 openpyxl 的公式解析器")
        module = importlib.util.module_from_spec(own)
        own.loader.exec_module(module)
        _TOKENIZER.append(module)
    return _TOKENIZER[0]
