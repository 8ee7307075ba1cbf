"""Robustness corpus: every kind of bad input and environment fault, run as a user would.

``python benchmarks/robustness.py [--fast] [--markdown docs/robustness.md] [--only NAME...]``

Each case builds its inputs in a fresh folder (nothing is copied from outside the
repository), runs ``gkreport`` (check, check --mark, consolidate, import, template) in a
subprocess and records the exit code, the first line the user reads, the peak memory
of that process tree (``os.wait4``'s rusage: the largest resident set of the run and
the workers it waited for) and the time. A case fails when the exit code is not the
documented one, a traceback is printed, or its own after-check (no debris, distinct
marked copies, no orphan worker, …) finds a problem. Faults the file system cannot be
made to produce here (a full disk; a read-only folder when running as root) are
injected into the subprocess by replacing one os function before ``main`` runs.

``tests/test_robustness.py`` runs the ``fast`` subset and asserts the same.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from gkreport.core.forms import load_form
from gkreport.output.fill import write_filled
from gkreport.readers.ooxml import sheet_parts
from gkreport.xlam.cfb import Storage, Stream, write_cfb

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TIMEOUT = 120.0
LIMIT_MB, LIMIT_S = 300, 30  # what no input under 1 MB may cost (docs/robustness.md)

# ----------------------------------------------------------------------------- inputs

T2 = "表二 依申请公开"


def report(path: Path, agency: str | None = "某某县财政局", **values: object) -> Path:
    """A filled 2021 template: all zeros (a balanced report) plus ``values`` (cell id -> value)."""
    form = load_form("2021")
    cells = {cid: 0 for cid in form.cells}
    cells.update({k.replace("__", "."): v for k, v in values.items()})
    header = {"hdr.year": 2023, **({"hdr.agency": agency} if agency else {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_filled(form, path, cells, header)


def planted(path: Path, agency: str = "某某县财政局") -> Path:
    """A report with a row total that does not add up (an error finding on 表二)."""
    return report(path, agency, t2__new__person=5)


def rewrite(src: Path, dst: Path, edit: Callable[[str, bytes], bytes | None]) -> Path:
    """Copy a zip member by member through ``edit(name, data)`` (None drops the member)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
    return dst


def data_part(path: Path, title: str = T2) -> str:
    with zipfile.ZipFile(path) as zf:
        return sheet_parts(zf)[title]


def in_sheet(path: Path, dst: Path, xml: bytes, title: str = T2) -> Path:
    """``path`` with ``xml`` (rows) added at the end of ``title``'s sheetData."""
    part = data_part(path, title)
    return rewrite(path, dst, lambda n, d: d.replace(b"</sheetData>", xml + b"</sheetData>") if n == part else d)


