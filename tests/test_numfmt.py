"""What the fast reader copied from openpyxl to read a file without importing it is openpyxl's.

:mod:`gkreport.numfmt` holds openpyxl's date/duration format predicates, its built-in
formats, its sheet-title check and its number conversion; the fast reader's shared strings
and merged ranges are read without openpyxl for the plain shapes. Each is compared here
with the installed openpyxl: the same tables and patterns, the same answers on generated
input; a newer openpyxl that changed any of them fails these tests (issue #16).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.cell.text import Text
from openpyxl.styles import numbers as op_numbers
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.child import INVALID_TITLE_REGEX
from openpyxl.worksheet._reader import _cast_number  # type: ignore[attr-defined]

from gkreport.readers import numfmt
from gkreport.readers.ooxml_common import MAIN_NS, Unproven
from gkreport.readers.ooxml_sheet import _covered
from gkreport.readers.workbook import _SharedStrings


def test_tables_and_patterns_are_openpyxls() -> None:
    assert numfmt.BUILTIN_FORMATS == op_numbers.BUILTIN_FORMATS
    assert numfmt.STRIP_RE.pattern == op_numbers.STRIP_RE.pattern
    assert numfmt.TIMEDELTA_RE.pattern == op_numbers.TIMEDELTA_RE.pattern
    assert numfmt.TIMEDELTA_RE.flags == op_numbers.TIMEDELTA_RE.flags
    assert numfmt.INVALID_TITLE_REGEX.pattern == INVALID_TITLE_REGEX.pattern
    for i in range(-1, 200):
        assert numfmt.builtin_format_code(i) == op_numbers.builtin_format_code(i), i


FORMAT_PIECES = ["0", "#", ",", ".", "%", "E+", "@", ";", "_", "\\", '"', "[", "]", "h", "hh", "m", "mm", "s", "ss",
                 "d", "y", "yyyy", "AM/PM", "Red", "$-804", "DBNum1", "-", "/", ":", " ", "元", "年", "月", "日", "*", "?"]


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.sampled_from(FORMAT_PIECES), max_size=12))
def test_date_and_duration_formats_are_judged_as_openpyxl_judges_them(pieces: list[str]) -> None:
    fmt = "".join(pieces)
    assert numfmt.is_date_format(fmt) == op_numbers.is_date_format(fmt), fmt
    assert numfmt.is_timedelta_format(fmt) == op_numbers.is_timedelta_format(fmt), fmt


def test_every_builtin_format_and_none_is_judged_alike() -> None:
    for fmt in [None, *op_numbers.BUILTIN_FORMATS.values(), "[hh]:mm:ss", 'yyyy"年"m"月"d"日"', "[$-804]General"]:
        assert numfmt.is_date_format(fmt) == op_numbers.is_date_format(fmt), fmt
        assert numfmt.is_timedelta_format(fmt) == op_numbers.is_timedelta_format(fmt), fmt


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.integers(-10**20, 10**20).map(str), st.floats(allow_nan=False).map(repr),
                      st.text(alphabet="0123456789.eE+-", min_size=1, max_size=8)))
def test_numbers_are_converted_as_openpyxl_converts_them(text: str) -> None:
    try:
        want: object = _cast_number(text)
    except ValueError:
        with pytest.raises(ValueError):
            numfmt.cast_number(text)
        return
    got = numfmt.cast_number(text)
    assert type(got) is type(want) and (got == want or (got != got and want != want)), text


def _strings_part(items: list[bytes]) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="%s" count="%d">' % (MAIN_NS.encode(), len(items))
            + b"".join(items) + b"</sst>")


def _openpyxl_string(si: bytes) -> str:
    """openpyxl's ``read_string_table`` for one item."""
    from lxml import etree

    node = etree.fromstring(_strings_part([si]))[0]
    return str(Text.from_tree(node).content).replace("x005F_", "")


def _escape(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;").encode()


XML_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
                   .filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20), max_size=12)


@settings(max_examples=300, deadline=None)
@given(text=XML_TEXT, space=st.booleans(), shape=st.sampled_from(["plain", "empty", "rich", "phonetic", "comment"]))
def test_shared_strings_are_read_as_openpyxl_reads_them(text: str, space: bool, shape: str) -> None:
    attr = b' xml:space="preserve"' if space else b""
    si = {
        "plain": b"<si><t%s>%s</t></si>" % (attr, _escape(text)),
        "empty": b"<si><t%s/></si>" % attr,
        "rich": b"<si><r><t%s>%s</t></r><r><rPr><b/></rPr><t>x005F_2</t></r></si>" % (attr, _escape(text)),
        "phonetic": b"<si><t>%s</t><rPh sb=\"0\" eb=\"1\"><t>yin</t></rPh></si>" % _escape(text),
        "comment": b"<si><t>%s<!-- c --></t></si>" % _escape(text),
    }[shape]
    strings = _SharedStrings(_strings_part([b"<si><t>first</t></si>", si]))
    assert strings[1] == _openpyxl_string(si)
    assert strings[0] == "first"


@settings(max_examples=300, deadline=None)
@given(c1=st.integers(1, 30), r1=st.integers(1, 40), w=st.integers(0, 3), h=st.integers(0, 3), single=st.booleans())
def test_canonical_merged_ranges_cover_what_openpyxl_empties(c1: int, r1: int, w: int, h: int, single: bool) -> None:
    from gkreport.core import addresses as addr

    rng = addr.make_ref(c1, r1) if single else addr.make_range(c1, r1, c1 + w, r1 + h)
    wanted = frozenset(addr.make_ref(c, r) for c in range(1, 36) for r in range(1, 46))
    lo_c, lo_r, hi_c, hi_r = range_boundaries(rng)
    want = {addr.make_ref(c, r) for c in range(lo_c, hi_c + 1) for r in range(lo_r, hi_r + 1)} - {addr.make_ref(lo_c, lo_r)}
    assert _covered((rng,), wanted) == want


@pytest.mark.parametrize("rng", ["$B$2:C3", "b2:c3", "C3:B2", "B:C", "2:3", "B02:C3", "B2:", "", "A1:B2 C3:D4"])
def test_other_spellings_of_a_merged_range_are_left_to_openpyxl(rng: str) -> None:
    with pytest.raises(Unproven):
        _covered((rng,), frozenset({"B2", "C3"}))
