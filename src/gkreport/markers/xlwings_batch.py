"""The add-in's batched marker: per-cell reads and writes run inside Excel's helper macros.

Split from :mod:`gkreport.markers.xlwings_marker` (which re-exports every public name):
the cell-look record format the macros speak (:class:`Look`) and :class:`BatchMarker`,
which a click uses whenever the add-in is loaded (a few cross-process calls in all).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gkreport.markers.marking import RESULTS_SHEET, STATE_SHEET, decode_snapshot, encode_snapshot
from gkreport.markers.xlwings_common import (
    THICK_COLOR,
    WIDTHS,
    XL_SHEET_VERY_HIDDEN,
    XL_SHEET_VISIBLE,
    ProtectedSheetError,
    _text_value,
    is_remote,
    read_state_sheet,
)

if TYPE_CHECKING:  # pragma: no cover
    import xlwings as xw

FS, RS = "\x1f", "\x1e"  # field / record separators of the add-in's helper macros
XL_NONE = -4142
XL_EDGES = ("edge_left", "edge_top", "edge_bottom", "edge_right")  # xlEdgeLeft=7, Top=8, Bottom=9, Right=10
LINE_STYLES = {1: "continuous", -4115: "dash", 4: "dash_dot", 5: "dash_dot_dot", -4118: "dot",
               -4119: "double", 13: "slant_dash_dot", XL_NONE: "none"}
WEIGHTS = {1: "hairline", 2: "thin", -4138: "medium", 4: "thick"}
_STYLE_CODES = {v: k for k, v in LINE_STYLES.items()}
_WEIGHT_CODES = {v: k for k, v in WEIGHTS.items()}
MASK_FILL, MASK_BORDERS, MASK_NOTE = 1, 2, 4


def _bgr_to_hex(value: int) -> str:
    """Excel's colour Long (0x00BBGGRR) -> ``RRGGBB``."""
    return f"{value & 0xFF:02X}{(value >> 8) & 0xFF:02X}{(value >> 16) & 0xFF:02X}"


def _hex_to_bgr(rgb: str) -> int:
    r, g, b = int(rgb[0:2], 16), int(rgb[2:4], 16), int(rgb[4:6], 16)
    return r | (g << 8) | (b << 16)


def _clean(text: str) -> str:
    """Text sent to the macros must not contain their separators."""
    return text.replace(FS, " ").replace(RS, " ")


@dataclass
class Look:
    """A cell's fill, outline and note as the add-in's macros read and write them."""

    fill: int = -1  # BGR Long, -1 = no fill
    edges: list[tuple[int, int, int]] | None = None  # (style, weight, colour) left/top/bottom/right
    note: str | None = None

    @classmethod
    def parse(cls, record: str) -> Look:
        f = record.split(FS)
        f += [""] * (15 - len(f))
        edges = []
        for e in range(4):
            try:
                edges.append((int(float(f[1 + 3 * e])), int(float(f[2 + 3 * e])), int(float(f[3 + 3 * e]))))
            except ValueError:  # a mixed (Null) border: treat as none
                edges.append((XL_NONE, 2, 0))
        try:
            fill = int(float(f[0]))
        except ValueError:
            fill = -1
        return cls(fill=fill, edges=edges, note=f[14] if f[13] == "1" else None)

    def record(self, ref: str, mask: int) -> str:
        edges = self.edges or [(XL_NONE, 2, 0)] * 4
        fields = [ref, str(mask), str(self.fill)]
        for style, weight, color in edges:
            fields += [str(style), str(weight), str(color)]
        fields += ["1" if self.note is not None else "0", _clean(self.note or "")]
        return FS.join(fields)

    def snapshot(self) -> str:
        """The same snapshot format as :meth:`XlwingsMarker.snapshot` (names, hex colours)."""
        border = None
        if self.edges is not None:
            border = {side: [LINE_STYLES.get(style, str(style)), WEIGHTS.get(weight, str(weight)),
                             _bgr_to_hex(color)]
                      for side, (style, weight, color) in zip(XL_EDGES, self.edges, strict=True)}
        return encode_snapshot({"fill": None if self.fill < 0 else _bgr_to_hex(self.fill), "border": border,
                                "note": None if self.note is None else [self.note]})

    @classmethod
    def from_snapshot(cls, snap: str) -> tuple[Look, int]:
        """A snapshot (from any engine) back to a look, and what of it to write."""
        data = decode_snapshot(snap)
        fill = data.get("fill")
        look = cls(fill=_hex_to_bgr(fill) if isinstance(fill, str) and len(fill) == 6 else -1)
        border = data.get("border")
        if isinstance(border, dict):
            look.edges = []
            for side in XL_EDGES:
                style, weight, color = [*(border.get(side) or []), None, None, None][:3]
                look.edges.append((_STYLE_CODES.get(str(style), XL_NONE) if style else XL_NONE,
                                   _WEIGHT_CODES.get(str(weight), 2),
                                   _hex_to_bgr(str(color)) if isinstance(color, str) and len(color) == 6 else 0))
        elif data.get("border_default"):
            look.edges = [(1, _WEIGHT_CODES.get(str(data["border_default"]), 2), 0)] * 4
        else:
            look.edges = [(XL_NONE, 2, 0)] * 4
        note = data.get("note")
        look.note = note[0] if isinstance(note, list) and note and isinstance(note[0], str) and note[0] else None
        mask = MASK_FILL | MASK_BORDERS | (0 if data.get("note_unreadable") else MASK_NOTE)
        return look, mask


