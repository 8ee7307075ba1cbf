"""Marks on a live workbook through xlwings: the ribbon's 校验 / 清除标记 buttons.

Two MarkTargets mirror :class:`gkreport.markers.openpyxl_marker.OpenpyxlMarker` on an
``xlwings.Book``, so the same :func:`gkreport.markers.marking.apply_marks` / ``clear_marks``
logic marks the workbook the user has open:

- :class:`BatchMarker`, used whenever the add-in is loaded (Windows and Mac): the
  per-cell reads and writes run inside Excel in the add-in's helper macros, a few
  cross-process calls in all (see its docstring and ``docs/addin-build.md``);
- :class:`XlwingsMarker`, the per-cell path through xlwings' API, for the remote engine
  and for desktop Excel without the add-in's macros. What follows describes it.

It runs on two engines, which differ in what can be *read*:

- desktop Excel (COM on Windows, AppleScript on macOS) reads and writes everything;
- the remote engine (``xw.Book(json=...)``, used by the tests and by xlwings Server/Lite)
  only queues writes as actions; fills, borders and note text cannot be read back
  synchronously (``NotImplementedError``), and notes need an ``Office.js`` client.

Choices, and why:

- **Fill**: ``rng.color``. Where the old fill cannot be read (remote), the snapshot keeps
  the look the template gives that cell (``fallback``, see :class:`CellLook`; the add-in
  passes the template's input/total fills) so 清除标记 puts back what the template had
  rather than leaving the cell white.
- **Thick mark** (a determined suspect): a medium dark-red outline via
  ``rng.borders.set("outside", ...)``. xlwings 0.37 supports borders on the remote engine
  too (``setBorderProperty`` actions), so no substitute colour is needed. Unreadable old
  borders restore to the fallback look (the template's thin black grid).
- **Notes**: ``rng.add_note`` / ``note.text`` / ``note.delete`` (remote actions ``addNote``,
  ``setNoteText``, ``deleteNote``). A note the user already had is kept: our text is
  appended when the old text is readable, and when it is not (remote) the user's note is
  left untouched and the message only appears in the 校验结果 sheet, so a user's note is
  never lost. Engines without note support skip notes for the same reason.
- **State sheet**: very hidden on Windows (``Visible = xlSheetVeryHidden`` via COM) so it
  does not show in 取消隐藏; elsewhere ``sheet.visible = False`` (plain hidden: xlwings'
  public API is a bool, and the remote engine sends ``Hidden``).
- **Results sheet**: one ``value`` write for the whole table; each row links to its cell
  (``#'sheet'!B7``); on Windows through ``Hyperlinks.Add(SubAddress=...)``, which is
  Excel's own form for a link inside the workbook.
- Values written to ranges go through :func:`gkreport.output.safety.excel_text`, so a message
  that starts with ``=`` or ``-`` stays text.
- Sheet protection (the template protects its sheets without a password) blocks fills and
  notes; :meth:`XlwingsMarker.unprotected` lifts it around marking on Windows COM and puts
  the same protection back (each sheet's own options); a sheet with a password raises
  :class:`ProtectedSheetError` (a Chinese message). The remote engine has no protection
  API, so it is skipped there; on the Mac the add-in's macros do it (BatchMarker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from gkreport.markers.marking import RESULTS_SHEET, STATE_SHEET, decode_snapshot, encode_snapshot
from gkreport.markers.xlwings_batch import FS as FS
from gkreport.markers.xlwings_batch import LINE_STYLES as LINE_STYLES
from gkreport.markers.xlwings_batch import MASK_BORDERS as MASK_BORDERS
from gkreport.markers.xlwings_batch import MASK_FILL as MASK_FILL
from gkreport.markers.xlwings_batch import MASK_NOTE as MASK_NOTE
from gkreport.markers.xlwings_batch import RS as RS
from gkreport.markers.xlwings_batch import WEIGHTS as WEIGHTS
from gkreport.markers.xlwings_batch import XL_EDGES as XL_EDGES
from gkreport.markers.xlwings_batch import XL_NONE as XL_NONE
from gkreport.markers.xlwings_batch import BatchMarker as BatchMarker
from gkreport.markers.xlwings_batch import Look as Look
from gkreport.markers.xlwings_common import HEADER_FILL as HEADER_FILL
from gkreport.markers.xlwings_common import THICK_COLOR as THICK_COLOR
from gkreport.markers.xlwings_common import WIDTHS as WIDTHS
from gkreport.markers.xlwings_common import XL_SHEET_VERY_HIDDEN as XL_SHEET_VERY_HIDDEN
from gkreport.markers.xlwings_common import XL_SHEET_VISIBLE as XL_SHEET_VISIBLE
from gkreport.markers.xlwings_common import CellLook as CellLook
from gkreport.markers.xlwings_common import Fallback as Fallback
from gkreport.markers.xlwings_common import ProtectedSheetError as ProtectedSheetError
from gkreport.markers.xlwings_common import _hex, _text_value, read_state_sheet
from gkreport.markers.xlwings_common import is_remote as is_remote
from gkreport.markers.xlwings_common import uses_com as uses_com

if TYPE_CHECKING:  # pragma: no cover
    import xlwings as xw

EDGES = ("edge_left", "edge_right", "edge_top", "edge_bottom")
PROTECTION_ALLOW = ("AllowFormattingCells", "AllowFormattingColumns", "AllowFormattingRows",
                    "AllowInsertingColumns", "AllowInsertingRows", "AllowInsertingHyperlinks",
                    "AllowDeletingColumns", "AllowDeletingRows", "AllowSorting", "AllowFiltering",
                    "AllowUsingPivotTables")
_UNREADABLE = (NotImplementedError, AttributeError)


class XlwingsMarker:
    """MarkTarget over an open ``xlwings.Book`` (desktop Excel or the remote engine)."""

    def __init__(self, book: xw.Book, fallback: Fallback | None = None) -> None:
        self.book = book
        self.remote = is_remote(book)
        self.com = uses_com(book)
        self.fallback: Fallback = fallback or (lambda sheet, ref: CellLook())

    # ------------------------------------------------------------------ sheets

    def _names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def has_sheet(self, name: str) -> bool:
        return name in self._names()

    def _range(self, sheet: str, ref: str) -> Any:
        return self.book.sheets[sheet].range(ref)

    def _add_sheet(self, name: str) -> Any:
        sheets = self.book.sheets
        return sheets.add(name, after=sheets[len(sheets) - 1])

    def delete_sheet(self, name: str) -> None:
        sheet = self.book.sheets[name]
        app = self.book.app
        alerts = app.display_alerts
        try:
            # Excel asks "delete permanently?" and refuses to delete a very hidden sheet.
            app.display_alerts = False
            if self.com:
                if sheet.api.Visible != XL_SHEET_VISIBLE:  # COM reports very hidden as 2 (truthy)
                    sheet.api.Visible = XL_SHEET_VISIBLE
            elif not self.remote and not sheet.visible:
                sheet.visible = True
            sheet.delete()
        finally:
            app.display_alerts = alerts

    # ------------------------------------------------------------------ cells

    def snapshot(self, sheet: str, ref: str) -> str:
        """The cell's fill, outline and note, as far as this engine can read them."""
        rng = self._range(sheet, ref)
        look = self.fallback(sheet, ref)
        data: dict[str, object] = {}
        try:
            data["fill"] = _hex(rng.color)
        except _UNREADABLE:
            data["fill"] = look.fill
            data["fill_default"] = True
        try:
            border = {}
            for side in EDGES:
                b = rng.borders[side]
                border[side] = [b.line_style, b.weight, _hex(b.color)]
            data["border"] = border
        except _UNREADABLE:
            data["border"] = None
            data["border_default"] = look.border
        note = rng.note
        if note is None:
            data["note"] = None
        else:
            try:
                data["note"] = [note.text]
            except _UNREADABLE:
                data["note"] = ["?"]
                data["note_unreadable"] = True
        return encode_snapshot(data)

    def restore(self, sheet: str, ref: str, snap: str) -> None:
        """Put back what :meth:`snapshot` saved; an unreadable note is left as it is."""
        data = decode_snapshot(snap)
        rng = self._range(sheet, ref)
        fill = data.get("fill")
        rng.color = "#" + fill if isinstance(fill, str) and fill else None
        border = data.get("border")
        if isinstance(border, dict):
            for side in EDGES:
                style, weight, color = [*(border.get(side) or []), None, None, None][:3]
                if not style or style == "none":
                    rng.borders[side].line_style = None
                else:
                    kwargs: dict[str, Any] = {"line_style": style}
                    if weight:
                        kwargs["weight"] = weight
                    if color:
                        kwargs["color"] = "#" + str(color)
                    rng.borders.set(side, **kwargs)
        else:
            weight = data.get("border_default")
            if isinstance(weight, str) and weight:
                rng.borders.set("outside", line_style="continuous", weight=weight, color="#000000")
            else:
                rng.borders.set("outside", line_style=None)
        note = data.get("note")
        if data.get("note_unreadable"):
            return  # the user's own note was never touched
        current = rng.note
        if isinstance(note, list) and note and isinstance(note[0], str) and note[0]:
            if current is None:
                self._add_note(rng, note[0])
            else:
                with suppress(*_UNREADABLE):
                    current.text = note[0]
        elif current is not None:
            current.delete()

    @staticmethod
    def _add_note(rng: Any, text: str) -> bool:
        try:
            rng.add_note(text)
        except _UNREADABLE:
            return False  # engine/client without notes: the results sheet still lists it
        return True

    def mark(self, sheet: str, ref: str, fill: str, thick: bool, note: str) -> None:
        rng = self._range(sheet, ref)
        rng.color = "#" + fill
        if thick:
            rng.borders.set("outside", line_style="continuous", weight="medium", color=THICK_COLOR)
        current = rng.note
        if current is None:
            self._add_note(rng, note)
            return
        try:
            old = current.text
        except _UNREADABLE:
            return  # cannot append without losing the user's text: keep theirs
        current.text = f"{old}\n\n{note}" if old else note

    # ------------------------------------------------------------------ state

    def read_state(self) -> list[tuple[str, str, str]]:
        return read_state_sheet(self.book)

    def write_state(self, rows: Sequence[tuple[str, str, str]]) -> None:
        sheet = self._add_sheet(STATE_SHEET)
        table = [["sheet", "cell", "snapshot"], *[[_text_value(v) for v in r] for r in rows]]
        sheet.range("A1").value = table
        if self.com:
            sheet.api.Visible = XL_SHEET_VERY_HIDDEN
        else:
            sheet.visible = False

    # ------------------------------------------------------------------ results

    def write_results(self, rows: Sequence[Sequence[object]], links: Sequence[tuple[str, str] | None]) -> None:
        sheet = self._add_sheet(RESULTS_SHEET)
        table = [[_text_value(v) for v in row] for row in rows]
        sheet.range("A1").value = table
        for r, link in enumerate(links, 1):
            if link is None:
                continue
            target_sheet, ref = link
            self._link(sheet.range((r, 4)), target_sheet, ref)
        self._format_results(sheet, len(rows))
        sheet.activate()
        sheet.range("A1").select()

    def _link(self, cell: Any, sheet: str, ref: str) -> None:
        quoted = "'" + sheet.replace("'", "''") + "'"
        if self.com:
            cell.api.Hyperlinks.Add(Anchor=cell.api, Address="", SubAddress=f"{quoted}!{ref}", TextToDisplay=ref)
        else:
            cell.add_hyperlink(f"#{quoted}!{ref}", ref, f"跳到 {sheet} {ref}")

    def _format_results(self, sheet: Any, n_rows: int) -> None:
        """Cosmetics only: an engine that lacks one of them still gets the data."""
        steps: list[Callable[[], None]] = [
            lambda: setattr(sheet.range("A1:H1").font, "bold", True),
            lambda: setattr(sheet.range("A1:H1"), "color", HEADER_FILL),
            lambda: setattr(sheet.range(f"F1:F{max(n_rows, 1)}"), "wrap_text", True),
        ]

        def width(col: str, w: float) -> Callable[[], None]:
            return lambda: setattr(sheet.range(f"{col}:{col}"), "column_width", w)

        steps += [width(col, w) for col, w in WIDTHS.items()]
        steps.append(lambda: sheet.range(f"A1:H{max(n_rows, 1)}").rows.autofit())  # after the widths
        for step in steps:
            with suppress(NotImplementedError, AttributeError):
                step()

    # ------------------------------------------------------------------ protection

    def prefetch(self, cells: Iterable[tuple[str, str]]) -> None:
        """Nothing to batch here: snapshots are read cell by cell (same API as BatchMarker)."""

    def flush(self) -> None:
        """Writes are immediate here (same API as BatchMarker)."""

    @contextmanager
    def session(self, touching: Iterable[str] = ()) -> Iterator[None]:
        """Screen updating off (desktop engines) and protection lifted while marking."""
        app = self.book.app
        screen = None
        if not self.remote:
            with suppress(Exception):
                screen = app.screen_updating
                app.screen_updating = False
        try:
            with self.unprotected(touching):
                yield
        finally:
            if screen is not None:
                with suppress(Exception):
                    app.screen_updating = screen

    @contextmanager
    def unprotected(self, touching: Iterable[str] = ()) -> Iterator[None]:
        """Lift sheet protection (no password) while marking; put the same back after.

        Only on Windows COM here (the add-in's macros do it on every engine, see
        :class:`BatchMarker`); the remote engine has no protection API. A sheet in
        ``touching`` protected with a password raises :class:`ProtectedSheetError`.
        """
        lifted: list[tuple[Any, dict[str, bool]]] = []
        locked: list[str] = []
        if self.com:
            for sheet in self.book.sheets:
                api = sheet.api
                if not api.ProtectContents:
                    continue
                p = api.Protection
                options = {"DrawingObjects": bool(api.ProtectDrawingObjects), "Contents": True,
                           "Scenarios": bool(api.ProtectScenarios),
                           "UserInterfaceOnly": bool(api.ProtectionMode)}
                options |= {k: bool(getattr(p, k)) for k in PROTECTION_ALLOW}
                try:
                    api.Unprotect("")  # with a password argument Excel raises instead of prompting
                except Exception:  # Excel boundary: a password makes COM raise its own error type
                    locked.append(str(sheet.name))
                    continue
                lifted.append((api, options))
        try:
            blocked = sorted(set(locked) & set(touching))
            if blocked:
                raise ProtectedSheetError(blocked)
            yield
        finally:
            for api, options in lifted:
                with suppress(Exception):  # a sheet deleted meanwhile
                    api.Protect(**options)
