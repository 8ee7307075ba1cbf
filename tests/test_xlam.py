"""Tests for building the gkreport Excel add-in without Excel (gkreport.xlam)."""

from __future__ import annotations

import importlib
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import olefile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oletools.olevba import VBA_Parser, decompress_stream

import gkreport
from gkreport.xlam import AddinError, build_xlam, install_addin
from gkreport.xlam import install as install_mod
from gkreport.xlam.build import RIBBON_MODULE, addin_source_dir, built_version, stamp_ribbon_source, template_path
from gkreport.xlam.cfb import Storage, Stream, read_cfb, write_cfb
from gkreport.xlam.ovba import OvbaError, compress, decompress
from gkreport.xlam.vbaproject import (
    ModuleChange,
    VbaProjectError,
    _parse_dir,
    _serialize_dir,
    find_ribbon_module,
    list_modules,
    rewrite_project,
)

ENTRY_POINTS = {
    "GK_NewForm": "new_form",
    "GK_Check": "check_active",
    "GK_ClearMarks": "clear_marks",
    "GK_NextProblem": "next_problem",
    "GK_Consolidate": "consolidate_folder",
    "GK_Help": "show_help",
}
CUSTOMUI_NS = "{http://schemas.microsoft.com/office/2006/01/customui}"
ADDIN_DIR = Path(__file__).resolve().parents[1] / "addin"
XLWINGS_MODULES = ("ThisWorkbook", "Dictionary", "Sheet2", "xlwings")


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


def _template_vba() -> bytes:
    with zipfile.ZipFile(template_path()) as z:
        return z.read("xl/vbaProject.bin")


def _vba_of(xlam: Path) -> bytes:
    with zipfile.ZipFile(xlam) as z:
        return z.read("xl/vbaProject.bin")


def _olevba_modules(vba_bin: bytes) -> dict[str, str]:
    parser = VBA_Parser("vbaProject.bin", data=vba_bin)
    try:
        return {Path(vba_filename).stem: code for _, _, vba_filename, code in parser.extract_macros()}
    finally:
        parser.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_xlam(tmp_path_factory.mktemp("dist") / "gkreport.xlam")


# --- MS-OVBA compression -------------------------------------------------

# Worked example of MS-OVBA 3.2.3.
SPEC_COMPRESSED = bytes.fromhex(
    "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 30"
    " 6D 6E 6F 70 06 71 02 70 04 10 72 73 74 75 76 10 77 78 79 7A 00 3C"
)
SPEC_PLAIN = b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"


def test_ovba_decompresses_spec_example() -> None:
    assert decompress(SPEC_COMPRESSED) == SPEC_PLAIN
    assert bytes(decompress_stream(bytearray(SPEC_COMPRESSED))) == SPEC_PLAIN


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a",
        b"abc",
        SPEC_PLAIN,
        b"a" * 5000,
        bytes(range(256)) * 40,
        os.urandom(4096),
        os.urandom(3000) + b"x" * 3000,
        os.urandom(9000),
    ],
    ids=["empty", "1", "3", "spec", "run", "cycle", "random-4096", "mixed", "random-9000"],
)
def test_ovba_round_trip_against_oletools(data: bytes) -> None:
    packed = compress(data)
    assert decompress(packed) == data
    assert bytes(decompress_stream(bytearray(packed))) == data


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=10000),
        st.lists(st.sampled_from([b"a", b"b", b"Sub ", b"End Sub\r\n", b"\x00"]), max_size=3000).map(
            b"".join
        ),
    )
)
def test_ovba_round_trip_random(data: bytes) -> None:
    packed = compress(data)
    assert bytes(decompress_stream(bytearray(packed))) == data
    assert decompress(packed) == data


def test_ovba_compresses_vba_source_and_chunks_are_compressed() -> None:
    source = (ADDIN_DIR / "gkreport_ribbon.bas").read_bytes() * 20
    packed = compress(source)
    assert len(packed) < len(source) // 2
    assert decompress(packed) == source


