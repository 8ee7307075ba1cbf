"""Well-formedness of a sheet part proven from another file's, when only cached numbers differ.

Files filled in from one template have data sheets that differ only in the numbers
inside ``<v>…</v>``. expat proving each one well-formed (as openpyxl's parser would
demand) was a fifth of the fast reader's time. So, for a part whose every ``<v>`` holds a
plain number, its *skeleton* (every ``<v>…</v>`` emptied to ``<v></v>``) is looked up among
the skeletons of parts expat has accepted, each of whose ``<v>`` also held a plain number.

Why a hit proves the part well-formed: the part is the accepted part with some plain
numbers replaced by other plain numbers at the same places. Those places are exactly the
occurrences of ``<v></v>`` in the skeleton (an occurrence not made by the replacement would
have been replaced itself, and ``<v></v>`` cannot overlap a copy of itself). Wherever a plain
number stood in a well-formed document — between tags, inside a comment, a CDATA section
or a processing instruction (never in an attribute value, which cannot hold ``<``) — any
other plain number may stand: it holds no ``<``, ``&``, ``--``, ``]]>`` or ``?>``, cannot end
a comment with ``-``, and cannot change where the accepted part's comments, sections and
tags begin or end, because the accepted part held plain numbers there too. Anything else
(a value that is not a plain number, a skeleton never accepted) is parsed by expat.
"""

from __future__ import annotations

import re
from collections import OrderedDict

V_ELEMENT = re.compile(rb"<v>([^<]*)</v>")  # a cached value; group 1 its text (no markup inside)
# A plain number as spreadsheets write one, or nothing: no markup character, no "--", no trailing "-".
_NOT_PLAIN = re.compile(rb"<v>(?!(?:-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)?</v>)[^<]*</v>")
_ACCEPTED: OrderedDict[bytes, None] = OrderedDict()  # skeletons of parts expat accepted
_KEEP = 16
_MAX_PART = 4 * 1024 * 1024


def skeleton(data: bytes) -> bytes | None:
    """The part with every ``<v>`` emptied, or None when one of them is not a plain number
    (or the part holds no ``<v>`` or is huge: nothing to gain)."""
    if len(data) > _MAX_PART or b"<v>" not in data or _NOT_PLAIN.search(data) is not None:
        return None
    return emptied(data)


def emptied(data: bytes) -> bytes:
    """The part with every ``<v>`` emptied, whatever the values (the formula check's key too)."""
    return V_ELEMENT.sub(b"<v></v>", data)


def skeleton_of(data: bytes) -> bytes | None:
    """:func:`skeleton`, remembered for the very same bytes object: a part is proven
    well-formed, then scanned (:mod:`gkreport.readers.ooxml_rescan`)."""
    hit = _SHAPES.get(id(data))
    if hit is not None and hit[0] is data:
        return hit[1]
    shape = skeleton(data)
    _SHAPES[id(data)] = (data, shape)
    while len(_SHAPES) > _KEEP:
        _SHAPES.popitem(last=False)
    return shape


_SHAPES: OrderedDict[int, tuple[bytes, bytes | None]] = OrderedDict()


def known_well_formed(shape: bytes | None) -> bool:
    """Whether a part of this skeleton was accepted by expat (then this part is well-formed)."""
    if shape is None or shape not in _ACCEPTED:
        return False
    _ACCEPTED.move_to_end(shape)
    return True


def accepted(shape: bytes | None) -> None:
    """Remember that expat accepted a part of this skeleton (its values all plain numbers)."""
    if shape is None:
        return
    _ACCEPTED[shape] = None
    _ACCEPTED.move_to_end(shape)
    while len(_ACCEPTED) > _KEEP:
        _ACCEPTED.popitem(last=False)


def forget() -> None:
    """Drop every remembered skeleton (tests)."""
    _ACCEPTED.clear()
    _SHAPES.clear()
