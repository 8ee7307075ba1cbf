"""The user cache keeps what a pure function gave, under the hash of all it depends on."""

from __future__ import annotations

from pathlib import Path

import pytest

from gkreport.core import user_cache
from gkreport.output import shared_formulas


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GKREPORT_CACHE_DIR", str(tmp_path / "cache"))
    shared_formulas.share_once.cache_clear()
    yield tmp_path / "cache"
    shared_formulas.share_once.cache_clear()


CELLS = (*tuple((f"{col}{row}", f"=IF(ISNUMBER(Sheet1!{col}{row}),Sheet1!{col}{row},0)+{col}{row + 40}") for row in range(5, 12) for col in "BCD"), ("F3", "=SUM(A1:A2)"))


def _render(values: tuple[tuple[str, object], ...]) -> list[tuple[str, object]]:
    return [(ref, (type(v).__name__, dict(v), v.text) if isinstance(v, shared_formulas.SharedFormula) else v)
            for ref, v in values]


def test_shared_formulas_from_the_cache_equal_a_fresh_grouping(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = _render(tuple(shared_formulas.share(CELLS)))
    assert _render(shared_formulas.share_once(CELLS)) == fresh
    assert len(list((cache / "shared-formulas").glob("*.pickle"))) == 1
    shared_formulas.share_once.cache_clear()
    monkeypatch.setattr(shared_formulas, "share", lambda cells: pytest.fail("grouped again"))
    assert _render(shared_formulas.share_once(CELLS)) == fresh


def test_other_cells_are_another_entry(cache: Path) -> None:
    shared_formulas.share_once(CELLS)
    other = (*CELLS[:-1], ("F3", "=SUM(A1:A3)"))
    got = shared_formulas.share_once(other)
    assert _render(got) == _render(tuple(shared_formulas.share(other)))
    assert len(list((cache / "shared-formulas").glob("*.pickle"))) == 2


def test_a_damaged_entry_is_ignored_and_rewritten(cache: Path) -> None:
    shared_formulas.share_once(CELLS)
    (entry,) = (cache / "shared-formulas").glob("*.pickle")
    good = entry.read_bytes()
    entry.write_bytes(good[:-20])
    shared_formulas.share_once.cache_clear()
    assert _render(shared_formulas.share_once(CELLS)) == _render(tuple(shared_formulas.share(CELLS)))
    assert entry.read_bytes() == good


def test_an_unwritable_cache_only_costs_speed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GKREPORT_CACHE_DIR", str(blocker / "cache"))
    user_cache.store("x", "k" * 64, {"a": 1})  # no exception
    assert user_cache.load("x", "k" * 64) is None


def test_code_signature_follows_the_files(tmp_path: Path) -> None:
    mod = tmp_path / "m.py"
    mod.write_text("x = 1\n")
    first = user_cache.code_signature(tmp_path)
    assert first == user_cache.code_signature(tmp_path)
    mod.write_text("x = 22\n")
    assert user_cache.code_signature(tmp_path) != first
    assert user_cache.code_signature(mod) != user_cache.code_signature(tmp_path / "absent.py")
    assert user_cache.digest(b"ab", b"c") != user_cache.digest(b"a", b"bc")


def test_only_the_most_recently_used_entries_are_kept(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every code edit or new version makes new keys: old entries are dropped, a used one stays."""
    import os

    monkeypatch.setattr(user_cache, "MAX_PER_KIND", 3)
    for i in range(3):
        user_cache.store("forms", f"k{i}", i)
        os.utime(cache / "forms" / f"k{i}.pickle", (1000 + i, 1000 + i))  # stored long ago, one after another
    assert user_cache.load("forms", "k0") == 0  # used again now
    user_cache.store("forms", "k3", 3)
    assert sorted(p.stem for p in (cache / "forms").iterdir()) == ["k0", "k2", "k3"]  # k1: the least recently used
    user_cache.store("forms", "k4", 4)
    assert sorted(p.stem for p in (cache / "forms").iterdir()) == ["k0", "k3", "k4"]
    user_cache.store("other", "x", 1)  # another kind is pruned on its own
    assert len(list((cache / "forms").iterdir())) == 3 and (cache / "other" / "x.pickle").exists()