def raw_xlsx(path: Path, sheets: dict[str, bytes], shared: bytes | None = None) -> Path:
    """A minimal workbook written part by part (for sizes openpyxl would take minutes to write)."""
    ct = ['<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument'
          '.spreadsheetml.sheet.main+xml"/>']
    rels, tags = [], []
    for i, title in enumerate(sheets, 1):
        ct.append(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.'
                  f'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
        rels.append(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>')
        tags.append(f'<sheet name="{title}" sheetId="{i}" r:id="rId{i}"/>')
    if shared is not None:
        ct.append('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                  'officedocument.spreadsheetml.sharedStrings+xml"/>')
        rels.append('<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    'relationships/sharedStrings" Target="sharedStrings.xml"/>')
    ns = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "".join(ct) + "</Types>")
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook {ns}><sheets>{"".join(tags)}</sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships">' + "".join(rels) + "</Relationships>")
        for i, body in enumerate(sheets.values(), 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", f'<?xml version="1.0"?><worksheet {ns}><sheetData>'.encode()
                       + body + b"</sheetData></worksheet>")
        if shared is not None:
            z.writestr("xl/sharedStrings.xml", shared)
    return path


LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
          + "]>")


def marked_then_edited(d: Path) -> Path:
    """A marked copy the clerk opened, edited and saved: the marks sheet made visible with a
    colour typed wrong and a row cut short, a marked cell merged with its neighbour."""
    from gkreport.markers.checking import check_file

    src = planted(d / "src" / "年报.xlsx")
    copy = check_file(src, mark_dir=d / "m1").marked
    assert copy is not None
    wb = openpyxl.load_workbook(copy)
    state = wb["_gkreport_marks"]
    state.sheet_state = "visible"
    state["C2"] = '{"fill":["solid","ZZZZZZ","nonsense"],"border":{"left":["thick-ish",7]},"comment":[5]}'
    state["A3"], state["B3"] = T2, "not-a-cell"
    state.cell(row=4, column=1, value=T2)
    state.cell(row=4, column=2, value="B2")
    wb[T2].merge_cells("B19:D19")
    edited = d / "年报.checked.xlsx"
    wb.save(edited)
    return edited


# ----------------------------------------------------------------------------- running

# Fault injection: code run in the subprocess before ``main`` (one os function replaced).
FULL_DISK = ("import errno, os\n_real = os.fsync\n"
             "def _full(fd):\n    raise OSError(errno.ENOSPC, 'No space left on device')\nos.fsync = _full\n")
READ_ONLY = ("import errno, tempfile\n"
             "def _ro(*a, **k):\n    raise PermissionError(errno.EACCES, 'Permission denied')\n"
             "tempfile.mkstemp = _ro\ntempfile.mkdtemp = _ro\n")
BUG = ("import gkreport.markers.checking as _c\n"
       "def _bug(*a, **k):\n    raise RuntimeError('planted bug')\n_c.check = _bug\n")


# Peak memory, written by the subprocess as it exits: its own high-water mark (VmHWM: the
# rusage of a child also counts the memory of the runner it was forked from) and that of
# the largest worker it waited for.
PEAK = ("import atexit, os, resource\n"
        "def _gk_peak():\n"
        "    try:\n"
        "        hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "    except Exception:\n"
        "        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "    open(os.environ['GK_PEAK'], 'w').write(str(max(hwm, kids)))\n"
        "atexit.register(_gk_peak)\n")


@dataclass
class Run:
    code: int
    out: str
    err: str
    peak_mb: float
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err

    def first_line(self) -> str:
        """What the user reads first about the problem: the first line naming an error, else the first line."""
        lines = [ln.strip() for ln in (self.err + "\n" + self.out).splitlines()
                 if ln.strip() and not ln.startswith("跳过")]
        return next((ln for ln in lines if "错误：" in ln or "无法读取" in ln), lines[0] if lines else "")


def gkreport(argv: list[object], *, inject: str = "", env: dict[str, str] | None = None,
             cwd: Path | None = None, timeout: float = TIMEOUT,
             signal_after: tuple[float, int] | None = None, on_start: Callable[[int], None] | None = None) -> Run:
    """Run ``gkreport argv`` in a subprocess; its exit code, output, peak memory and time."""
    # As the console script does: main() reads sys.argv itself.
    code = f"import sys\n{PEAK}{inject}from gkreport.commands.cli import main\nsys.argv[0] = 'gkreport'\nsys.exit(main())\n"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".peak") as peak:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code, *map(str, argv)], stdout=out, stderr=err, cwd=cwd,
                                env={**os.environ, "PYTHONIOENCODING": "utf-8", "GK_PEAK": peak.name,
                                     # a case's files may be byte-identical to another's: each run reads
                                     # them (an injected bug must be met), unless a case asks for the cache
                                     "GKREPORT_NO_CACHE": "1", **(env or {})})
        if on_start is not None:
            on_start(proc.pid)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        if signal_after is not None:
            threading.Timer(signal_after[0], lambda: _signal(proc.pid, signal_after[1])).start()
        try:
            _, status, _usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        kb = Path(peak.name).read_text() or "0"
        return Run(proc.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                   int(kb) / 1024, seconds)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def debris(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".~gk-*"))


# ----------------------------------------------------------------------------- cases


@dataclass
class Case:
    name: str  # what is wrong, in Chinese (the table's first column)
    command: str  # which command, for the table
    run: Callable[[Path], tuple[Run, str | None]]  # builds in a folder, runs; (outcome, problem)
    expect: tuple[int, ...]
    fast: bool = False
    note: str = ""


@dataclass
class Outcome:
    case: Case
    run: Run
    problem: str | None = None
    traceback: bool = False

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.traceback and self.run.code in self.case.expect


CASES: list[Case] = []


def case(name: str, command: str, expect: tuple[int, ...], *, fast: bool = False, note: str = ""):
    def register(fn: Callable[[Path], tuple[Run, str | None] | Run]) -> Callable:
        def run(d: Path) -> tuple[Run, str | None]:
            got = fn(d)
            return got if isinstance(got, tuple) else (got, None)

        CASES.append(Case(name, command, run, expect, fast, note))
        return fn
    return register


