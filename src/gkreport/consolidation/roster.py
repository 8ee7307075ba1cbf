"""The roster (应报送单位名单) and matching the agency names typed in reports against it.

A clerk types 某某县人民政府办公室 in the report while the roster says 某某县政府办公室; a
town writes 长兴街道 for 长兴街道办事处. Treating such a report as "not on the roster" made
one agency both summed into the county totals and listed as 未报送. The semantics here,
which every surface (console, 报送情况, cell comments, JSON) reports the same way:

- **exact** / **normalised** match: the agency *is* that roster entry. It counts as
  submitted, takes the roster's name and 层级. Normalising removes only what does not tell
  two agencies apart: spaces, full/half-width forms, brackets and punctuation,
  人民政府 ↔ 政府, 街道办事处 ↔ 街道, 镇政府 ↔ 镇, and the county's own prefix
  (某某县 / 县) when the rest is still unique in the roster.
- **near** match (rapidfuzz ``fuzz.ratio`` of the normalised names ≥ :data:`PROPOSE_SCORE`, to
  a roster entry that has no report of its own): *proposed*, never assumed — one character is all that tells 东山镇
  from 西山镇, so no similarity score is safe to accept automatically (the automatic
  threshold is exactly the normalisation above). The report is summed into 全县 (it is a
  real report), counted under 未列入名单 in 分级汇总, and the roster entry is listed as
  "名称不符，待确认" instead of 未报送: the summary is uncertain until the clerk corrects
  the name and consolidates again.
- no match: summed into 全县 and 未列入名单, listed as 名称不在名单中.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from gkreport.readers import ReadError
from gkreport.readers.files import decode_text

if TYPE_CHECKING:
    from .consolidate import Consolidation

LEVEL_OWN, LEVEL_TOWN = "本级", "乡镇街道"
EXACT, NORMALISED, NEAR = "exact", "normalised", "near"
# Below this a roster name is no useful hint: 某某县气象局 / 某某县统计局 score 67, while a typo in a
# town (石玛镇人民政府 / 石马镇人民政府) scores 86 — scores are of the whole normalised names.
PROPOSE_SCORE = 75.0

_BRACKETS = re.compile(r"[\s()（）\[\]【】〔〕{}<>《》「」『』\"'“”‘’·•・.,，、]+")
# Ways of writing the same agency, applied in order to a normalise_name()d string.
_SAME_AGENCY: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile("人民政府"), "政府"),
    (re.compile("街道办事处"), "街道"),
    (re.compile("办事处$"), ""),
    (re.compile("([乡镇])政府$"), r"\1"),
)
# A county-level prefix: 某某县, 某某区, 某某市, 某某旗 (at most 6 characters before it).
_COUNTY = re.compile(r"^(?:[^县区市旗]{1,6}省)?([^县区市旗]{1,6}[县区市旗])")


@dataclass
class RosterEntry:
    """One expected agency from the roster (名单)."""

    name: str
    level: str | None  # 本级 / 乡镇街道 / None when the roster has no 层级
    extra: tuple[tuple[str, str], ...] = ()  # the roster's other columns (联系人, 联系电话 …), for the 催报清单


@dataclass(frozen=True)
class RosterMatch:
    """How a report's agency name was matched to a roster entry."""

    entry: RosterEntry
    kind: str  # EXACT, NORMALISED or NEAR
    score: float  # rapidfuzz similarity of the normalised names, 0-100 (100 for exact/normalised)

    @property
    def counts(self) -> bool:
        """Whether the report counts as this roster entry's (not a mere proposal)."""
        return self.kind != NEAR


# ---------------------------------------------------------------------------- names


def normalise_name(name: str) -> str:
    """Agency names as typed differ in spaces, full-width forms and brackets; compare without them."""
    return _BRACKETS.sub("", unicodedata.normalize("NFKC", name or "")).lower()


def agency_key(name: str) -> str:
    """:func:`normalise_name` plus the spellings of one agency (人民政府/政府, 街道办事处/街道…)."""
    key = normalise_name(name)
    for pattern, repl in _SAME_AGENCY:
        key = pattern.sub(repl, key)
    return key


