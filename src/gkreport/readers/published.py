"""Read a report as agencies publish it (text, docx, html, xlsx) into cell values.

Agencies publish their annual report as a web page, a Word file or a PDF; the tables
in it are the official ones, but what reaches us is mangled: PDF text extraction
shifts rows by a tab, breaks labels across lines, writes half-width brackets and
spaces inside labels; Word/HTML tables carry merged cells; spreadsheets put the grid
anywhere on any sheet. This package turns all of these into one thing: a value for
every cell id of the form, exactly as published, or an issue saying why not.

- ``pub_sources``: files -> rows of cells, within hard limits (size, cells, spans);
- ``pub_model``: the form's labels and tolerant label matching;
- ``pub_place``: the state machine placing values (every value placed or reported);
- ``pub_solve``: rows with too few/many values, filled only where the rules force it;
- here: metadata (agency, year, date), form detection and the entry point.

Values are never interpreted: a plain number becomes ``int``/``float``, a blank stays
``None`` and anything else stays the raw string, so the validation engine can report
units, dashes and full-width digits at their cell.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gkreport.core.forms import FormError, available_forms, form_for_year, load_form
from gkreport.core.labels import normalize
from gkreport.readers.files import INPUT_SUFFIXES
from gkreport.readers.pub_model import Model
from gkreport.readers.pub_office import read_docx, read_xlsx
from gkreport.readers.pub_place import Issue, Placer
from gkreport.readers.pub_sources import (
    MAX_BYTES,
    Cell,
    RawValue,
    ReportReadError,
    Row,
    Source,
    is_blank,
    read_html,
    read_tsv,
    text_rows,
)
from gkreport.readers.pub_sources import decode as _decode
from gkreport.readers.pub_sources import (
    parse_text as parse_value,  # the printed value (RawValue), not values.parse_value
)
from gkreport.readers.pub_tsv import place_tsv

__all__ = ["SUPPORTED", "Imported", "Issue", "ReportReadError", "parse_value", "read_published"]

SUPPORTED = INPUT_SUFFIXES


@dataclass(frozen=True)
class Imported:
    """A published report read into the cells of one form.

    ``values`` has every cell id of ``form``: the value as published (number, raw text
    or ``None`` for a blank). ``unread`` are cells whose published value could not be
    placed (they are ``None`` in ``values``, but not blank in the report); ``issues``
    say what happened, by severity: ``error`` = values not placed (the import is
    incomplete), ``warning`` = content left out that changes no placed value,
    ``info`` = values deduced because the rules allow only one reading.
    """

    form: str
    year: int | None
    agency: str | None
    date: str | None
    values: dict[str, RawValue]
    text: str
    issues: list[Issue]
    unread: frozenset[str]
    source: str

    @property
    def complete(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    @property
    def unplaced(self) -> list[str]:
        """Messages of the error-level issues (values that could not be placed)."""
        return [i.message for i in self.issues if i.severity == "error"]

    @property
    def notes(self) -> list[str]:
        """Messages of the warning- and info-level issues."""
        return [i.message for i in self.issues if i.severity != "error"]


# ------------------------------------------------------------------------------ metadata


_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_DATE = re.compile(r"^\s*([\d〇零○一二三四五六七八九Ｏ]{4})\s*年\s*([\d一二三四五六七八九十]{1,3})\s*月\s*"
                   r"([\d一二三四五六七八九十]{1,3})\s*日\s*$")
_AGENCY_END = ("人民政府", "政府", "办公室", "办事处", "委员会", "管委会", "局", "厅", "署", "院",
               "中心", "镇", "乡", "街道")


def _cn_number(s: str) -> int:
    s = unicodedata.normalize("NFKC", s)
    if s.isdigit():
        return int(s)
    if len(s) == 4:  # a year written digit by digit: 二〇二一
        return int("".join(str(_CN_DIGITS[ch]) for ch in s))
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    return _CN_DIGITS[s]


def _find_date(lines: Sequence[str]) -> tuple[str | None, int | None]:
    """The signature date (the last line that is only a date), as ISO text, and its line index."""
    for i in range(len(lines) - 1, -1, -1):
        m = _DATE.match(lines[i])
        if m:
            try:
                y, mo, d = (_cn_number(g) for g in m.groups())
            except KeyError:
                continue
            if 1 <= mo <= 12 and 1 <= d <= 31:
                return f"{y:04d}-{mo:02d}-{d:02d}", i
    return None, None


def _find_year(title: str, text: str) -> int | None:
    for s in (title, text):
        m = re.search(r"((?:19|20)\d{2})\s*年\s*度?\s*(?:的\s*)?政\s*府\s*信\s*息\s*公\s*开", s)
        if m:
            return int(m.group(1))
    m = re.search(r"((?:19|20)\d{2})\s*年", title)
    return int(m.group(1)) if m else None


def _find_agency(lines: Sequence[str], title: str, date_idx: int | None, text: str) -> str | None:
    """Signature line above the date, else the issuer named in the title before the year."""
    if date_idx is not None:
        for j in range(date_idx - 1, max(-1, date_idx - 4), -1):
            cand = re.sub(r"\s+", "", lines[j])
            if cand and len(cand) <= 40 and cand.endswith(_AGENCY_END):
                return cand
            if cand:
                break
    m = re.match(r"^\s*(.+?)\s*(?:19|20)\d{2}\s*年", title)
    if m:
        name = re.sub(r"\s+", "", m.group(1))
        if name and not name.endswith(("人民政府", "政府")) and f"{name}人民政府" in re.sub(r"\s+", "", text):
            return f"{name}人民政府"
        return name or None
    return None


def _title(lines: Sequence[str]) -> str:
    for ln in lines:
        if ln.strip():
            return ln.strip()
    return ""


# ------------------------------------------------------------------------------ form detection


def _form_scores(rows: Sequence[Row]) -> dict[str, int]:
    """How many printed labels unique to each form version appear as table cells.

    ``any`` counts the labels of any form: zero means there is no report table at all.
    """
    forms = {v: load_form(v) for v in available_forms()}
    labels: dict[str, set[str]] = {}
    for v, f in forms.items():
        s: set[str] = set()
        for t in f.tables:
            s |= {normalize(lab.text) for lab in t.labels}
        labels[v] = s
    texts = {normalize(c.text) for r in rows for c in r.cells if not is_blank(c.text)}
    scores = {"any": len(set().union(*labels.values()) & texts)}
    for v, s in labels.items():
        others = set().union(*(o for k, o in labels.items() if k != v))
        scores[v] = len((s - others) & texts)
    return scores


def _choose_form(form: str, scores: dict[str, int], year: int | None, notes: list[str]) -> str:
    if form != "auto":
        if form not in available_forms():
            raise ReportReadError(f"没有 {form} 版表式（可用：{'、'.join(available_forms())}）")
        return form
    scores = {v: s for v, s in scores.items() if v != "any"}
    best = max(scores.values(), default=0)
    winners = [v for v, s in scores.items() if s == best]
    if best > 0 and len(winners) == 1:
        chosen = winners[0]
        by_year = form_for_year(year) if year else None
        if by_year is not None and by_year.version != chosen:
            notes.append(
                f"表格标签是 {chosen} 版表式，但 {year} 年度应使用 {by_year.version} 版表式；按表格标签读取"
            )
        return chosen
    by_year = form_for_year(year) if year else None
    if by_year is not None:
        notes.append(f"无法从表格标签判断表式版本，按报告年度 {year} 采用 {by_year.version} 版表式")
        return by_year.version
    versions = " 版、".join(available_forms())
    raise ReportReadError(f"无法判断报告使用的表式版本（{versions} 版中的哪一个），请用 --form 指定")


# ------------------------------------------------------------------------------ entry point


def read_published(path: Path, form: str = "auto", year: int | None = None) -> Imported:
    """Read a published report into the cells of its form (see the module docstring).

    ``form`` ("auto" or a form version) and ``year`` override what the reader detects.
    Raises :class:`ReportReadError` with a Chinese message naming the file when it
    cannot be used: whatever the bytes, nothing else escapes.
    """
    path = Path(path)
    try:
        return _read_published(path, form, year)
    except ReportReadError as e:
        if path.name in str(e):
            raise
        raise ReportReadError(f"{e}：{path.name}") from None
    except (MemoryError, RecursionError):
        raise ReportReadError(f"文件内容过于复杂，超出读取能力，拒绝读取：{path.name}") from None
    except Exception as e:  # a reader bug on strange input must still be a message, not a traceback
        raise ReportReadError(f"读取时发生内部错误（{type(e).__name__}），无法导入：{path.name}") from None


def _read_published(path: Path, form: str, year: int | None) -> Imported:
    if not path.exists():
        raise ReportReadError(f"文件不存在：{path}")
    if not path.is_file():
        raise ReportReadError(f"不是文件：{path}")
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        legacy = (".pdf", ".doc", ".xls", ".wps")
        hint = "；PDF 等请先另存为 Word（.docx）或文本（.txt）" if ext in legacy else ""
        raise ReportReadError(
            f"不支持的文件类型“{ext or '（无扩展名）'}”：{path.name}。"
            f"可读取 .txt、.tsv、.docx、.html/.htm、.xlsx{hint}"
        )
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ReportReadError(f"文件过大（{size / 1024 / 1024:.1f} MB，上限 {MAX_BYTES // 1024 // 1024} MB）：{path.name}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ReportReadError(f"无法读取文件（{e.strerror or type(e).__name__}）：{path.name}") from None

    sections: dict[str, list[list[str]]] | None = None
    if ext == ".tsv":
        src, sections = read_tsv(path, data)
    elif ext == ".txt":
        text = _decode(data, path)
        src = Source(text_rows(text, path.name), text)
    elif ext in (".html", ".htm"):
        src = read_html(path, data)
    elif ext == ".docx":
        src = read_docx(path, data)
    else:
        src = read_xlsx(path, data)

    notes: list[str] = list(src.notes)
    lines = src.text.split("\n")
    title = src.meta.get("title") or _title(lines)
    if year is None:
        meta_year = src.meta.get("year", "")
        year = int(meta_year) if meta_year.isdigit() and len(meta_year) == 4 else _find_year(title, src.text)
    if form == "auto" and src.meta.get("form") in available_forms():
        form = src.meta["form"]
    if sections is not None:
        pseudo = [Row(tuple(Cell(x) for part in parts for x in part.split("/")), "tab", "")
                  for sec in sections.values() for parts in sec]
        scores = _form_scores(pseudo)
    else:
        scores = _form_scores(src.rows)
    if scores["any"] == 0:
        raise ReportReadError(f"文件中没有找到政府信息公开年度报告的统计表格：{path.name}")
    try:
        version = _choose_form(form, scores, year, notes)
        model = Model(load_form(version))
    except FormError as e:
        raise ReportReadError(str(e)) from None

    placer = Placer(model)
    if sections is not None:
        place_tsv(model, sections, placer)
    else:
        placer.feed(src.rows)
    placer.finish()
    if not placer.placed and not placer.issues:
        raise ReportReadError(f"文件中没有找到政府信息公开年度报告的统计表格：{path.name}")
    issues = [Issue("warning", n) for n in notes]
    for table in model.form.tables:
        if table.id not in placer.seen:
            issues.append(Issue("warning", f"没有找到{model.name(table.id)}（{table.title}），其单元格留空"))
    issues.extend(placer.issues)

    date, date_idx = _find_date(lines)
    if "agency" in src.meta:
        agency: str | None = re.sub(r"[（(].*[）)]\s*$", "", src.meta["agency"]).strip() or None
    else:
        agency = _find_agency(lines, title, date_idx, src.text)
    if src.meta.get("date"):
        date = src.meta["date"]
    return Imported(
        form=version, year=year, agency=agency, date=date, values=placer.values, text=src.text,
        issues=issues, unread=frozenset(placer.unread), source=str(path),
    )