def test_ovba_decompresses_every_template_container() -> None:
    root = read_cfb(_template_vba())
    dir_data = root.find("VBA/dir")
    assert isinstance(dir_data, Stream)
    assert decompress(dir_data.data) == bytes(decompress_stream(bytearray(dir_data.data)))


@pytest.mark.parametrize("bad", [b"", b"\x02\x00\x00", b"\x01\xff\x0f"])
def test_ovba_rejects_malformed(bad: bytes) -> None:
    with pytest.raises(OvbaError):
        decompress(bad)


# --- Compound File Binary ------------------------------------------------


def _read_all(data: bytes) -> dict[str, bytes]:
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        return {"/".join(p): ole.openstream(p).read() for p in ole.listdir(streams=True, storages=False)}
    finally:
        ole.close()


def _storages(data: bytes) -> set[str]:
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        return {"/".join(p) for p in ole.listdir(streams=False, storages=True)}
    finally:
        ole.close()


def test_cfb_round_trip_nested_and_cutoff_sizes() -> None:
    sizes = [0, 1, 63, 64, 65, 511, 512, 513, 4095, 4096, 4097, 20000]
    streams = {f"s{size}": os.urandom(size) for size in sizes}
    root = Storage(
        "Root Entry",
        [Stream(name, data) for name, data in streams.items()]
        + [
            Storage(
                "Outer",
                [
                    Stream("empty", b""),
                    Stream("small", b"hello"),
                    Storage("Inner", [Stream("big", b"x" * 5000), Stream("tiny", b"y")]),
                    Storage("EmptyStorage"),
                ],
                clsid=bytes(range(16)),
            )
        ],
    )
    data = write_cfb(root)
    assert len(data) % 512 == 0
    found = _read_all(data)
    expected = {**streams, "Outer/empty": b"", "Outer/small": b"hello", "Outer/Inner/big": b"x" * 5000}
    expected["Outer/Inner/tiny"] = b"y"
    assert found == expected
    assert {"Outer", "Outer/Inner", "Outer/EmptyStorage"} <= _storages(data)
    back = read_cfb(data)
    outer = back.find("Outer")
    assert isinstance(outer, Storage) and outer.clsid == bytes(range(16))
    assert write_cfb(back) == data  # deterministic


def test_cfb_many_streams_and_unicode_names() -> None:
    names = [f"stream{i:03d}" for i in range(300)] + ["年报", "_VBA_PROJECT", "__SRP_0"]
    root = Storage("Root Entry", [Stream(n, n.encode() * (i % 70)) for i, n in enumerate(names)])
    data = write_cfb(root)
    found = _read_all(data)
    assert found == {n: n.encode() * (i % 70) for i, n in enumerate(names)}


def test_cfb_sibling_tree_is_a_search_tree() -> None:
    root = Storage("Root Entry", [Stream(f"n{'x' * (i % 7)}{i}", b"") for i in range(50)])
    ole = olefile.OleFileIO(io.BytesIO(write_cfb(root)))
    try:
        entries = ole.direntries
        order: list[str] = []

        def walk(sid: int) -> None:
            if sid == olefile.NOSTREAM:
                return
            entry = entries[sid]
            walk(entry.sid_left)
            order.append(entry.name)
            walk(entry.sid_right)

        walk(entries[0].sid_child)
        keys = [(len(n), n.upper()) for n in order]
        assert keys == sorted(keys) and len(order) == 50
    finally:
        ole.close()


def test_cfb_difat_for_large_files() -> None:
    # > 109 FAT sectors (about 7 MB) forces DIFAT sectors.
    big = os.urandom(1024) * 7500
    data = write_cfb(Storage("Root Entry", [Stream("big", big), Stream("small", b"s")]))
    assert struct.unpack_from("<I", data, 72)[0] >= 1  # number of DIFAT sectors
    assert _read_all(data) == {"big": big, "small": b"s"}


