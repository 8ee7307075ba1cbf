"""A data sheet scanned from another file's scan reads exactly what a full scan reads."""

from __future__ import annotations

import random
import re
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.test_make_agencies import mk

from gkreport.readers import ooxml_rescan, ooxml_skeleton
from gkreport.readers.ooxml_common import Unproven
from gkreport.readers.ooxml_sheet import scan_sheet as full_scan

_PARTS: dict[str, bytes] = {}


def _parts(factory: pytest.TempPathFactory) -> dict[str, bytes]:
    if not _PARTS:
        (rec,) = mk.write_agencies(1, factory.mktemp("rescan") / "in", seed=9, error_share=0.0, fast=True)
        with zipfile.ZipFile(str(rec["path"])) as zf:
            for i in range(1, 5):
                _PARTS[f"sheet{i}"] = zf.read(f"xl/worksheets/sheet{i}.xml")
    return _PARTS


def _outcome(scan: object, xml: bytes, wanted: frozenset[str]) -> object:
    try:
        return scan(xml, wanted)  # type: ignore[operator]
    except Unproven as e:
        return ("Unproven", str(e))


VALUES = st.one_of(st.integers(-10**9, 10**9).map(lambda n: str(n).encode()),
                   st.floats(-1e9, 1e9, allow_nan=False).map(lambda x: repr(x).encode()),
                   st.sampled_from([b"", b"0", b"1e5", b"-0.5", b"x", b"&amp;", b"1-", b"--"]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_rescan_equals_a_full_scan(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    parts = _parts(tmp_path_factory)
    name = data.draw(st.sampled_from(sorted(parts)))
    base = parts[name]
    refs = sorted({r.decode() for r in re.findall(rb'<c r="([A-Z]+[0-9]+)"', base)})
    rnd = random.Random(data.draw(st.integers(0, 2**32)))
    wanted = frozenset(rnd.sample(refs, k=max(1, len(refs) * data.draw(st.integers(1, 4)) // 4)))
    slots = [m.span(1) for m in re.finditer(rb"<v>([^<]*)</v>", base)]

    def variant() -> bytes:
        picks = sorted(rnd.sample(range(len(slots)), k=min(len(slots), data.draw(st.integers(0, 12)))))
        out, last = [], 0
        for i in picks:
            a, b = slots[i]
            out += [base[last:a], data.draw(VALUES)]
            last = b
        return b"".join([*out, base[last:]])

    ooxml_skeleton.forget()
    ooxml_rescan.forget()
    for xml in (variant(), variant(), variant()):  # the first primes, the others may reuse it
        xml = bytes(xml)
        assert _outcome(ooxml_rescan.scan_sheet, xml, wanted) == _outcome(full_scan, xml, wanted)


def test_a_rescan_is_used_and_takes_the_new_numbers(tmp_path_factory: pytest.TempPathFactory,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    base = _parts(tmp_path_factory)["sheet3"]
    refs = frozenset(r.decode() for r in re.findall(rb'<c r="([A-Z]+[0-9]+)"[^>]*><v>', base))
    assert refs
    ooxml_skeleton.forget()
    ooxml_rescan.forget()
    first = ooxml_rescan.scan_sheet(base, refs)
    changed = re.sub(rb"<v>[0-9]+</v>", b"<v>4242</v>", base)
    assert changed != base
    monkeypatch.setattr(ooxml_rescan, "full_scan", lambda *a: pytest.fail("scanned in full"))
    again = ooxml_rescan.scan_sheet(changed, refs)
    assert {ref: p[2] for ref, p in again.plain.items() if p[2] is not None} == \
        {ref: "4242" for ref, p in first.plain.items() if p[2] is not None}
    emptied = re.sub(rb"<v>[0-9]+</v>", b"<v></v>", base, count=1)  # an empty <v>: read in full
    monkeypatch.setattr(ooxml_rescan, "full_scan", full_scan)
    assert ooxml_rescan.scan_sheet(emptied, refs) == full_scan(emptied, refs)
