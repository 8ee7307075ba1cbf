"""Which files a command reads: folders searched, lock files and stray files skipped with a reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from gkreport.markers.checking import MARK_SUFFIX
from gkreport.output.outputs import is_temp_name
from gkreport.readers import is_lock_file
from gkreport.readers.files import INPUT_SUFFIXES

READABLE_SUFFIXES = INPUT_SUFFIXES
# Office formats a report may well arrive in but gkreport cannot read: inside a folder they are
# tried all the same, so the reader says which format it is and how to save it as one it reads,
# and the file counts as unreadable (exit code 2) instead of vanishing as "not a report".
OFFICE_SUFFIXES = (".xls", ".xlsb", ".xlt", ".xltx", ".xltm", ".ods", ".fods", ".et", ".ett",
                   ".numbers", ".doc", ".wps", ".odt", ".rtf")
# Documents gkreport writes (notices.py): a --notices folder inside the reports' folder must
# not come back as unreadable "reports" at the next run.
NOTICE_SUFFIX = "退回修改通知.docx"
CHASE_NAME = "催报清单.docx"


def is_own_document(p: Path) -> bool:
    """A return notice or chase list written by ``--notices``."""
    return p.name.endswith("-" + NOTICE_SUFFIX) or p.name == CHASE_NAME


def collect_files(paths: Sequence[Path],
                  exclude: Mapping[Path, str] | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to read (folders searched recursively) and files skipped with the reason.

    A file named explicitly is always tried (the reader says what is wrong with it);
    inside folders only report-like extensions are taken, so stray PDFs are not noise.
    ``exclude`` maps files that are not reports although they may lie among them (this
    run's output, the roster) to the reason shown for skipping them.
    """
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    excluded = {Path(p).resolve(): why for p, why in (exclude or {}).items()}

    def add(p: Path, explicit: bool) -> None:
        key = p.resolve()
        if key in seen:
            return
        seen.add(key)
        if key in excluded:
            skipped.append((p, excluded[key]))
        elif is_lock_file(p):
            skipped.append((p, "Excel 打开文件时生成的临时锁文件（~$ 开头），不是报表，已跳过"))
        elif not explicit and p.stem.endswith(MARK_SUFFIX):  # `check --mark` output: the same report again
            skipped.append((p, "本工具生成的标注副本（.checked.xlsx），已跳过"))
        elif not explicit and is_own_document(p):
            skipped.append((p, "本工具生成的退回修改通知或催报清单，不是报表，已跳过"))
        elif not explicit and p.suffix.lower() == ".pdf":
            skipped.append((p, "PDF 文件无法读取，已跳过；如是报表，请另存为 Word（.docx）或文本（.txt）后再试"))
        elif not explicit and p.suffix.lower() not in READABLE_SUFFIXES + OFFICE_SUFFIXES:
            skipped.append((p, f"不是本工具能读取的文件类型（{p.suffix or '无扩展名'}），已跳过"))
        else:
            files.append(p)

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for child in sorted(q for q in p.rglob("*") if q.is_file()):
                if any(is_temp_name(part) for part in child.relative_to(p).parts):
                    continue  # our own temporary or lock files, and scratch folders, of this or a killed run
                add(child, explicit=False)
        elif p.exists() or is_lock_file(p):
            add(p, explicit=True)
        else:
            skipped.append((p, "文件不存在"))
    return files, skipped