def _check(d: Path, path: Path, *extra: object) -> Run:
    return gkreport(["check", path, *extra])


def _mark(d: Path, path: Path) -> Run:
    return gkreport(["check", path, "--mark", d / "标注"])


# -- inputs: check


@case("正常的报表", "check", (0,), fast=True)
def _(d: Path) -> Run:
    return _check(d, report(d / "good.xlsx"))


@case("合计不平（有错误）", "check --mark", (1,))
def _(d: Path) -> Run:
    return _mark(d, planted(d / "bad.xlsx"))


@case("随机字节（以 PK 开头）", "check", (2,), fast=True)
def _(d: Path) -> Run:
    p = d / "corrupt.xlsx"
    p.write_bytes(b"PK\x03\x04" + random.Random(1).randbytes(4000))
    return _check(d, p)


@case("下载中断（截断一半）", "check", (2,))
def _(d: Path) -> Run:
    good = report(d / "src.xlsx")
    p = d / "truncated.xlsx"
    p.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return _check(d, p)


@case("数据部分一个字节被改（CRC 不符）", "check", (2,))
def _(d: Path) -> Run:
    good = report(d / "src.xlsx")
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo(data_part(good))
    at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    data[at] ^= 0x10
    p = d / "flipped.xlsx"
    p.write_bytes(bytes(data))
    return _check(d, p)


@case("缺少 xl/workbook.xml", "check", (2,))
def _(d: Path) -> Run:
    p = rewrite(report(d / "src.xlsx"), d / "noworkbook.xlsx", lambda n, b: None if n == "xl/workbook.xml" else b)
    return _check(d, p)


@case("缺少表二的工作表部件", "check", (2,))
def _(d: Path) -> Run:
    good = report(d / "src.xlsx")
    part = data_part(good)
    return _check(d, rewrite(good, d / "nosheet.xlsx", lambda n, b: None if n == part else b))


@case("两个工作表部件互换", "check", (0, 1, 2))
def _(d: Path) -> Run:
    good = planted(d / "src.xlsx")
    a, b = sorted(p for p in sheet_parts(zipfile.ZipFile(good)).values())[-2:]
    with zipfile.ZipFile(good) as zf:
        da, db = zf.read(a), zf.read(b)
    return _check(d, rewrite(good, d / "swapped.xlsx", lambda n, x: db if n == a else da if n == b else x))


@case("设置了打开密码（加密）", "check", (2,))
def _(d: Path) -> Run:
    p = d / "secret.xlsx"
    p.write_bytes(write_cfb(Storage("Root Entry", [Stream("EncryptionInfo", b"\x04\x00" * 40),
                                                   Stream("EncryptedPackage", b"\x00" * 5000)])))
    return _check(d, p)


@case("旧版 .xls", "check", (2,))
def _(d: Path) -> Run:
    p = d / "old.xls"
    p.write_bytes(write_cfb(Storage("Root Entry", [Stream("Workbook", b"\x09\x08" * 600)])))
    return _check(d, p)


@case("改了扩展名的 CSV", "check", (2,))
def _(d: Path) -> Run:
    p = d / "renamed.xlsx"
    p.write_text("单位,件数\n某局,5\n", encoding="utf-8")
    return _check(d, p)


@case("空文件（0 字节）", "check", (2,))
def _(d: Path) -> Run:
    p = d / "empty.xlsx"
    p.write_bytes(b"")
    return _check(d, p)


@case("压缩炸弹（60 MB 的零）", "check", (2,))
def _(d: Path) -> Run:
    p = d / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\x00" * (60 * 1024 * 1024))
    return _check(d, p)


@case("“十亿笑声”实体展开", "check", (0, 1, 2))
def _(d: Path) -> Run:
    good = report(d / "src.xlsx")
    part = data_part(good)

    def laugh(n: str, b: bytes) -> bytes:
        if n != part:
            return b
        head, _, rest = b.partition(b"?>")
        return head + b"?>" + LAUGHS.encode() + rest.replace(b"<v>0</v>", b"<v>&lol9;</v>", 1)
    return _check(d, rewrite(good, d / "laughs.xlsx", laugh))


