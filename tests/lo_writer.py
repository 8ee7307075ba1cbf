"""LibreOffice Writer for the tests of .docx outputs (publication, notices)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import soffice


def writer_available(exe: str) -> bool:
    """A LibreOffice install may have Calc without Writer (Debian's libreoffice-calc)."""
    program = Path(exe).resolve().parent
    if program.name != "program":
        return True  # an unusual layout: let the conversion itself tell
    return any(program.glob("libswlo.*")) or any(program.glob("swlo.*"))


def lo_writer_convert(src: Path, outdir: Path, fmt: str = "pdf") -> Path:
    """Convert a .docx with LibreOffice Writer (skipped where Writer is absent); ``fmt``
    ``docx`` re-saves the document as LibreOffice writes it."""
    exe = soffice()
    if exe is None or not writer_available(exe):
        pytest.skip("LibreOffice Writer is not installed (apt-get install libreoffice-writer)")
    outdir.mkdir(parents=True, exist_ok=True)
    profile = outdir / "lo-profile"
    target = "docx:MS Word 2007 XML" if fmt == "docx" else fmt
    subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", target,
                    "--outdir", str(outdir), str(src)], check=True, capture_output=True, timeout=180)
    out = outdir / f"{src.stem}.{fmt}"
    assert out.exists(), f"LibreOffice did not write {out}"
    return out


def lo_pdf(src: Path, outdir: Path) -> Path:
    return lo_writer_convert(src, outdir, "pdf")