def test_cfb_round_trips_template_vba_project() -> None:
    original = _template_vba()
    assert _read_all(write_cfb(read_cfb(original))) == _read_all(original)


# --- vbaProject.bin rewriting ---------------------------------------------


def test_dir_stream_parse_is_lossless() -> None:
    root = read_cfb(_template_vba())
    raw = root.find("VBA/dir")
    assert isinstance(raw, Stream)
    plain = decompress(raw.data)
    assert _serialize_dir(_parse_dir(plain)) == plain


def test_template_ribbon_module_is_found() -> None:
    assert find_ribbon_module(_template_vba()) == "RibbonMyAddin"


def test_rewrite_project_replaces_only_the_ribbon_module() -> None:
    template = _template_vba()
    ours = (ADDIN_DIR / "gkreport_ribbon.bas").read_text("ascii")
    # Add a fake __SRP_ cache stream to check it is dropped.
    tree = read_cfb(template)
    vba = tree.find("VBA")
    assert isinstance(vba, Storage)
    vba.children.append(Stream("__SRP_0", b"cache"))
    new = rewrite_project(write_cfb(tree), {"RibbonMyAddin": ModuleChange(ours, RIBBON_MODULE)})

    modules = {m.name: m for m in list_modules(new)}
    assert set(modules) == {"ThisWorkbook", "Dictionary", RIBBON_MODULE, "Sheet2", "xlwings"}
    assert modules[RIBBON_MODULE].offset == 0
    assert modules[RIBBON_MODULE].procedural
    assert _normalise(modules[RIBBON_MODULE].source) == _normalise(ours)
    assert "\r\n" in modules[RIBBON_MODULE].source

    old_streams, new_streams = _read_all(template), _read_all(new)
    for name in XLWINGS_MODULES:
        assert new_streams[f"VBA/{name}"] == old_streams[f"VBA/{name}"]
    assert "VBA/RibbonMyAddin" not in new_streams and "VBA/__SRP_0" not in new_streams
    header = new_streams["VBA/_VBA_PROJECT"]
    assert len(header) == 7 and header[:4] == b"\xcc\x61\xff\xff"
    project = new_streams["PROJECT"].decode("cp1252")
    assert f"Module={RIBBON_MODULE}\r\n" in project and "RibbonMyAddin" not in project
    assert RIBBON_MODULE.encode("utf-16-le") in new_streams["PROJECTwm"]


def test_rewrite_project_rejects_mismatched_vb_name() -> None:
    with pytest.raises(VbaProjectError):
        rewrite_project(
            _template_vba(),
            {
                "RibbonMyAddin": ModuleChange(
                    'Attribute VB_Name = "Other"\nSub X()\nEnd Sub\n', "GKReportRibbon"
                )
            },
        )


def test_rewrite_project_rejects_unknown_module() -> None:
    with pytest.raises(VbaProjectError):
        rewrite_project(_template_vba(), {"NoSuchModule": ModuleChange("Sub X()\nEnd Sub\n")})


# --- Sources ---------------------------------------------------------------


def _bas_subs(text: str) -> dict[str, str]:
    """Map each ribbon callback Sub to the body text up to its End Sub."""
    pattern = re.compile(
        r"^Sub (\w+)\(control As IRibbonControl\)\s*$(.*?)^End Sub", re.MULTILINE | re.DOTALL
    )
    return {m.group(1): m.group(2) for m in pattern.finditer(text)}


def test_bas_is_ascii_and_named() -> None:
    raw = (ADDIN_DIR / "gkreport_ribbon.bas").read_bytes()
    raw.decode("ascii")
    assert raw.splitlines()[0] == b'Attribute VB_Name = "GKReportRibbon"'