def _strip_prefix(key: str, prefixes: Iterable[str]) -> str:
    """``key`` without the county's own prefix (longest first), or without a bare 县/区/市."""
    for p in prefixes:
        if key.startswith(p) and len(key) > len(p):
            return key[len(p):]
    if key[:1] in "县区市" and len(key) > 1:
        return key[1:]
    return key


# ---------------------------------------------------------------------------- loading


def _level(text: object) -> str | None:
    t = str(text or "").strip()
    if not t:
        return None
    return LEVEL_TOWN if any(k in t for k in ("乡", "镇", "街道")) else LEVEL_OWN


def load_roster(path: Path) -> list[RosterEntry]:
    """Read a roster (.csv or .xlsx) with a 单位名称 column and an optional 层级 column."""
    path = Path(path)
    rows: list[list[Any]]
    if path.suffix.lower() == ".csv":
        decoded = decode_text(path.read_bytes())
        if decoded is None:
            raise ReadError("名单文件的编码无法识别（请另存为 UTF-8 或 GBK 编码的 CSV）")
        rows = [list(r) for r in csv.reader(decoded.splitlines())]
    else:
        import python_calamine as pc

        try:
            wb = pc.CalamineWorkbook.from_path(str(path))
            rows = wb.get_sheet_by_index(0).to_python()
            wb.close()
        except (pc.CalamineError, OSError) as e:
            raise ReadError(f"名单文件无法读取（{type(e).__name__}）") from None
    for i, row in enumerate(rows):
        heads = [str(c or "").strip() for c in row]
        if "单位名称" in heads:
            name_col = heads.index("单位名称")
            level_col = heads.index("层级") if "层级" in heads else None
            out = []
            for r in rows[i + 1:]:
                cell = r[name_col] if name_col < len(r) else None
                name = str(cell if cell is not None else "").strip()
                if not name:
                    continue
                lv = _level(r[level_col]) if level_col is not None and level_col < len(r) else None
                extra = tuple((h, _roster_text(r[j])) for j, h in enumerate(heads)
                              if h and j not in (name_col, level_col) and j < len(r) and _roster_text(r[j]))
                out.append(RosterEntry(name, lv, extra))
            return out
    raise ReadError("名单文件中没有“单位名称”列")


