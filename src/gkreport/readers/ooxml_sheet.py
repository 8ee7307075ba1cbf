"""The cells a reader reads from one worksheet part, found without a full parse.

Regular expressions are used only on a part expat has found well-formed and written
in the one shape they are made for (see :func:`scan_sheet`); anything else raises
:class:`Unproven`. Re-exported by :mod:`gkreport.readers.ooxml`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from gkreport.core import addresses as addr

from .ooxml_common import MAIN_NS, Unproven, unescape


class CellXml(NamedTuple):
    """One cell element as written, for the cells a reader reads."""

    ref: str
    xml: bytes | None  # the whole <c>…</c> element (None: see ``attrs``)
    t: str
    s: int
    v: str | None  # the text of <v> (unescaped), None without <v>
    formula: bool
    inline: bool  # has an <is> child
    attrs: bytes = b""  # when ``xml`` is None: the cell was <c r=".." attrs/> or <c ..><v>v</v></c>

    def element(self) -> bytes:
        """The cell element (rebuilt for the plain cells the scan did not keep it for)."""
        if self.xml is not None:
            return self.xml
        content = b"" if self.v is None else b"<v>" + _escape(self.v).encode("utf-8") + b"</v>"
        return _cell_xml(b"", self.attrs, self.ref.encode("ascii"), b"", content)


@dataclass(frozen=True)
class SheetScan:
    cells: Mapping[str, CellXml]  # the wanted cells present in the part, but for ``plain`` ones
    covered: frozenset[str]  # wanted cells inside a merged range, not its top-left (openpyxl: empty)
    prefix: bytes  # the SpreadsheetML prefix used in the part (b"" or b"x:")
    max_style: int
    # <c r=".." ../> or <c r=".." ..><v>text</v></c>, nearly every cell: ref -> (t, s, text
    # of <v> or None, the attributes); kept as a tuple, a CellXml is made only on demand
    plain: Mapping[str, tuple[str, int, str | None, bytes]] = field(default_factory=dict)

    def get(self, ref: str) -> CellXml | None:
        if ref in self.plain:
            t, style, v, attrs = self.plain[ref]
            return CellXml(ref, None, t, style, v, False, False, attrs)
        return self.cells.get(ref)


_MARKUP_DECL = re.compile(rb"<[!?]")  # a comment, CDATA, DOCTYPE or processing instruction
_DECL = re.compile(rb"(?:\xef\xbb\xbf)?(?:<\?xml\s([^>]*)\?>|\s*<)")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_ROOT = re.compile(rb"<(?:(\w+):)?worksheet[\s>]")
_NS_DECL = re.compile(rb"""xmlns(?::(\w+))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")


_VAL = rb"""(?:"[^"]*"|'[^']*')"""
_ATTRS = rb"(?:\s+[^\s=/>]+\s*=\s*" + _VAL + rb")*"
_CANON = rb"[A-Z]{1,3}[1-9][0-9]{0,6}"


@lru_cache(maxsize=8)
def _patterns(prefix: bytes) -> tuple[re.Pattern[bytes], ...]:
    p = re.escape(prefix)
    any_cell = re.compile(rb"<" + p + rb"c[\s/>]")
    # Every cell: its attributes before and after a canonical address, and its content.
    # Attribute-aware (a ">" inside a quoted value does not end the tag); cells do not
    # nest, so the first end tag after a start tag is its own. A cell this misses (no
    # address, an odd one) makes the counts differ and the sheet unproven.
    cell = re.compile(rb"<" + p + rb"c(" + _ATTRS.replace(b")*", b")*?") + rb")\s+r\s*=\s*(?:\"(" + _CANON
                      + rb")\"|'(" + _CANON + rb")')(" + _ATTRS + rb")\s*(?:/>|>(.*?)</" + p + rb"c>)", re.S)
    # every row and column start tag ("<row[\s/>]", "<col[\s/>]"), in one pass: one in the expected
    # shape with its attributes and end (">", "/>"), any other with the end b"" (an odd row is unproven)
    rows_cols = re.compile(rb"<" + p + rb"(row|col)(?:(" + _ATTRS + rb")\s*(/?>)|[\s/>])")
    formula = re.compile(rb"<" + p + rb"f[\s/>]")
    value = re.compile(rb"<" + p + rb"v(?:\s[^>]*)?(?:/>|>([^<]*)</" + p + rb"v>)")
    inline = re.compile(rb"<" + p + rb"is[\s/>]")
    any_merge = re.compile(rb"<" + p + rb"mergeCell[\s/>]")
    merge = re.compile(rb"<" + p + rb"mergeCell\s+ref\s*=\s*(?:\"([^\"]*)\"|'([^']*)')\s*/>")
    return any_cell, cell, formula, value, inline, any_merge, merge, rows_cols