def test_every_on_action_has_a_callback_sub() -> None:
    ui = ET.parse(ADDIN_DIR / "customUI.xml").getroot()
    actions = [b.get("onAction") for b in ui.iter(f"{CUSTOMUI_NS}button")]
    subs = _bas_subs((ADDIN_DIR / "gkreport_ribbon.bas").read_text("ascii"))
    assert sorted(actions) == sorted(ENTRY_POINTS) == sorted(subs)


def test_ribbon_layout() -> None:
    ui = ET.parse(ADDIN_DIR / "customUI.xml").getroot()
    tab = ui.find(f"{CUSTOMUI_NS}ribbon/{CUSTOMUI_NS}tabs/{CUSTOMUI_NS}tab")
    assert tab is not None and tab.get("id") == "gkreportTab" and tab.get("label") == "政务公开年报"
    groups = {
        g.get("label"): [b.get("label") for b in g.iter(f"{CUSTOMUI_NS}button")]
        for g in tab.iter(f"{CUSTOMUI_NS}group")
    }
    assert groups == {
        "填报": ["新建填报表"],  # one button: the form is chosen by the report year
        "校验": ["校验", "清除标记", "跳到下一个问题"],
        "汇总": ["汇总"],
        "帮助": ["设置/帮助"],
    }
    for button in tab.iter(f"{CUSTOMUI_NS}button"):
        assert button.get("imageMso") and button.get("screentip") and button.get("supertip")
        assert button.get("size") == "large"


NEEDS_WORKBOOK = {"check_active", "clear_marks", "next_problem"}


def test_each_sub_runs_its_entry_point() -> None:
    subs = _bas_subs((ADDIN_DIR / "gkreport_ribbon.bas").read_text("ascii"))
    for sub, fn in ENTRY_POINTS.items():
        calls = re.findall(r'^\s*(\w+) "(\w+)", (True|False)\s*$', subs[sub], re.MULTILINE)
        assert calls == [("GKRun", fn, str(fn in NEEDS_WORKBOOK))], sub


def test_entry_points_exist_in_gkreport_excel() -> None:
    # Fails until gkreport/excel.py (written separately) defines the entry points.
    excel = importlib.import_module("gkreport.addin.excel")
    missing = [fn for fn in ENTRY_POINTS.values() if not callable(getattr(excel, fn, None))]
    assert not missing


def test_addin_source_dir_is_repo_addin() -> None:
    assert addin_source_dir() == ADDIN_DIR


# --- The built add-in -----------------------------------------------------


