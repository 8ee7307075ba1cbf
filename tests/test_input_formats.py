"""The input formats are listed twice: what the importer reads and what a folder scan picks up.

``readers/published.SUPPORTED`` decides which files ``import``/``check`` can read;
``readers/inputs.READABLE_SUFFIXES`` decides which files of a folder ``check`` and
``consolidate`` take. A format added to one and not the other would be readable by name but
silently skipped in a folder (or taken and then refused): docs/architecture.md's recipe
"add an input format" names both, and this test keeps them equal.
"""

from __future__ import annotations

from pathlib import Path

from gkreport.readers.inputs import READABLE_SUFFIXES, collect_files
from gkreport.readers.published import SUPPORTED


def test_folder_scan_and_importer_know_the_same_suffixes() -> None:
    assert sorted(READABLE_SUFFIXES) == sorted(SUPPORTED)
    assert all(s == s.lower() and s.startswith(".") for s in SUPPORTED)


def test_a_folder_takes_one_file_of_every_supported_format(tmp_path: Path) -> None:
    """The scan takes a file of each format by its suffix (any case) and skips the rest."""
    for suffix in SUPPORTED:
        (tmp_path / f"report{suffix.upper()}").write_bytes(b"x")
    (tmp_path / "scan.pdf").write_bytes(b"%PDF")
    files, skipped = collect_files([tmp_path])
    assert sorted(p.suffix.lower() for p in files) == sorted(SUPPORTED)
    assert [p.name for p, _ in skipped] == ["scan.pdf"]