def _roster_text(v: object) -> str:
    """A roster cell as text: a phone number read as 13800000000.0 is 13800000000."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip() if v is not None else ""


# ---------------------------------------------------------------------------- matching


class RosterMatcher:
    """Matches typed agency names to roster entries (exact, normalised) and proposes near ones.

    Each way of comparing is used only where it is unambiguous: a key shared by two
    roster entries identifies neither.
    """

    def __init__(self, roster: Sequence[RosterEntry]) -> None:
        self.roster = list(roster)
        counts: dict[str, int] = {}
        for r in self.roster:
            m = _COUNTY.match(agency_key(r.name))
            if m:
                counts[m[1]] = counts.get(m[1], 0) + 1
        # The county's own prefixes: those at least two roster names share (not a town's 1-off).
        self.prefixes = sorted((p for p, n in counts.items() if n >= 2), key=len, reverse=True)
        self._exact = _unique((r.name.strip(), r) for r in self.roster)
        self._norm = _unique((normalise_name(r.name), r) for r in self.roster)
        self._key = _unique((agency_key(r.name), r) for r in self.roster)
        self._bare = _unique((_strip_prefix(agency_key(r.name), self.prefixes), r) for r in self.roster)

    def match(self, name: str | None) -> RosterMatch | None:
        """The roster entry ``name`` certainly is (exact or normalised), else None."""
        if not name or not name.strip():
            return None
        hit = self._exact.get(name.strip())
        if hit is not None:
            return RosterMatch(hit, EXACT, 100.0)
        key = agency_key(name)
        for table, k in ((self._norm, normalise_name(name)), (self._key, key),
                         (self._bare, _strip_prefix(key, self.prefixes))):
            hit = table.get(k) if k else None
            if hit is not None:
                return RosterMatch(hit, NORMALISED, 100.0)
        return None

    def propose(self, names: Sequence[str], free: Sequence[RosterEntry]) -> dict[str, RosterMatch]:
        """Near matches for unmatched ``names`` among the roster entries ``free`` (those without a
        report), one-to-one: the most similar pairs first, so two reports never claim one entry."""
        if not names or not free:
            return {}
        choices = [normalise_name(r.name) for r in free]
        pairs: list[tuple[float, int, int]] = []
        for i, n in enumerate(names):
            for _, score, j in process.extract(normalise_name(n), choices, scorer=fuzz.ratio, limit=3,
                                               score_cutoff=PROPOSE_SCORE):
                pairs.append((score, i, j))
        out: dict[str, RosterMatch] = {}
        taken: set[int] = set()
        for score, i, j in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
            if names[i] in out or j in taken:
                continue
            out[names[i]] = RosterMatch(free[j], NEAR, float(score))
            taken.add(j)
        return out


def _unique(pairs: Iterable[tuple[str, RosterEntry]]) -> dict[str, RosterEntry]:
    """Key -> roster entry, leaving out keys that two differently named entries share."""
    found: dict[str, list[RosterEntry]] = {}
    for k, r in pairs:
        if k:
            found.setdefault(k, []).append(r)
    return {k: rs[0] for k, rs in found.items() if len({r.name for r in rs}) == 1}


def closest(name: str, roster: Sequence[RosterEntry]) -> RosterMatch | None:
    """The roster entry most similar to ``name`` (a near match), as a hint for the person."""
    return RosterMatcher(roster).propose([name], roster).get(name)


# ---------------------------------------------------------------------------- words


def percent(score: float) -> str:
    return f"{round(score)}%"


def near_note(match: RosterMatch) -> str:
    """What a report with a near-matched name is told (the same words everywhere)."""
    return f"名称不符，可能是名单中的 {match.entry.name}（相似度 {percent(match.score)}）"


def renamed_note(match: RosterMatch) -> str:
    """What a report matched after normalising its name is told."""
    return f"名称与名单略有不同（名单：{match.entry.name}），按名单单位计入"


UNLISTED_NOTE = "名称不在名单中（名单中没有相近的名称）"


@dataclass(frozen=True)
class NameMismatch:
    """An included report whose agency name is not (certainly) on the roster."""

    agency: str  # as typed in the report
    file: str
    match: RosterMatch | None  # a near match proposed, or None

    @property
    def suggestion(self) -> str | None:
        return self.match.entry.name if self.match else None

    @property
    def score(self) -> float | None:
        return self.match.score if self.match else None

    @property
    def note(self) -> str:
        return near_note(self.match) if self.match else UNLISTED_NOTE


def roster_counts(result: Consolidation) -> dict[str, int]:
    """How the roster's agencies stand: submitted + pending + missing = roster (distinct names);
    ``renamed`` are submitted under a normalised name, ``unlisted`` included but off the roster."""
    roster = {r.name for r in result.roster or []}
    submitted = {e.match.entry.name for e in result.included if e.match is not None and e.match.counts}
    return {"roster": len(roster), "submitted": len(submitted), "renamed": len(result.renamed),
            "pending": len(result.pending), "missing": len(result.missing),
            "unlisted": len(result.mismatched) - len(result.pending), "duplicates": len(result.duplicates)}


def roster_line(result: Consolidation) -> str:
    """The roster check in one sentence (console, 报送情况's title line)."""
    c = roster_counts(result)
    renamed = f"（其中名称与名单略有不同 {c['renamed']}）" if c["renamed"] else ""
    return (f"名单 {c['roster']} 个单位：已报送 {c['submitted']}{renamed}，名称不符待确认 {c['pending']}，"
            f"未报送 {c['missing']}；名单外单位 {c['unlisted']}，重复报送 {c['duplicates']}")