def test_built_xlam_is_a_valid_package(built: Path) -> None:
    with zipfile.ZipFile(built) as z:
        assert z.testzip() is None
        names = z.namelist()
        assert names[0] == "[Content_Types].xml"
        types = ET.fromstring(z.read("[Content_Types].xml"))
        rels = ET.fromstring(z.read("_rels/.rels"))
        for part in names:
            if part.endswith((".xml", ".rels")):
                ET.fromstring(z.read(part))
        ui = ET.fromstring(z.read("customUI/customUI.xml"))
        assert ui.tag == f"{CUSTOMUI_NS}customUI"
        assert ui.find(f".//{CUSTOMUI_NS}tab").get("label") == "政务公开年报"
        workbook = z.read("xl/workbook.xml").decode()
        assert 'name="_gkreport.conf"' in workbook
        with zipfile.ZipFile(template_path()) as t:
            assert sorted(t.namelist()) == sorted(names)
            assert z.read("[Content_Types].xml") == t.read("[Content_Types].xml")
            assert z.read("_rels/.rels") == t.read("_rels/.rels")
    targets = {r.get("Target"): r.get("Type") for r in rels}
    assert targets["customUI/customUI.xml"].endswith("/relationships/ui/extensibility")
    overrides = {o.get("PartName"): o.get("ContentType") for o in types}
    assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.addin.macroEnabled.main+xml"
    assert overrides["/xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"


def test_built_xlam_olevba_extracts_our_module(built: Path) -> None:
    modules = _olevba_modules(_vba_of(built))
    ours = stamp_ribbon_source((ADDIN_DIR / "gkreport_ribbon.bas").read_text("ascii"))
    assert _normalise(modules[RIBBON_MODULE]) == _normalise(ours)
    assert set(XLWINGS_MODULES) <= set(modules)
    assert "RibbonMyAddin" not in modules
    assert "Public Function RunPython(" in modules["xlwings"]
    template = _olevba_modules(_template_vba())
    for name in ("ThisWorkbook", "Dictionary", "Sheet2"):
        assert modules[name] == template[name]


def test_built_xlwings_module_only_changes_project_name(built: Path) -> None:
    new = {m.name: m.source for m in list_modules(_vba_of(built))}["xlwings"]
    old = {m.name: m.source for m in list_modules(_template_vba())}["xlwings"]
    diff = [(a, b) for a, b in zip(old.splitlines(True), new.splitlines(True), strict=True) if a != b]
    assert diff == [
        (
            'Public Const PROJECT_NAME As String = "myaddin"\n',
            'Public Const PROJECT_NAME As String = "gkreport"\n',
        )
    ]


def test_built_project_is_renamed_and_purged(built: Path) -> None:
    streams = _read_all(_vba_of(built))
    assert 'Name="GKReport"' in streams["PROJECT"].decode("cp1252")
    assert streams["VBA/_VBA_PROJECT"][2:4] == b"\xff\xff"
    assert not any(name.upper().startswith("VBA/__SRP_") for name in streams)


def test_build_is_atomic_and_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "gkreport.xlam"
    out.parent.mkdir()
    out.write_bytes(b"old")
    assert build_xlam(out) == out
    assert zipfile.is_zipfile(out)
    assert [p.name for p in out.parent.iterdir()] == ["gkreport.xlam"]
    first = out.read_bytes()
    build_xlam(out)
    assert out.read_bytes() == first  # reproducible


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_imports_the_vba_modules(built: Path, tmp_path: Path) -> None:
    # LibreOffice only exports the VBA project it managed to import (dir stream,
    # module streams, compression), so its output proves the project is readable
    # by an independent implementation that is stricter than olevba.
    outdir = tmp_path / "out"
    profile = (tmp_path / "lo-profile").as_uri()
    filt = "Calc MS Excel 2007 VBA XML"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            f"--infilter={filt}",
            "--convert-to",
            f"xlsm:{filt}",
            "--outdir",
            str(outdir),
            str(built),
        ],
        check=True,
        timeout=180,
        capture_output=True,
    )
    converted = outdir / "gkreport.xlsm"
    assert converted.is_file()
    modules = _olevba_modules(_vba_of(converted))
    assert RIBBON_MODULE in modules
    assert sorted(_bas_subs(modules[RIBBON_MODULE])) == sorted(ENTRY_POINTS)
    assert 'GKRun "consolidate_folder", False' in modules[RIBBON_MODULE]
    assert "Public Function GKText(" in modules[RIBBON_MODULE]
    assert f'GKREPORT_VERSION As String = "{gkreport.__version__}"' in modules[RIBBON_MODULE]
    assert 'PROJECT_NAME As String = "gkreport"' in modules["xlwings"]
    assert "Public Function RunPython(" in modules["xlwings"]


# --- Install ---------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux behaviour")
def test_install_on_linux_explains_in_chinese(built: Path) -> None:
    with pytest.raises(AddinError, match="本机没有 Microsoft Excel"):
        install_addin(built)


