"""Normalising printed labels so that published variants match the official text.

Published reports differ from the official labels in spaces and line breaks inside
labels, half- vs full-width brackets and punctuation, and provincial word variants
(商业机构 for 商业企业, ...). The word variants are data (``synonyms`` in
rules/*.json); the character-level normalisation is here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import cache

_SPACE = re.compile(r"[\s\u3000\u00a0\u200b]+")
_PUNCT = str.maketrans({
    "(": "（", ")": "）", ",": "，", ":": "：", ";": "；", '"': "“",
    "”": "“", "「": "“", "」": "“", "、": "、", ".": ".", "．": ".",
})


def normalize(text: str) -> str:
    """Canonical form for comparing labels: no whitespace, full-width brackets.

    NFKC first folds full-width letters/digits and the ideographic space, then the
    brackets and commas are mapped back to the full-width forms the official text uses.
    """
    s = unicodedata.normalize("NFKC", str(text))
    s = _SPACE.sub("", s)
    return s.translate(_PUNCT)


@cache
def _compiled(synonyms: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[str, str]]:
    pairs = [(normalize(v), normalize(k)) for k, vs in synonyms for v in vs]
    return sorted(pairs, key=lambda p: -len(p[0]))


def canonical(text: str, synonyms: Mapping[str, Sequence[str]]) -> str:
    """``normalize`` plus the form's word variants mapped to the official words."""
    s = normalize(text)
    key = tuple((k, tuple(v)) for k, v in sorted(synonyms.items()))
    for variant, official in _compiled(key):
        if official in variant:
            # "其他组织" for "其他": only a whole label, or "法人或其他组织" would change too
            if s == variant:
                return official
        elif variant in s and official not in s:
            s = s.replace(variant, official)
    return s
