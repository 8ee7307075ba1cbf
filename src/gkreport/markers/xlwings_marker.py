"""Marks on a live workbook through xlwings: the ribbon's 校验 / 清除标记 buttons.

Two MarkTargets mirror :class:`gkreport.markers.openpyxl_marker.OpenpyxlMarker` on an
``xlwings.Book``, so the same :func:`gkreport.marking.apply_marks` / ``clear_marks``
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
- Values written to ranges go through :func:`gkreport.safety.excel_text`, so a message
  that starts with ``=`` or ``-`` stays text.
- Sheet protection (the template protects its sheets without a password) blocks fills and
  notes; :meth:`XlwingsMarker.unprotected` lifts it around marking on Windows COM and puts
  the same protection back (each sheet's own options); a sheet with a password raises
  :class:`ProtectedSheetError` (a Chinese message). The remote engine has no protection
  API, so it is skipped there; on the Mac the add-in's macros do it (BatchMarker).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gkreport.output.safety import excel_text

from .marking import RESULTS_SHEET, STATE_SHEET, decode_snapshot, encode_snapshot

if TYPE_CHECKING:  # pragma: no cover
    import xlwings as xw

EDGES = ("edge_left", "edge_right", "edge_top", "edge_bottom")
THICK_COLOR = "#C00000"
HEADER_FILL = "#D9E1F2"
WIDTHS = {"A": 6, "B": 9, "C": 17, "D": 8, "E": 30, "F": 72, "G": 8, "H": 0}  # H (fingerprint): hidden
XL_SHEET_VERY_HIDDEN = 2
XL_SHEET_VISIBLE = -1
PROTECTION_ALLOW = ("AllowFormattingCells", "AllowFormattingColumns", "AllowFormattingRows",
                    "AllowInsertingColumns", "AllowInsertingRows", "AllowInsertingHyperlinks",
                    "AllowDeletingColumns", "AllowDeletingRows", "AllowSorting", "AllowFiltering",
                    "AllowUsingPivotTables")
_UNREADABLE = (NotImplementedError, AttributeError)


@dataclass(frozen=True)
class CellLook:
    """What a cell looks like when its real look cannot be read (remote engine).

    ``fill`` is ``RRGGBB`` or ``None`` (no fill); ``border`` is a line weight for a
    black continuous outline (``"thin"``) or ``None`` (no border).
    """

    fill: str | None = None
    border: str | None = None


Fallback = Callable[[str, str], CellLook]


def _hex(color: Any) -> str | None:
    """``(r, g, b)`` or ``#rrggbb`` -> ``RRGGBB``; ``None`` stays ``None``."""
    if color is None:
        return None
    if isinstance(color, str):
        return color.lstrip("#").upper()
    if isinstance(color, tuple | list) and len(color) == 3:
        return "{:02X}{:02X}{:02X}".format(*(int(c) for c in color))
    return None


def _text_value(v: object) -> object:
    return excel_text(v) if isinstance(v, str) else v


def is_remote(book: xw.Book) -> bool:
    """True for the remote engine (``xw.Book(json=...)``): writes are queued actions."""
    try:
        return getattr(book.app.engine, "name", "") == "remote"
    except Exception:  # pragma: no cover - Excel boundary: an engine without ``app``, or COM's own error types
        return False


def uses_com(book: xw.Book) -> bool:
    """True for desktop Excel on Windows, where ``.api`` is the COM object."""
    return sys.platform.startswith("win") and not is_remote(book)


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
        sheet = self.book.sheets[STATE_SHEET]
        rows = sheet.used_range.options(ndim=2).value or []
        out = []
        for row in rows[1:]:
            if len(row) >= 2 and row[0] and row[1]:
                snap = row[2] if len(row) > 2 and row[2] is not None else ""
                out.append((str(row[0]), str(row[1]), str(snap)))
        return out

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


class ProtectedSheetError(Exception):
    """Sheets the marker must write to are protected with a password (Chinese message)."""

    def __init__(self, sheets: Sequence[str]) -> None:
        self.sheets = list(sheets)
        names = "、".join(f"“{s}”" for s in self.sheets)
        super().__init__(
            f"工作表{names}设置了密码保护，无法在其中标注或清除标记。\n"
            "请先点“审阅 → 撤消工作表保护”并输入密码，再点此按钮；完成后可重新保护。"
        )


# ---------------------------------------------------------------------- batched (add-in macros)

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
        return XlwingsMarker.read_state(self)  # type: ignore[arg-type]

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