_R_ATTR = re.compile(rb"""\sr\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_T_ATTR = re.compile(rb"""\st\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_S_ATTR = re.compile(rb"""\ss\s*=\s*(?:"([^"]*)"|'([^']*)')""")


@lru_cache(maxsize=32)
def _as_bytes(wanted: frozenset[str]) -> frozenset[bytes]:
    return frozenset(r.encode("ascii") for r in wanted)


_FAST_OR_ANY_CELL = re.compile(rb'<c(?: r="(' + _CANON + rb')"((?: [a-z]+="[^"<>]*")*)(?:(/)>|><v>([^<]*)</v></c>|>)'
                               rb'|[\s/>])')
_STYLE_ATTR = re.compile(rb"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def scan_sheet(xml: bytes, wanted: frozenset[str]) -> SheetScan:
    """The elements of the ``wanted`` cells of a sheet part expat found well-formed.

    Requires the shape the expressions rely on: UTF-8, SpreadsheetML (Transitional) bound
    to one prefix at the root and nowhere else, no comments/CDATA/processing instructions
    after the declaration, every cell with a canonical address. Raises :class:`Unproven`.
    """
    decl = _DECL.match(xml)
    enc = _ENCODING.search(decl.group(1)) if decl is not None and decl.group(1) else None
    if decl is None or (enc.group(1) if enc else b"utf-8").lower() not in (b"utf-8", b"utf8"):
        raise Unproven("工作表部件不是 UTF-8 编码")  # the expressions below read UTF-8 bytes
    root = _ROOT.search(xml, 0, 4096)
    if root is None:
        raise Unproven("工作表部件的根元素不是 worksheet")
    prefix = root.group(1) + b":" if root.group(1) else b""
    _check_namespaces(xml, root, prefix)
    start = root.start()
    if _MARKUP_DECL.search(xml, start) is not None:  # one pass for "<!" and "<?"
        raise Unproven("工作表含有注释、CDATA 或处理指令")
    any_cell, cell_re, formula_re, value_re, inline_re, any_merge, merge_re, rows_cols = _patterns(prefix)
    want = _as_bytes(wanted)
    cells: dict[str, CellXml] = {}
    plain: dict[str, tuple[str, int, str | None, bytes]] = {}
    # Every cell (any_cell's match), in the common shape or not (then its address is b""):
    # one pass both finds the cells and shows that no cell is in another shape.
    fast = _FAST_OR_ANY_CELL.findall(xml) if not prefix else []
    if fast and all(map(itemgetter(0), fast)):
        # The shape every common writer uses (<c r="D7" s="3" t="n"><v>5</v></c>): one
        # linear pass; only wanted cells with other content are looked at in full.
        attr_sets = set(map(itemgetter(1), fast))
        for ref_b, attrs, slash, v in fast:
            if ref_b not in want:
                continue
            ref = ref_b.decode("ascii")
            if ref in cells or ref in plain:
                raise Unproven(f"单元格 {ref} 重复出现")
            if slash or v:
                t, style = _t_and_s(attrs)
                text = None if slash else v.decode("utf-8") if b"&" not in v else unescape(v.decode("utf-8"))
                plain[ref] = (t, int(style) if style else 0, text, attrs)
            else:
                m = cell_re.match(xml, xml.find(b'<c r="' + ref_b + b'"'))
                if m is None:
                    raise Unproven(f"单元格 {ref} 的标记无法识别")
                cells[ref] = _cell(m, prefix, value_re, formula_re, inline_re)
    else:
        found = cell_re.findall(xml)
        if len(found) != len(any_cell.findall(xml)):
            raise Unproven("有单元格缺少地址、地址不规范或标记无法识别")
        attr_sets = {pre + b" " + post for pre, _, _, post, _ in found}
        for pre, r1, r2, post, content in found:
            raw_ref = r1 or r2
            if raw_ref not in want:
                continue
            ref = raw_ref.decode("ascii")
            if ref in cells:
                raise Unproven(f"单元格 {ref} 重复出现")
            cells[ref] = _cell_from(ref, raw_ref, pre, post, content, prefix, value_re, formula_re, inline_re)
    max_style = _max_style(xml, attr_sets, rows_cols)
    first = xml.find(b"<" + prefix + b"mergeCell")  # a fast search: merges come after the cells
    merges = merge_re.findall(xml, first) if first >= 0 else []
    if first >= 0 and len(merges) != len(any_merge.findall(xml, first)):
        raise Unproven("合并区域的标记无法识别")
    ranges = tuple(unescape((a or b).decode("utf-8")) for a, b in merges)
    return SheetScan(cells, _covered(ranges, wanted) if ranges else frozenset(), prefix, max_style, plain)


def _cell(m: re.Match[bytes], prefix: bytes, value_re: re.Pattern[bytes], formula_re: re.Pattern[bytes],
          inline_re: re.Pattern[bytes]) -> CellXml:
    pre, r1, r2, post, content = m.groups()
    raw_ref = r1 or r2
    return _cell_from(raw_ref.decode("ascii"), raw_ref, pre, post, content or b"", prefix, value_re, formula_re,
                      inline_re)


def _cell_from(ref: str, raw_ref: bytes, pre: bytes, post: bytes, content: bytes, prefix: bytes,
               value_re: re.Pattern[bytes], formula_re: re.Pattern[bytes], inline_re: re.Pattern[bytes]) -> CellXml:
    t, style = _t_and_s(pre + b" " + post)
    v = value_re.search(content)
    return CellXml(ref=ref, xml=_cell_xml(prefix, pre, raw_ref, post, content), t=t, s=int(style or b"0"),
                   v=None if v is None else unescape((v.group(1) or b"").decode("utf-8")),
                   formula=formula_re.search(content) is not None, inline=inline_re.search(content) is not None)


@lru_cache(maxsize=512)
def _t_and_s(attrs: bytes) -> tuple[str, bytes]:
    """A cell's type (``t``, default "n") and style index (``s``) from its attributes."""
    t = _T_ATTR.search(attrs)
    st = _S_ATTR.search(attrs)
    style = (st.group(1) if st.group(1) is not None else st.group(2)) if st else b""
    if style and not style.isdigit():
        raise Unproven("有单元格的样式编号无效")
    return ("n" if t is None else unescape((t.group(1) if t.group(1) is not None else t.group(2)).decode("utf-8")),
            style)


_ANY_R = re.compile(rb"""\sr\s*=\s*["']([^"']*)["']""")
_ANY_S = re.compile(rb"""\ss\s*=\s*["']([^"']*)["']""")


def _max_style(xml: bytes, cell_attrs: set[bytes], rows_cols: re.Pattern[bytes]) -> int:
    """The largest style index a cell, row or column of the part uses: openpyxl fails on
    one that is not a number or lies beyond the stylesheet (and on a row number that is
    not a number), so the caller compares it."""
    styles = [_t_and_s(a)[1] for a in cell_attrs]
    found = rows_cols.findall(xml)  # (name, attributes, end) of every row and column
    if any(name == b"row" and not end for name, _, end in found):
        raise Unproven("行的标记无法识别")
    rows = [attrs for name, attrs, _ in found if name == b"row"]
    joined = b"\x00".join(rows)  # the attributes of every row, searched in one pass each
    numbers = _ANY_R.findall(joined)
    if numbers and not b"".join(numbers).isdigit():
        raise Unproven("行号无效")
    styles += _ANY_S.findall(joined)
    for attrs in {attrs for name, attrs, end in found if name == b"col" and end}:
        m = _STYLE_ATTR.search(attrs)
        if m is not None:
            styles.append(m.group(1) if m.group(1) is not None else m.group(2))
    styles = [x for x in styles if x]
    if styles and not all(x.isdigit() for x in styles):
        raise Unproven("样式编号无效")
    return max(map(int, set(styles)), default=0)


def _cell_xml(prefix: bytes, pre: bytes, ref: bytes, post: bytes, content: bytes) -> bytes:
    """The cell element again (for openpyxl's own parser), with its address double-quoted."""
    return b'<%sc%s r="%s"%s>%s</%sc>' % (prefix, pre, ref, post, content, prefix)


def _check_namespaces(xml: bytes, root: re.Match[bytes], prefix: bytes) -> None:
    """SpreadsheetML must be bound once, at the root, to the root's prefix, and that prefix
    (or the default namespace) bound nowhere else: then every element written with the
    prefix is SpreadsheetML and every SpreadsheetML element is written with it.

    A part proven is remembered by identity (the formula check and the sheet scan both ask)."""
    key = (id(xml), root.start(), prefix)
    if any(k == key and x is xml for k, x in _NS_PROVEN):
        return
    decls = []
    i = xml.find(b"xmlns")
    while i != -1:
        m = _NS_DECL.match(xml, i)
        if m is not None:
            decls.append((m.group(1) or b"", _attr_value(m)))
        i = xml.find(b"xmlns", i + 5)
    main = [d for d in decls if d[1] == MAIN_NS.encode()]
    same_prefix = [d for d in decls if d[0] == prefix.rstrip(b":")]
    if len(main) != 1 or main[0][0] != prefix.rstrip(b":") or len(same_prefix) != 1 \
            or not _declared_at_root(xml, root):
        raise Unproven("工作表的 SpreadsheetML 命名空间不是过渡格式，或声明方式不常见")
    _NS_PROVEN.append((key, xml))
    del _NS_PROVEN[:-8]


_NS_PROVEN: list[tuple[tuple[int, int, bytes], bytes]] = []  # the parts last proven, and where their root is


def _attr_value(m: re.Match[bytes]) -> bytes:
    return m.group(2) if m.group(2) is not None else m.group(3)


def _declared_at_root(xml: bytes, root: re.Match[bytes]) -> bool:
    end = xml.find(b">", root.end() - 1)
    return MAIN_NS.encode() in xml[root.start():end]


@lru_cache(maxsize=256)
def _covered(ranges: tuple[str, ...], wanted: frozenset[str]) -> frozenset[str]:
    """Wanted cells inside a merged range other than its top-left cell (cached: files made
    from one template share their merges). Only a range written canonically (``B7:D9``,
    first corner top-left), as every common writer writes it, is read here: openpyxl's
    ``range_boundaries`` gives the same corners for it; any other spelling is unproven."""
    where = {addr.split_ref(ref): ref for ref in wanted}
    out = set()
    for rng in ranges:
        m = _MERGE_RANGE.match(rng)
        if m is None:
            raise Unproven(f"合并区域“{rng}”的写法不常见")
        c1, r1 = addr.column_index_from_string(m[1]), int(m[2])
        c2, r2 = (addr.column_index_from_string(m[3]), int(m[4])) if m[3] else (c1, r1)
        if c1 > c2 or r1 > r2:
            raise Unproven(f"合并区域“{rng}”无效")
        for (col, row), ref in where.items():
            if r1 <= row <= r2 and c1 <= col <= c2 and (row, col) != (r1, c1):
                out.add(ref)
    return frozenset(out)


_MERGE_RANGE = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})(?::([A-Z]{1,3})([1-9][0-9]{0,6}))?\Z")


def _escape(text: str) -> str:
    """``xml.sax.saxutils.escape`` (whose module imports urllib.request, ~10 ms at start)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
