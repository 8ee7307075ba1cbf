"""A part is taken as well-formed from another file's only when expat would accept it too."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.test_make_agencies import mk

from gkreport.readers import ooxml, ooxml_skeleton
from gkreport.readers.ooxml_common import Unproven


def _expat_accepts(data: bytes) -> bool:
    try:
        ooxml._parse(data)
    except Unproven:
        return False
    return True


def _ours_accepts(data: bytes) -> bool:
    try:
        ooxml._well_formed(bytes(data))  # a new object: the per-object memory never answers
    except Unproven:
        return False
    return True


@pytest.fixture(autouse=True)
def fresh() -> None:
    ooxml_skeleton.forget()
    ooxml._WELL_FORMED.clear()


def test_a_value_that_moved_a_comment_end_never_vouches_for_a_plain_one() -> None:
    """Accepted: the comment ends inside the <v> ("-->"). The same skeleton with a plain number
    leaves the comment open: not well-formed, and refused."""
    accepted = b"<r><v><!--<v>--></v></r>"
    assert _expat_accepts(accepted) and _ours_accepts(accepted)
    unclosed = b"<r><v><!--<v>1</v></r>"
    assert ooxml_skeleton.skeleton(unclosed) == ooxml_skeleton.skeleton(accepted.replace(b"-->", b"2"))
    assert not _expat_accepts(unclosed)
    assert not _ours_accepts(unclosed)


def test_other_numbers_in_the_same_places_are_known_well_formed() -> None:
    first = b"<r><c><v>1</v></c><!-- <v>2</v> --><c><v>-3.5E+2</v></c><c><v></v></c></r>"
    assert _ours_accepts(first)
    again = first.replace(b"<v>1<", b"<v>123<").replace(b"<v>2<", b"<v>-7<")
    calls: list[bytes] = []
    real = ooxml._parse
    try:
        ooxml._parse = lambda data: calls.append(data)  # type: ignore[assignment,misc]
        assert _ours_accepts(again)
    finally:
        ooxml._parse = real  # type: ignore[misc]
    assert calls == []  # proven by the skeleton, not parsed again
    for bad in (b"<v>--</v>", b"<v>1-</v>", b"<v>&#0;</v>", b"<v>]]></v>"):
        assert not _ours_accepts(first.replace(b"<v>2</v>", bad)) or _expat_accepts(first.replace(b"<v>2</v>", bad))


def _sheet(tmp_path: Path) -> bytes:
    (rec,) = mk.write_agencies(1, tmp_path / "in", seed=3, error_share=0.0, fast=True)
    with zipfile.ZipFile(str(rec["path"])) as zf:
        return zf.read("xl/worksheets/sheet3.xml")


VALUES = st.one_of(st.integers(-10**12, 10**12).map(lambda n: str(n).encode()),
                   st.floats(allow_nan=False, allow_infinity=False).map(lambda x: repr(x).encode()),
                   st.sampled_from([b"", b"--", b"-", b"1-", b"-->", b"]]>", b"?>", b"&amp;", b"&bogus;",
                                    b"\x01", b"\xff", b"1 ", b"1e", b"<!--", b"\xe4\xb8\xad"]))
WRAPS = st.sampled_from([(b"", b""), (b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?pi ", b"?>")])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_skeleton_verdict_is_expats_verdict(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    """Start from a real data sheet (accepted), change cached values and wrap cells in comments,
    CDATA sections or processing instructions, and prime the memory with a variant: whatever
    comes out, the fast reader's verdict is expat's."""
    base = _sheet_cache(tmp_path_factory)
    cells = [m.span() for m in ooxml_skeleton.V_ELEMENT.finditer(base)]
    rnd = random.Random(data.draw(st.integers(0, 2**32)))
    picks = sorted(rnd.sample(range(len(cells)), k=min(len(cells), data.draw(st.integers(1, 6)))))

    def variant(values: list[bytes], wrap: tuple[bytes, bytes]) -> bytes:
        out, last = [], 0
        for i, v in zip(picks, values, strict=True):
            a, b = cells[i]
            out += [base[last:a], wrap[0], b"<v>" + v + b"</v>", wrap[1]]
            last = b
        return b"".join([*out, base[last:]])

    wrap = data.draw(WRAPS)
    primer = variant([data.draw(VALUES) for _ in picks], wrap)
    _ours_accepts(primer)
    probe = variant([data.draw(VALUES) for _ in picks], wrap)
    assert _ours_accepts(probe) == _expat_accepts(probe)


_BASE: list[bytes] = []


def _sheet_cache(factory: pytest.TempPathFactory) -> bytes:
    if not _BASE:
        _BASE.append(_sheet(factory.mktemp("sk")))
    return _BASE[0]
