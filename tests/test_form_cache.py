"""Built forms come from the user's cache only when they are exactly what a build would give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gkreport.core import form_cache, form_parse, forms
from gkreport.core.overlay import RULES_ENV


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GKREPORT_CACHE_DIR", str(tmp_path / "cache"))
    forms.reset()
    yield tmp_path / "cache"
    forms.reset()


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "forms").glob("*.pickle"))


def test_a_cached_form_equals_the_built_one_and_skips_the_build(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = forms.load_form("2021")
    assert len(_entries(cache)) == 1
    forms.reset()

    def no_build(*a: object, **k: object) -> None:
        raise AssertionError("built again")

    monkeypatch.setattr(form_parse, "parse_form", no_build)
    cached = forms.load_form("2021")
    assert cached is not built and cached == built
    assert list(cached.cells) == list(built.cells) and cached.rules == built.rules


@pytest.mark.parametrize("damage", ["truncated", "other key", "garbage", "empty"])
def test_a_damaged_entry_is_rebuilt_not_used(cache: Path, damage: str) -> None:
    built = forms.load_form("2019")
    (entry,) = _entries(cache)
    data = entry.read_bytes()
    entry.write_bytes({"truncated": data[: len(data) // 2], "other key": data.replace(entry.stem.encode(), b"0" * 64),
                       "garbage": data[:120] + b"\x80\x05not a pickle", "empty": b""}[damage])
    forms.reset()
    again = forms.load_form("2019")
    assert again == built
    assert entry.read_bytes() == data  # rewritten whole


def test_without_the_validation_stamp_the_form_is_validated_and_built_again(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forms.load_form("2021")
    for stamp in (cache / "validated").glob("*.ok"):
        stamp.unlink()
    forms.reset()
    calls: list[str] = []
    real = form_parse.parse_form

    def counting(*a: object, **k: object) -> forms.Form:
        calls.append("built")
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(form_parse, "parse_form", counting)
    forms.load_form("2021")
    assert calls == ["built"]


def test_the_key_changes_with_code_files_overlays_and_available_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    path = forms.rules_dir() / "form-2021.json"
    data = path.read_bytes()
    avail = [("2019", forms.rules_dir() / "form-2019.json"), ("2021", path)]
    base = form_cache.form_key("2021", path, data, [], avail)
    assert base == form_cache.form_key("2021", path, data, [], avail)
    assert base != form_cache.form_key("2021", path, data + b" ", [], avail)
    assert base != form_cache.form_key("2021", path, data, [(Path("overlay-2021.json"), b"{}")], avail)
    assert base != form_cache.form_key("2021", path, data, [], avail[1:])
    assert base != form_cache.form_key("2021", Path("/elsewhere/form-2021.json"), data, [], avail)
    monkeypatch.setattr(form_cache, "_code", lambda: b"other code")
    assert base != form_cache.form_key("2021", path, data, [], avail)


def test_an_edited_overlay_is_seen_at_once(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    ov = folder / "overlay-2021.json"

    def write(severity: str) -> None:
        ov.write_text(json.dumps({"form": "2021", "severity": {"T3-group-total": severity}}), encoding="utf-8")
        os.utime(ov, ns=(1, 1))  # the same size and time: only the bytes differ

    rule = next(r for r in forms.load_form("2021").rules if r.id == "T3-group-total")
    other = "warning" if rule.severity == "error" else "error"
    monkeypatch.setenv(RULES_ENV, str(folder))
    write(other)
    forms.reset()
    assert next(r for r in forms.load_form("2021").rules if r.id == "T3-group-total").severity == other
    write(rule.severity)
    forms.reset()
    assert next(r for r in forms.load_form("2021").rules if r.id == "T3-group-total").severity == rule.severity


def test_a_fresh_process_reads_the_cache(cache: Path) -> None:
    """What a second command start does: no build, the same form."""
    code = ("import gkreport.core.form_parse as p, gkreport.core.forms as f\n"
            "p.parse_form = None\n"  # any build would fail
            "print(len(f.load_form('2021').cells), len(f.load_form('2019').cells))")
    env = {**os.environ, "GKREPORT_CACHE_DIR": str(cache)}
    env.pop(RULES_ENV, None)
    first = subprocess.run([sys.executable, "-c", code.replace("p.parse_form = None\n", "")], env=env,
                           capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert first.stdout == second.stdout
    assert len(_entries(cache)) == 2