class BatchMarker:
    """MarkTarget for desktop Excel that costs a few cross-process calls, not dozens per cell.

    Every per-cell read and write runs inside Excel, in the add-in's helper macros
    (``GK_ReadLooks``/``GK_WriteLooks`` and friends in ``addin/gkreport_ribbon.bas``),
    called through ``Application.Run`` once per sheet. Snapshots are read in one call
    per sheet (:meth:`prefetch`), marks and restores are buffered and written in one
    call per sheet (:meth:`flush`). :meth:`session` turns screen updating and
    automatic calculation off and lifts sheet protection, with each sheet's own
    options, for the duration — on Windows and on the Mac alike, since the macros take
    and return strings only.
    """

    def __init__(self, book: xw.Book, addin: str = "gkreport.xlam") -> None:
        self.book = book
        self.app = book.app
        self.book_name = str(book.name)
        self.prefix = f"'{addin}'!GKReportRibbon."
        self._names: list[str] | None = None
        self._looks: dict[tuple[str, str], Look] = {}
        self._pending: dict[str, dict[str, str]] = {}
        self.locked: list[str] = []
        self.note_failures = 0

    @classmethod
    def available(cls, book: xw.Book, addin: str = "gkreport.xlam") -> BatchMarker | None:
        """A batch marker when the add-in's macros answer, else ``None`` (use XlwingsMarker)."""
        if is_remote(book):
            return None
        marker = cls(book, addin)
        try:
            marker._run("GK_Ping")
        except Exception:  # Excel boundary: add-in not loaded (command line, old add-in): per-cell path
            return None
        return marker

    def _run(self, name: str, *args: object) -> Any:
        return self.app.macro(self.prefix + name)(*args)

    # ------------------------------------------------------------------ session

    @contextmanager
    def session(self, touching: Iterable[str] = ()) -> Iterator[None]:
        """Quiet Excel, lift protection; restore both (and flush) whatever happens."""
        app = self.app
        screen = calc = None
        with suppress(Exception):
            screen = app.screen_updating
            app.screen_updating = False
        with suppress(Exception):
            calc = app.calculation
            app.calculation = "manual"
        lifted = ""
        try:
            records = [r.split(FS) for r in str(self._run("GK_Unprotect", self.book_name) or "").split(RS) if r]
            self._names = [r[0] for r in records]
            self.locked = [r[0] for r in records if len(r) > 1 and r[1] == "PASSWORD"]
            lifted = RS.join(FS.join(r) for r in records if len(r) > 1 and r[1] not in ("", "PASSWORD"))
            blocked = sorted(set(self.locked) & set(touching))
            if blocked:
                raise ProtectedSheetError(blocked)
            yield
            self.flush()
        finally:
            if lifted:
                with suppress(Exception):
                    self._run("GK_Protect", self.book_name, lifted)
            if calc is not None:
                with suppress(Exception):
                    app.calculation = calc
            if screen is not None:
                with suppress(Exception):
                    app.screen_updating = screen

    # ------------------------------------------------------------------ sheets

    def _sheet_names(self) -> list[str]:
        if self._names is None:
            self._names = [s.name for s in self.book.sheets]
        return self._names

    def has_sheet(self, name: str) -> bool:
        return name in self._sheet_names()

    def delete_sheet(self, name: str) -> None:
        self.flush()
        self._run("GK_DeleteSheet", self.book_name, name)
        self._sheet_names().remove(name)

    def _new_sheet(self, name: str, visibility: int) -> Any:
        self._run("GK_NewSheet", self.book_name, name, visibility)
        self._sheet_names().append(name)
        return self.book.sheets[name]

    # ------------------------------------------------------------------ cells

    def prefetch(self, cells: Iterable[tuple[str, str]]) -> None:
        """Read the looks of all these cells: one call per sheet."""
        by_sheet: dict[str, list[str]] = {}
        for sheet, ref in cells:
            if (sheet, ref) not in self._looks and self.has_sheet(sheet) and ref not in by_sheet.get(sheet, []):
                by_sheet.setdefault(sheet, []).append(ref)
        for sheet, refs in by_sheet.items():
            answer = str(self._run("GK_ReadLooks", self.book_name, sheet, RS.join(refs)) or "")
            records = answer.split(RS)
            if len(records) != len(refs):
                raise RuntimeError(f"GK_ReadLooks returned {len(records)} looks for {len(refs)} cells")
            for ref, record in zip(refs, records, strict=True):
                self._looks[(sheet, ref)] = Look.parse(record)

    def _look(self, sheet: str, ref: str) -> Look:
        if (sheet, ref) not in self._looks:
            self.prefetch([(sheet, ref)])
        return self._looks[(sheet, ref)]

    def snapshot(self, sheet: str, ref: str) -> str:
        return self._look(sheet, ref).snapshot()

    def mark(self, sheet: str, ref: str, fill: str, thick: bool, note: str) -> None:
        old = self._look(sheet, ref)
        new = Look(fill=_hex_to_bgr(fill), edges=old.edges, note=f"{old.note}\n\n{note}" if old.note else note)
        mask = MASK_FILL | MASK_NOTE
        if thick:
            new.edges = [(1, _WEIGHT_CODES["medium"], _hex_to_bgr(THICK_COLOR.lstrip("#")))] * 4
            mask |= MASK_BORDERS
        self._pending.setdefault(sheet, {})[ref] = new.record(ref, mask)

    def restore(self, sheet: str, ref: str, snap: str) -> None:
        look, mask = Look.from_snapshot(snap)
        self._pending.setdefault(sheet, {})[ref] = look.record(ref, mask)

    def flush(self) -> None:
        """Write every buffered mark/restore: one call per sheet."""
        pending, self._pending = self._pending, {}
        for sheet, records in pending.items():
            failed = self._run("GK_WriteLooks", self.book_name, sheet, RS.join(records.values()))
            with suppress(TypeError, ValueError):
                self.note_failures += int(failed or 0)

    # ------------------------------------------------------------------ state

    def read_state(self) -> list[tuple[str, str, str]]:
        return read_state_sheet(self.book)

    def write_state(self, rows: Sequence[tuple[str, str, str]]) -> None:
        sheet = self._new_sheet(STATE_SHEET, XL_SHEET_VERY_HIDDEN)
        sheet.range("A1").value = [["sheet", "cell", "snapshot"], *[[_text_value(v) for v in r] for r in rows]]

    # ------------------------------------------------------------------ results

    def write_results(self, rows: Sequence[Sequence[object]], links: Sequence[tuple[str, str] | None]) -> None:
        self.flush()
        sheet = self._new_sheet(RESULTS_SHEET, XL_SHEET_VISIBLE)
        sheet.range("A1").value = [[_text_value(v) for v in row] for row in rows]
        records = []
        for r, link in enumerate(links, 1):
            if link is not None:
                target, ref = link
                quoted = "'" + target.replace("'", "''") + "'"
                records.append(FS.join([f"D{r}", _clean(f"{quoted}!{ref}"), _clean(ref)]))
        widths = FS.join(str(WIDTHS[c]) for c in "ABCDEFGH")
        self._run("GK_FinishResults", self.book_name, RESULTS_SHEET, RS.join(records), widths)
