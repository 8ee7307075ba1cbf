"""A sheet part scanned again from another file's scan, when only its cached numbers differ.

After the well-formedness proof (:mod:`gkreport.readers.ooxml_skeleton`), scanning each of
a file's four data sheets for its cells was the fast reader's largest cost. Two parts with
the same *skeleton* (every ``<v>…</v>`` emptied, every value a plain number or nothing) are
the same bytes but for those numbers: the same cells with the same attributes, rows,
columns, merges, prefix and declarations, so everything :func:`scan_sheet` finds is the same
except the text of each cell's ``<v>``. A scan is therefore remembered with, for each wanted
cell that has a value, the place of its ``<v>`` among all of the part's; a part of the same
skeleton (and the same wanted cells) takes that scan with its own numbers in those places.
Only scans whose wanted cells are all in the common shape (``plain``) are remembered, and a
part where one of those cells has an empty ``<v>`` (which the full scan reads another way)
is scanned in full.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

from . import ooxml_skeleton
from .ooxml_sheet import _FAST_OR_ANY_CELL, SheetScan
from .ooxml_sheet import scan_sheet as full_scan

_KEEP = 16


@dataclass(frozen=True)
class _Known:
    scan: SheetScan
    slots: tuple[tuple[str, int], ...]  # a wanted cell with a value -> the index of its <v> in the part
    values: int  # how many <v> the part has


_KNOWN: OrderedDict[tuple[bytes, frozenset[str]], _Known] = OrderedDict()


def scan_sheet(xml: bytes, wanted: frozenset[str]) -> SheetScan:
    """:func:`gkreport.readers.ooxml_sheet.scan_sheet`, from a remembered scan when it can be."""
    shape = ooxml_skeleton.skeleton_of(xml)
    if shape is not None:
        known = _KNOWN.get((shape, wanted))
        if known is not None:
            values = ooxml_skeleton.V_ELEMENT.findall(xml)
            if len(values) == known.values and all(values[i] for _, i in known.slots):
                _KNOWN.move_to_end((shape, wanted))
                plain = dict(known.scan.plain)
                for ref, i in known.slots:
                    t, style, _, attrs = plain[ref]
                    plain[ref] = (t, style, values[i].decode("ascii"), attrs)
                return replace(known.scan, plain=plain)
    scan = full_scan(xml, wanted)
    if shape is not None and not scan.cells and not scan.prefix:
        _remember(shape, wanted, scan, xml)
    return scan


def _remember(shape: bytes, wanted: frozenset[str], scan: SheetScan, xml: bytes) -> None:
    index = {m.start(): k for k, m in enumerate(ooxml_skeleton.V_ELEMENT.finditer(xml))}
    slots = []
    for m in _FAST_OR_ANY_CELL.finditer(xml):
        ref_b, v = m.group(1), m.group(4)
        if not ref_b or v is None:
            continue
        ref = ref_b.decode("ascii")
        if ref in scan.plain and scan.plain[ref][2] is not None:
            k = index.get(m.start(4) - 3)
            if k is None:
                return
            slots.append((ref, k))
    if len(slots) != sum(1 for p in scan.plain.values() if p[2] is not None):
        return  # a value this does not place: the part is always scanned in full
    _KNOWN[(shape, wanted)] = _Known(scan, tuple(slots), len(index))
    while len(_KNOWN) > _KEEP:
        _KNOWN.popitem(last=False)


def forget() -> None:
    """Drop every remembered scan (tests)."""
    _KNOWN.clear()