@case("数据区域巨大（A1 到 XFD1048576）", "check", (2,), fast=True)
def _(d: Path) -> Run:
    return _check(d, in_sheet(report(d / "src.xlsx"), d / "dims.xlsx",
                              b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))


@case("5000 位的数字", "check", (2,), fast=True)
def _(d: Path) -> Run:
    good = report(d / "src.xlsx")
    part = data_part(good)
    return _check(d, rewrite(good, d / "digits.xlsx",
                             lambda n, b: b.replace(b"<v>0</v>", b"<v>" + b"9" * 5000 + b"</v>", 1) if n == part else b))


@case("5000 位数字的文字", "check", (1,))
def _(d: Path) -> Run:
    return _check(d, report(d / "text-digits.xlsx", t2__new__person="9" * 5000))


@case("巨大的共享字符串（40 MB）", "check", (2,))
def _(d: Path) -> Run:
    rng = random.Random(2)
    shared = b"<sst>" + b"".join(b"<si><t>%d</t></si>" % rng.getrandbits(60) for _ in range(1_700_000)) + b"</sst>"
    return _check(d, raw_xlsx(d / "strings.xlsx", {"表一": b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'}, shared))


@case("工作表过多（500 个）", "check", (2,))
def _(d: Path) -> Run:
    return _check(d, raw_xlsx(d / "sheets.xlsx", {f"S{i}": b"" for i in range(500)}))


@case("单元格过多（100 万个）", "check", (2,))
def _(d: Path) -> Run:
    rows = b"".join(b'<row r="%d">' % r + b"".join(b'<c r="%s%d"><v>1</v></c>' % (c, r) for c in (b"A", b"B", b"C", b"D"))
                    + b"</row>" for r in range(1, 250_001))
    return _check(d, raw_xlsx(d / "cells.xlsx", {"表一": rows}))


@case("文件夹中有被杀进程留下的临时文件", "check", (0,), fast=True)
def _(d: Path) -> Run:
    folder = d / "报表"
    report(folder / "good.xlsx")
    (folder / ".~gk-99999999-abc.xlsx").write_bytes(b"PK\x03\x04half")
    (folder / ".~gk-99999999-dir").mkdir()
    (folder / ".~gk-99999999-dir" / "plain.xlsx").write_bytes(b"PK\x03\x04half")
    (folder / "~$good.xlsx").write_bytes(b"\x00" * 165)
    return _check(d, folder)


@case("文件夹是空的", "check", (2,))
def _(d: Path) -> Run:
    (d / "空").mkdir()
    return _check(d, d / "空")


@case("文件不存在", "check", (2,))
def _(d: Path) -> Run:
    return _check(d, d / "nothing.xlsx")


@case("输入是管道（FIFO）", "check", (2,))
def _(d: Path) -> Run:
    os.mkfifo(d / "pipe.xlsx")
    return _check(d, d / "pipe.xlsx")


# -- check --mark


@case("标注的格子在合并单元格内", "check --mark", (1,), fast=True)
def _(d: Path) -> Run:
    p = planted(d / "merged.xlsx")
    wb = openpyxl.load_workbook(p)
    wb[T2].merge_cells("B19:E19")
    wb.save(p)
    return _mark(d, p)


@case("再次标注被编辑过的标注副本（颜色写错、合并）", "check --mark", (1,), fast=True)
def _(d: Path) -> Run:
    return _mark(d, marked_then_edited(d))


@case("文件名 240 字节", "check --mark", (1,), fast=True)
def _(d: Path) -> Run:
    return _mark(d, planted(d / ("年" * 78 + ".xlsx")))


@case("同名文件在不同文件夹、仅扩展名不同", "check --mark", (0, 1), fast=True)
def _(d: Path) -> tuple[Run, str | None]:
    folder = d / "报表"
    report(folder / "乡A" / "年报.xlsx", "甲乡")
    planted(folder / "乡B" / "年报.xlsx", "乙乡")
    report(folder / "a.xlsx", "丙局")
    (folder / "a.txt").write_text((REPO / "tests/fixtures/real/xiuzhou-honghe-2020.txt").read_text("utf-8"), "utf-8")
    r = gkreport(["check", folder, "--mark", d / "标注", "--mark-all"])  # clean files too: every name
    copies = sorted(str(p.relative_to(d / "标注")) for p in (d / "标注").rglob("*.xlsx"))
    want = ["a.checked.xlsx", "a.txt.checked.xlsx", "乡A/年报.checked.xlsx", "乡B/年报.checked.xlsx"]
    return r, None if copies == want else f"标注副本：{copies}"


@case("标注输出位置是一个文件", "check --mark", (2,))
def _(d: Path) -> Run:
    (d / "out").write_text("x")
    return gkreport(["check", report(d / "good.xlsx"), "--mark", d / "out"])


@case("标注副本会覆盖本次的输入", "check --mark", (2,))
def _(d: Path) -> Run:
    src = planted(d / "年报.xlsx")
    other = planted(d / "年报.checked.xlsx")  # named explicitly: an input of this run
    return gkreport(["check", src, other, "--mark", d])


@case("磁盘已满（写标注副本时）", "check --mark", (2,), note="注入：os.fsync 报 ENOSPC")
def _(d: Path) -> tuple[Run, str | None]:
    r = gkreport(["check", planted(d / "bad.xlsx"), "--mark", d / "标注"], inject=FULL_DISK)
    left = debris(d)
    return r, f"残留临时文件：{left}" if left else None


# -- consolidate


def _county(folder: Path, n: int = 4) -> Path:
    for i in range(n):
        report(folder / f"单位{i}.xlsx", f"某某县第{i}局")
    return folder


@case("汇总：正常", "consolidate", (0,))
def _(d: Path) -> Run:
    return gkreport(["consolidate", _county(d / "县"), "-o", d / "汇总.xlsx"])


@case("汇总：混入损坏、加密、锁文件", "consolidate", (2,))
def _(d: Path) -> Run:
    folder = _county(d / "县")
    (folder / "bad.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    (folder / "~$单位0.xlsx").write_bytes(b"\x00" * 165)
    (folder / "secret.xlsx").write_bytes(write_cfb(Storage("Root Entry", [Stream("EncryptionInfo", b"\x04" * 80)])))
    return gkreport(["consolidate", folder, "-o", d / "汇总.xlsx", "--jobs", "2"])


@case("汇总：两个未填单位名称的文件在不同文件夹", "consolidate", (1,), fast=True)
def _(d: Path) -> tuple[Run, str | None]:
    folder = d / "县"
    report(folder / "乡A" / "年报.xlsx", None, t2__new__person=5)
    report(folder / "乡B" / "年报.xlsx", None)
    r = gkreport(["consolidate", folder, "-o", d / "汇总.xlsx"])
    return r, None if "纳入汇总 2 个" in r.out else "两个文件没有都纳入"


@case("汇总：一个文件的基本信息表有 90 万行（其余照常）", "consolidate", (2,))
def _(d: Path) -> tuple[Run, str | None]:
    folder = _county(d / "县")
    in_sheet(report(d / "src.xlsx"), folder / "tall.xlsx", b'<row r="900000"><c r="Z900000"><v>1</v></c></row>',
             title="基本信息")
    r = gkreport(["consolidate", folder, "-o", d / "汇总.xlsx"])
    return r, None if "数据区域过大" in r.out and "纳入汇总 4 个" in r.out else "未说明或未照常汇总"


@case("读取缓存损坏（再次汇总）", "consolidate", (0,), fast=True)
def _(d: Path) -> tuple[Run, str | None]:
    cache = {"GKREPORT_CACHE_DIR": str(d / "缓存"), "GKREPORT_NO_CACHE": ""}
    folder = _county(d / "县")
    first = gkreport(["consolidate", folder, "-o", d / "汇总.xlsx"], env=cache)
    (d / "缓存" / "readings.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    r = gkreport(["consolidate", folder, "-o", d / "汇总.xlsx", "--force"], env=cache)
    same = r.out.split("汇总工作簿")[0] == first.out.split("汇总工作簿")[0]
    return r, None if same and "沿用" not in r.out else "结果与首次不同，或用了损坏的缓存"


@case("读取缓存的位置是一个管道（FIFO），再次校验文件夹", "check", (0,))
def _(d: Path) -> tuple[Run, str | None]:
    (d / "缓存").mkdir()
    os.mkfifo(d / "缓存" / "readings.sqlite3")
    r = gkreport(["check", _county(d / "县")], env={"GKREPORT_CACHE_DIR": str(d / "缓存"), "GKREPORT_NO_CACHE": ""})
    return r, None if "共 4 份：通过 4" in r.out else "未照常校验"


@case("汇总输出是管道（FIFO），加 --force", "consolidate", (2,), fast=True)
def _(d: Path) -> Run:
    os.mkfifo(d / "out.xlsx")
    return gkreport(["consolidate", _county(d / "县"), "-o", d / "out.xlsx", "--force"])


@case("汇总输出是一个文件夹", "consolidate", (2,))
def _(d: Path) -> Run:
    (d / "out.xlsx").mkdir()
    return gkreport(["consolidate", _county(d / "县"), "-o", d / "out.xlsx", "--force"])


@case("汇总输出是输入之一，加 --force", "consolidate", (2,), fast=True)
def _(d: Path) -> tuple[Run, str | None]:
    folder = _county(d / "县")
    before = (folder / "单位1.xlsx").read_bytes()
    r = gkreport(["consolidate", folder, "-o", folder / "单位1.xlsx", "--force"])
    return r, None if (folder / "单位1.xlsx").read_bytes() == before else "输入被覆盖"


@case("汇总输出扩展名 .xls / .xlsm", "consolidate", (2,))
def _(d: Path) -> Run:
    folder = _county(d / "县")
    r = gkreport(["consolidate", folder, "-o", d / "汇总.xls"])
    r2 = gkreport(["consolidate", folder, "-o", d / "汇总.xlsm"])
    return r if r.code != 2 else r2


@case("汇总输出已存在（未加 --force）", "consolidate", (2,))
def _(d: Path) -> Run:
    (d / "汇总.xlsx").write_bytes(b"keep")
    return gkreport(["consolidate", _county(d / "县"), "-o", d / "汇总.xlsx"])


@case("磁盘已满（写汇总时）", "consolidate", (2,), note="注入：os.fsync 报 ENOSPC")
def _(d: Path) -> tuple[Run, str | None]:
    r = gkreport(["consolidate", _county(d / "县"), "-o", d / "汇总.xlsx"], inject=FULL_DISK)
    left = debris(d)
    return r, f"残留临时文件：{left}" if left else None


@case("输出文件夹只读", "consolidate", (2,), note="root 运行时注入：mkstemp 报 EACCES")
def _(d: Path) -> Run:
    out = d / "只读"
    out.mkdir()
    out.chmod(0o555)
    try:
        return gkreport(["consolidate", _county(d / "县"), "-o", out / "汇总.xlsx"],
                        inject=READ_ONLY if os.geteuid() == 0 else "")
    finally:
        out.chmod(0o755)


@case("两个汇总同时写同一个输出", "consolidate ×2", (2,), note="先开始的一个正常完成（0）")
def _(d: Path) -> tuple[Run, str | None]:
    folder = _county(d / "县", 24)
    results: list[Run] = []
    threads = [threading.Thread(target=lambda: results.append(
        gkreport(["consolidate", folder, "-o", d / "汇总.xlsx", "--jobs", "1"]))) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.3)
    for t in threads:
        t.join()
    codes = sorted(r.code for r in results)
    busy = any("另一个 gkreport 正在写入" in r.err for r in results)
    loser = next((r for r in results if r.code != 0), results[-1])
    return loser, None if codes == [0, 2] and busy else f"退出码 {codes}"


@case("汇总进程被 SIGKILL 杀死", "consolidate", (-9,), note="之后：工作进程随之退出；再次 check 该文件夹不报临时文件")
def _(d: Path) -> tuple[Run, str | None]:
    folder = _county(d / "县", 120)
    kids: list[int] = []
    r = gkreport(["consolidate", folder, "-o", folder / "汇总.xlsx", "--jobs", "2"],
                 on_start=lambda pid: _when_workers(pid, signal.SIGKILL, kids))
    time.sleep(1.5)
    orphans = [k for k in kids if _alive(k)]
    for k in orphans:
        _signal(k, signal.SIGKILL)
    again = gkreport(["check", folder, "-q"])
    problems = []
    if not kids:
        problems.append("未观察到工作进程")
    if orphans:
        problems.append(f"工作进程未退出：{orphans}")
    if again.code not in (0, 1):
        problems.append(f"再次 check 退出码 {again.code}：{again.first_line()}")
    return r, "；".join(problems) or None


@case("汇总时按 Ctrl+C（SIGINT）", "consolidate", (130,))
def _(d: Path) -> tuple[Run, str | None]:
    folder = _county(d / "县", 120)
    r = gkreport(["consolidate", folder, "-o", d / "汇总.xlsx", "--jobs", "2"],
                 on_start=lambda pid: _when_workers(pid, signal.SIGINT))
    left = debris(d)
    return r, f"残留临时文件：{left}" if left else None


def _when_workers(pid: int, sig: int, found: list[int] | None = None) -> None:
    """Send ``sig`` to ``pid`` once it has started its worker processes (noting them in ``found``)."""
    def look() -> None:
        for _ in range(100):
            time.sleep(0.1)
            kids = [k for c in _children(pid) for k in [c, *_children(c)]]
            if len(kids) >= 2:
                if found is not None:
                    found.extend(kids)
                break
        _signal(pid, sig)
    threading.Thread(target=look).start()


# -- import, template, pipes, bugs


@case("导入：已发布的文本报告", "import", (0,))
def _(d: Path) -> Run:
    return gkreport(["import", REPO / "tests/fixtures/real/xiuzhou-honghe-2020.txt", "-o", d / "导入.xlsx"])


@case("导入：二进制垃圾", "import", (2,))
def _(d: Path) -> Run:
    (d / "junk.txt").write_bytes(random.Random(3).randbytes(3000))
    return gkreport(["import", d / "junk.txt", "-o", d / "导入.xlsx"])


@case("导入：输出覆盖输入", "import", (2,))
def _(d: Path) -> Run:
    p = d / "report.txt"
    p.write_text((REPO / "tests/fixtures/real/xiuzhou-honghe-2020.txt").read_text("utf-8"), "utf-8")
    return gkreport(["import", p, "-o", p, "--force"])


@case("模板输出扩展名 .xlsm", "template", (2,))
def _(d: Path) -> Run:
    return gkreport(["template", "-o", d / "t.xlsm"])


@case("输出接到 | head（管道提前关闭）", "check", (141,), fast=True)
def _(d: Path) -> tuple[Run, str | None]:
    folder = d / "报表"
    for i in range(30):
        planted(folder / f"{i}.xlsx")
    code = ("import subprocess, sys\n"
            "p = subprocess.Popen([sys.executable, '-m', 'gkreport.commands.cli', 'check', sys.argv[1]],"
            " stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
            "p.stdout.readline(); p.stdout.close(); err = p.stderr.read(); p.wait()\n"
            "sys.stderr.buffer.write(err); sys.exit(p.returncode)\n")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, timeout=TIMEOUT)
    r = Run(proc.returncode, "", proc.stderr.decode("utf-8", "replace"), 0.0, time.perf_counter() - start)
    return r, f"stderr 不为空：{r.err[:80]}" if r.err.strip() else None


@case("程序内部错误（注入的 bug）", "check", (3,), fast=True, note="注入：engine.check 抛出 RuntimeError")
def _(d: Path) -> tuple[Run, str | None]:
    log = d / "gkreport.log"
    r = gkreport(["check", report(d / "a.xlsx"), report(d / "b.xlsx")], inject=BUG, env={"GKREPORT_LOG": str(log)})
    problems = []
    if not log.is_file() or "planted bug" not in log.read_text("utf-8"):
        problems.append("日志中没有 traceback")
    if r.text.count("程序内部错误") < 2:
        problems.append("批处理没有继续处理第二个文件")
    return r, "；".join(problems) or None


READER_BUG = ("import gkreport.consolidation.consolidate_read as _c\n_real = _c.read_any\n"
              "def _bug(path, *a, **k):\n"
              "    if 'bug' in str(path):\n        raise RuntimeError('planted bug')\n"
              "    return _real(path, *a, **k)\n_c.read_any = _bug\n")


@case("汇总：读取某个文件时程序内部错误（注入的 bug）", "consolidate", (3,),
      note="注入：读取 bug.xlsx 时抛出 RuntimeError；汇总表照常写出")
def _(d: Path) -> tuple[Run, str | None]:
    folder = _county(d / "县")
    report(folder / "bug.xlsx", "某某县漏洞局")
    log = d / "gkreport.log"
    r = gkreport(["consolidate", folder, "-o", d / "汇总.xlsx", "--jobs", "1"], inject=READER_BUG,
                 env={"GKREPORT_LOG": str(log)})
    problems = []
    if not (d / "汇总.xlsx").is_file() or "纳入汇总 4 个" not in r.out:
        problems.append("其余文件没有照常汇总")
    if not log.is_file() or "planted bug" not in log.read_text("utf-8"):
        problems.append("日志中没有 traceback")
    return r, "；".join(problems) or None


@case("命令用法错误", "check", (2,))
def _(d: Path) -> Run:
    return gkreport(["check", "--no-such-option"])


# ----------------------------------------------------------------------------- report


def run_case(c: Case) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="gk-robust-") as tmp:
        try:
            r, problem = c.run(Path(tmp))
        except Exception as e:  # the corpus itself failed: report it as this case's problem
            return Outcome(c, Run(-1, "", "", 0.0, 0.0), f"用例本身出错：{type(e).__name__}: {e}")
    tb = "Traceback (most recent call last)" in r.text
    return Outcome(c, r, problem, tb)


def run_all(fast: bool = False, only: list[str] | None = None) -> list[Outcome]:
    chosen = [c for c in CASES if (not fast or c.fast) and (not only or any(o in c.name for o in only))]
    return [run_case(c) for c in chosen]


def _cell(text: str) -> str:
    text = re.sub(r"/tmp/gk-robust-[^/\s]+/", "", text)  # the case's scratch folder
    return text.replace("|", "\\|").replace("\n", " ")[:110]


def markdown(outcomes: list[Outcome]) -> str:
    ok = sum(o.ok for o in outcomes)
    lines = [
        "# 健壮性：每一种坏输入和环境故障 / Robustness corpus",
        "",
        "由 `python benchmarks/robustness.py --markdown docs/robustness.md` 生成：每种情形在临时文件夹中构造输入，"
        "以子进程运行命令，记录退出码、用户看到的第一行、峰值内存（该进程及其工作进程中最大的常驻内存）和用时。"
        "`tests/test_robustness.py` 运行其中标 ★ 的快速子集并断言同样的结果。",
        "",
        "退出码（唯一定义见 `src/gkreport/core/exits.py`）：0 = 无错误；1 = 发现错误；2 = 文件无法读取或写入、命令有误；"
        "3 = 程序内部错误（traceback 写入日志，屏幕上只有一行中文提示）；130 = Ctrl+C；141 = 输出管道提前关闭（不提示）。"
        f"任何输入都不应超过 {LIMIT_MB} MB 内存或 {LIMIT_S} 秒。",
        "",
        f"结果：{ok}/{len(outcomes)} 种情形符合预期；无 traceback：{'是' if not any(o.traceback for o in outcomes) else '否'}。",
        "",
        "| 情形 | 命令 | 退出码（预期） | 用户看到的第一行 | 峰值内存 MB | 用时 s | 结果 |",
        "|---|---|---|---|---:|---:|---|",
    ]
    for o in outcomes:
        r = o.run
        verdict = "✓" if o.ok else "✗ " + (o.problem or ("traceback" if o.traceback else "退出码不符"))
        note = f"（{o.case.note}）" if o.case.note else ""
        star = " ★" if o.case.fast else ""
        expect = "/".join(str(c) for c in o.case.expect)
        lines.append(f"| {_cell(o.case.name)}{star}{note} | `{o.case.command}` | {r.code}（{expect}） | "
                     f"{_cell(r.first_line())} | {r.peak_mb:.0f} | {r.seconds:.1f} | {_cell(verdict)} |")
    import platform

    lines += ["", f"环境：Python {platform.python_version()}，{platform.system()} {platform.machine()}，"
              f"{os.cpu_count()} 核。子进程启动（导入 openpyxl 等）约占每行用时的 0.5–1 秒。", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="only the quick subset (what the test runs)")
    ap.add_argument("--only", nargs="*", help="cases whose name contains one of these")
    ap.add_argument("--markdown", type=Path, help="write the table to this file")
    args = ap.parse_args(argv)
    outcomes = []
    for c in [c for c in CASES if (not args.fast or c.fast) and (not args.only or any(o in c.name for o in args.only))]:
        o = run_case(c)
        outcomes.append(o)
        mark = "ok " if o.ok else "BAD"
        print(f"{mark} {o.run.code:>4} {o.run.peak_mb:6.0f} MB {o.run.seconds:5.1f} s  {c.name}: "
              f"{o.problem or o.run.first_line()[:90]}", flush=True)
    if args.markdown:
        args.markdown.write_text(markdown(outcomes), encoding="utf-8")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["CASES", "Case", "Outcome", "gkreport", "run_all", "run_case"]