def test_install_on_windows_copies_and_writes_config(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", r"C:\Python311\python.exe")
    monkeypatch.setattr(install_mod, "_ANSI_ENCODING", "cp936")
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    installed = install_addin(built)
    assert installed == tmp_path / "AppData" / "Microsoft" / "Excel" / "XLSTART" / "gkreport.xlam"
    assert installed.read_bytes() == built.read_bytes()
    conf = (tmp_path / "home" / ".gkreport" / "gkreport.conf").read_bytes().decode("cp936")
    lines = conf.split("\r\n")
    assert lines[0] == r'"Interpreter_Win","C:\Python311\python.exe"'
    assert lines[1].startswith('"PYTHONPATH","') and lines[-1] == ""


def test_install_rejects_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(AddinError, match="找不到加载项文件"):
        install_addin(tmp_path / "nope.xlam")


def test_install_refuses_an_add_in_of_another_version(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An upgrade must never put the previous version's add-in back in place.
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    assert built_version(built) == gkreport.__version__
    monkeypatch.setattr(gkreport, "__version__", "9.9.9")
    with pytest.raises(AddinError, match=r"gkreport 0\.1\.0|gkreport " + re.escape(built_version(built) or "")):
        install_addin(built)
    assert not (tmp_path / "AppData").exists()
    assert built_version(tmp_path / "missing.xlam") is None


def test_cli_install_always_builds_the_running_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from gkreport.commands.cli_addin import run_install

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", r"C:\Python311\python.exe")
    monkeypatch.setattr(install_mod, "_ANSI_ENCODING", "cp936")
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    stale = tmp_path / "dist" / "gkreport.xlam"
    stale.parent.mkdir()
    stale.write_bytes(b"an old add-in left by the previous version")
    assert run_install(argparse.Namespace(xlam=None)) == 0
    installed = tmp_path / "AppData" / "Microsoft" / "Excel" / "XLSTART" / "gkreport.xlam"
    assert built_version(installed) == gkreport.__version__
    assert stale.read_bytes().startswith(b"an old")  # neither used nor touched


def test_store_python_installs_outside_the_redirected_appdata(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = r"C:\Users\u\AppData\Local\Microsoft\WindowsApps\PythonSoftwareFoundation.Python.3.11_qbz5n2kfra8p0\python.exe"
    assert install_mod.is_store_python(store) and not install_mod.is_store_python(r"C:\Python311\python.exe")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", store)
    monkeypatch.setattr(install_mod, "_ANSI_ENCODING", "cp936")
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    installed = install_addin(built)
    assert installed == tmp_path / "home" / ".gkreport" / "gkreport.xlam"
    assert not (tmp_path / "AppData").exists()


# --- The VBA as built: guards, messages, no cmd.exe ---------------------------


def _built_ribbon(built: Path) -> str:
    return {m.name: m.source for m in list_modules(_vba_of(built))}[RIBBON_MODULE]


def _vba_procedure(source: str, name: str) -> str:
    m = re.search(rf"^(?:Public |Private )?(?:Sub|Function) {name}\(.*?^End (?:Sub|Function)", source,
                  re.MULTILINE | re.DOTALL)
    assert m, name
    return m.group(0)


def test_built_vba_guards_before_starting_python(built: Path) -> None:
    # The first click with no workbook open must not reach xlwings' RunPython (which
    # reads ActiveWorkbook: run-time error 91), and Protected View is refused first.
    source = _built_ribbon(built)
    source.encode("ascii")
    launcher = source.split("Public Function GKText(")[0]  # the generated messages may name cmd.exe
    code = "\n".join(ln for ln in launcher.splitlines() if not ln.lstrip().startswith("'"))
    assert "RunPython" not in code and "cmd.exe" not in code.lower()
    run = _vba_procedure(source, "GKRun")
    order = [run.index(s) for s in ("GKInProtectedView()", "ActiveWorkbook Is Nothing",
                                    'GKSetting("INTERPRETER")', "FileExists(interpreter)", "GKLaunchWin(")]
    assert order == sorted(order)
    assert "On Error GoTo Failed" in run.splitlines()[2]
    assert "ActiveProtectedViewWindow" in _vba_procedure(source, "GKInProtectedView")
    launch = _vba_procedure(source, "GKLaunchWin")
    assert "pythonw.exe" in launch and "-m gkreport.addin.xlcall" in launch and "--pid=" in launch
    assert "WScript.Shell" in launch and ", 0, True)" in launch  # hidden window, wait for it
    # No workbook is ever needed before Python runs, except for the three that act on one.
    for sub in ("GK_NewForm", "GK_Consolidate", "GK_Help"):
        assert "False" in _vba_procedure(source, sub)


def test_built_vba_messages_are_chinese_via_chrw(built: Path) -> None:
    from gkreport.xlam.messages import MESSAGES, decode_vba_text

    source = _built_ribbon(built)
    used = set(re.findall(r'GKText\("(\w+)"\)', source))
    assert used and used <= set(MESSAGES)
    text_fn = _vba_procedure(source, "GKText")
    for key, text in MESSAGES.items():
        block = text_fn.split(f'    Case "{key}"\r\n', 1)[1].split("    Case ", 1)[0]
        lines = [ln for ln in block.split("\r\n") if ln.strip().startswith("s = ")]
        assert decode_vba_text(lines) == text, key
        assert all(len(ln) < 1000 for ln in lines)
    assert "Python" not in MESSAGES["no_workbook"] and "gkreport.log" in source


def test_built_core_properties_name_gkreport(built: Path) -> None:
    with zipfile.ZipFile(built) as z:
        core = ET.fromstring(z.read("docProps/core.xml"))
    dc = "{http://purl.org/dc/elements/1.1/}"
    assert core.find(f"{dc}creator").text == "gkreport"
    assert "政务公开年报" in core.find(f"{dc}title").text
    assert "Felix" not in ET.tostring(core, encoding="unicode")
    assert gkreport.__version__ in core.find(f"{dc}description").text


def test_python_calls_only_macros_the_add_in_defines(built: Path) -> None:
    from gkreport.markers import xlwings_batch

    source = _built_ribbon(built)
    called = set(re.findall(r'_run\("(GK_\w+)"', Path(xlwings_batch.__file__).read_text("utf-8")))
    assert called >= {"GK_Ping", "GK_ReadLooks", "GK_WriteLooks", "GK_Unprotect", "GK_Protect", "GK_NewSheet",
                      "GK_DeleteSheet", "GK_FinishResults"}
    for name in called:
        assert re.search(rf"^Public Function {name}\(", source, re.MULTILINE), name


# --- Static checks of the ribbon VBA (no VBA runs here: catch what would not compile) ---

_BLOCKS = (("If", "End If"), ("#If", "#End If"), ("For", "Next"), ("With", "End With"),
           ("Select Case", "End Select"), ("Do", "Loop"))
_VBA_KEYWORDS = {"If", "Else", "ElseIf", "End", "For", "Next", "With", "Set", "Dim", "Exit", "On", "Select",
                 "Case", "Do", "Loop", "Call", "MsgBox", "Err", "Private", "Public", "Function", "Sub", "ReDim"}


def _procedures(source: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (header line, body lines without comments) for every Sub/Function."""
    out: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for raw in source.splitlines():
        line = re.sub(r"'[^\"]*$", "", raw).rstrip()  # comments (no quote after the apostrophe)
        m = re.match(r"^(?:Public |Private )?(?:Sub|Function) (\w+)\(", line)
        if m:
            current = m.group(1)
            out[current] = (line, [])
        elif re.match(r"^End (Sub|Function)$", line):
            current = None
        elif current is not None and line.strip():
            out[current][1].append(line.strip())
    return out


def _joined(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if out and out[-1].endswith(" _"):
            out[-1] = out[-1][:-2] + " " + line
        else:
            out.append(line)
    return out


def test_ribbon_vba_blocks_are_balanced_and_variables_declared(built: Path) -> None:
    source = _built_ribbon(built)
    module_names = set(re.findall(r"^(?:Public |Private )?Const (\w+)", source, re.MULTILINE))
    module_names |= set(re.findall(r"^(?:Public |Private )?(?:Sub|Function) (\w+)\(", source, re.MULTILINE))
    procs = _procedures(source)
    assert len(procs) >= 20
    for name, (header, body) in procs.items():
        lines = _joined(body)
        for opener, closer in _BLOCKS:
            if opener == "If":
                opened = sum(1 for ln in lines if re.match(r"^(?:ElseIf )?If\b.*\bThen$", ln)
                             and not ln.startswith("ElseIf"))
            elif opener == "#If":
                opened = sum(ln.startswith("#If ") for ln in lines)
            elif opener == "For":
                opened = sum(bool(re.match(r"^For (Each )?\w+", ln)) for ln in lines)
            else:
                opened = sum(ln == opener or ln.startswith(opener + " ") for ln in lines)
            closed = sum(ln == closer or ln.startswith(closer + " ") for ln in lines)
            assert opened == closed, (name, opener, opened, closed)
        declared = set(module_names) | {name}
        declared |= set(re.findall(r"(?:ByVal |ByRef )?(\w+)(?:\(\))? As \w+", header.split("(", 1)[1]))
        for ln in lines:
            if ln.startswith(("Dim ", "ReDim ")):
                declared |= set(re.findall(r"(?:Dim |ReDim |, )(\w+)", ln))
        labels = {ln[:-1] for ln in lines if re.fullmatch(r"\w+:", ln)}
        for ln in lines:
            m = re.match(r"^(?:Set )?(\w+)(?:\([^)]*\))? = ", ln) or re.match(r"^For (?:Each )?(\w+)", ln)
            if m and m.group(1) not in _VBA_KEYWORDS:
                assert m.group(1) in declared, (name, ln)
        assert all(re.match(r"^(On Error GoTo|GoTo) (\w+)$", ln) is None
                   or re.match(r"^(?:On Error GoTo|GoTo) (\w+)$", ln).group(1) in labels | {"0"}
                   for ln in lines), name


def test_look_fields_match_the_macros(built: Path) -> None:
    from gkreport.markers.xlwings_marker import FS, Look

    source = _built_ribbon(built)
    assert "Private Const LOOK_FIELDS As Long = 14" in source  # read: fill, 12 border fields, has note, text
    assert len(Look().record("A1", 7).split(FS)) == 17  # write: ref, mask, then the 15 read fields
    write = _vba_procedure(source, "GK_WriteLooks")
    assert 'If f(15) = "1" Then c.AddComment f(16)' in write and "CLng(f(2))" in write
    read = _vba_procedure(source, "GK_ReadLooks")
    assert "f(13) = \"1\"" in read and "f(14) = c.Comment.Text" in read
    assert "Array(7, 8, 9, 10)" in read and "Array(7, 8, 9, 10)" in write  # left, top, bottom, right


def test_ribbon_vba_calls_only_defined_procedures(built: Path) -> None:
    modules = {m.name: m.source for m in list_modules(_vba_of(built))}
    ours, xlwings_vba = modules[RIBBON_MODULE], modules["xlwings"]
    code = "\n".join(ln for ln in ours.splitlines() if not ln.lstrip().startswith("'"))
    defined = set(re.findall(r"^(?:Public |Private )?(?:Sub|Function) (\w+)\(", ours, re.MULTILINE))
    for name in set(re.findall(r"\b(GK\w+)\b", code)) - {"GKReportRibbon"}:
        assert name in defined or re.search(rf"Const {name}\b", ours), name
    for helper in ("GetConfigFromFile", "GetConfigFilePath", "FileExists", "ParentFolder", "ToPosixPath"):
        assert helper in code
        assert re.search(rf"^(?:Public )?Function {helper}\(", xlwings_vba, re.MULTILINE), helper
    assert re.search(r"^Public Const XLWINGS_VERSION As String", xlwings_vba, re.MULTILINE)
