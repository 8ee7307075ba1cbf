"""Assemble ``gkreport.xlam`` from xlwings' ribbon add-in template.

Why a template: the xlwings VBA module must match the installed xlwings
version exactly (its DLL declarations and the Mac AppleScript name contain the
version), so we take ``quickstart_addin_ribbon.xlam`` from the installed
xlwings package and change only what is ours:

* ``customUI/customUI.xml`` (the ribbon) -> ``addin/customUI.xml``;
* the template's ribbon module (``RibbonMyAddin``) -> ``addin/gkreport_ribbon.bas``,
  renamed ``GKReportRibbon``, with this gkreport version stamped into its
  ``GKREPORT_VERSION`` constant and the generated ``GKText`` function (Chinese
  messages as ``ChrW`` calls, :mod:`gkreport.xlam.messages`) appended. The ribbon
  launches Python itself and uses only config/file helpers of the xlwings module
  (``GetConfigFromFile``, ``FileExists``; on the Mac xlwings' AppleScript);
* ``docProps/core.xml``: our title/author/version instead of xlwings' author;
* in the ``xlwings`` module, ``PROJECT_NAME`` ``"myaddin"`` -> ``"gkreport"``,
  so the add-in reads its own config file ``~/.gkreport/gkreport.conf``
  (written by :func:`gkreport.xlam.install.install_addin`) instead of
  sharing ``myaddin``'s with any other xlwings quickstart add-in; the config
  sheet is renamed to match (``_gkreport.conf``, still disabled by the
  leading underscore, as in the template: an empty ``Interpreter_Win`` cell
  on an active sheet would override the config file);
* the VBA project name ``MyAddin`` -> ``GKReport``.

Everything else (the other parts, the other VBA modules) is copied as is.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path, PurePosixPath
from xml.sax.saxutils import escape

import xlwings

from gkreport import __version__ as gkreport_version
from gkreport.core.resources import data_dir
from gkreport.output.outputs import atomic_write
from gkreport.xlam import AddinError
from gkreport.xlam.messages import vba_text_function
from gkreport.xlam.vbaproject import (
    READ_ERRORS,
    ModuleChange,
    VbaProjectError,
    find_ribbon_module,
    list_modules,
    rewrite_project,
)

__all__ = [
    "ADDIN_NAME",
    "RIBBON_MODULE",
    "VBA_PROJECT_NAME",
    "addin_source_dir",
    "build_xlam",
    "built_version",
    "stamp_ribbon_source",
    "template_path",
]

ADDIN_NAME = "gkreport"
RIBBON_MODULE = "GKReportRibbon"
VBA_PROJECT_NAME = "GKReport"
CUSTOMUI_FILE = "customUI.xml"
RIBBON_BAS_FILE = "gkreport_ribbon.bas"

_TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
_TEMPLATE_ADDIN_NAME = "myaddin"
_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
# Ribbon XML relationship types: Office 2007 and Office 2010+.  The xlwings
# template pairs the 2010 type with the 2007 customUI namespace; we keep
# whatever the template uses and only replace the part's content.
_REL_UI = (
    "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
)
_REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
_VERSION_LINE = re.compile(r'(Public Const GKREPORT_VERSION As String = ")([^"]*)(")')
_PROJECT_NAME_LINE = re.compile(r'(Public Const PROJECT_NAME As String = ")([^"]*)(")')


def template_path() -> Path:
    """The ribbon add-in template shipped with the installed xlwings."""
    path = Path(xlwings.__file__).parent / _TEMPLATE_NAME
    if not path.is_file():
        raise AddinError(f"找不到 xlwings 自带的加载项模板：{path}（xlwings 版本 {xlwings.__version__}）")
    return path


def addin_source_dir() -> Path:
    """Where ``customUI.xml`` and ``gkreport_ribbon.bas`` live.

    In a source checkout they are in ``<repo>/addin``; an installed wheel carries them
    as package data in ``gkreport/_data/addin`` (``pyproject.toml`` force-include),
    which :func:`gkreport.core.resources.data_dir` finds first.
    """
    candidates = [data_dir("addin"), Path(__file__).resolve().parents[3] / "addin"]
    for candidate in candidates:
        if (candidate / CUSTOMUI_FILE).is_file() and (candidate / RIBBON_BAS_FILE).is_file():
            return candidate
    raise AddinError(
        "找不到加载项源文件（customUI.xml 与 gkreport_ribbon.bas），已查找："
        + "；".join(str(c) for c in candidates)
        + "。gkreport 安装可能不完整，请重新安装。"
    )


def stamp_ribbon_source(source: str, version: str = gkreport_version) -> str:
    """The ribbon module as built: version stamped, ``GKText`` (Chinese messages) appended."""
    if len(_VERSION_LINE.findall(source)) != 1:
        raise AddinError("gkreport_ribbon.bas 中应恰有一行 GKREPORT_VERSION 常量")
    if not re.fullmatch(r"[0-9A-Za-z.+\-]+", version):
        raise AddinError(f"版本号含有不能写入 VBA 的字符：{version}")
    stamped = _VERSION_LINE.sub(rf'\g<1>{version}\g<3>', source)
    return stamped.rstrip("\r\n") + "\r\n" + vba_text_function()


def _core_properties(xml: bytes, version: str) -> bytes:
    """Our title/author instead of xlwings' (shown in Explorer and Excel's Info pane)."""
    values = {
        "dc:title": "gkreport 政务公开年报加载项",
        "dc:subject": "政府信息公开工作年度报告：填报、校验、汇总",
        "dc:creator": "gkreport",
        "cp:lastModifiedBy": "gkreport",
        "cp:keywords": f"gkreport {version}",
        "dc:description": f"gkreport {version}（xlwings {xlwings.__version__}）",
    }
    text = xml.decode("utf-8")
    for tag, value in values.items():
        pattern = re.compile(rf"<{tag}\s*/>|<{tag}>[^<]*</{tag}>")
        m = pattern.search(text)
        if m is None:
            raise AddinError(f"模板 docProps/core.xml 中没有 {tag}")
        text = f"{text[:m.start()]}<{tag}>{escape(value)}</{tag}>{text[m.end():]}"
    return text.encode("utf-8")


def built_version(xlam: Path) -> str | None:
    """The gkreport version stamped into a built add-in, or ``None`` if unreadable."""
    try:
        with zipfile.ZipFile(xlam) as z:
            vba = z.read("xl/vbaProject.bin")
        for module in list_modules(vba):
            if module.name == RIBBON_MODULE:
                m = _VERSION_LINE.search(module.source)
                return m.group(2) if m else None
    except READ_ERRORS:  # not a zip, no VBA, foreign file: "unknown version"
        return None
    return None


def _part_for(rels_xml: bytes, rel_type: str | tuple[str, ...], base: str) -> str:
    """Resolve the zip name of the part a relationship of ``rel_type`` points at."""
    types = (rel_type,) if isinstance(rel_type, str) else rel_type
    for rel in ET.fromstring(rels_xml).iter(f"{{{_REL_NS}}}Relationship"):
        if rel.get("Type") in types:
            target = rel.get("Target", "")
            path = (
                PurePosixPath(target.lstrip("/")) if target.startswith("/") else PurePosixPath(base) / target
            )
            parts: list[str] = []
            for piece in path.parts:
                if piece == "..":
                    parts.pop()
                elif piece not in (".", ""):
                    parts.append(piece)
            return "/".join(parts)
    raise AddinError(f"模板中缺少关系 {rel_type}")


def _customui(template_xml: bytes, ours: bytes) -> bytes:
    """Check our ribbon XML parses and uses the template's customUI namespace."""
    try:
        root = ET.fromstring(ours)
    except ET.ParseError as exc:
        raise AddinError(f"customUI.xml 不是合法的 XML：{exc}") from exc
    expected = ET.fromstring(template_xml).tag
    if root.tag != expected:
        raise AddinError(f"customUI.xml 的根元素应为 {expected}，实际为 {root.tag}")
    return ours


def _patch_project_name(source: str) -> str:
    matches = _PROJECT_NAME_LINE.findall(source)
    if len(matches) != 1 or matches[0][1] != _TEMPLATE_ADDIN_NAME:
        raise AddinError("模板 xlwings 模块中找不到 PROJECT_NAME 常量，xlwings 版本可能不兼容")
    return _PROJECT_NAME_LINE.sub(rf"\g<1>{ADDIN_NAME}\g<3>", source)


def _vba_project(template_bin: bytes, ribbon_source: str) -> bytes:
    try:
        ribbon = find_ribbon_module(template_bin)
        xlwings_module = next((m for m in list_modules(template_bin) if m.name == "xlwings"), None)
        if xlwings_module is None:
            raise AddinError("模板中没有 xlwings VBA 模块")
        changes = {
            ribbon: ModuleChange(ribbon_source, new_name=RIBBON_MODULE),
            "xlwings": ModuleChange(_patch_project_name(xlwings_module.source), crlf=False),
        }
        return rewrite_project(template_bin, changes, project_name=VBA_PROJECT_NAME)
    except VbaProjectError as exc:
        raise AddinError(f"无法改写 vbaProject.bin：{exc}") from exc


def _workbook_xml(xml: bytes) -> bytes:
    old = f'name="_{_TEMPLATE_ADDIN_NAME}.conf"'.encode()
    if xml.count(old) != 1:
        raise AddinError("模板中找不到配置工作表 _myaddin.conf")
    return xml.replace(old, f'name="_{ADDIN_NAME}.conf"'.encode())


def _read_source_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise AddinError(f"{path.name} 只能包含 ASCII 字符（中文请放在 customUI.xml 中）") from exc


def build_xlam(out_path: Path) -> Path:
    """Build the add-in at ``out_path`` (written atomically) and return the path."""
    out_path = Path(out_path)
    source_dir = addin_source_dir()
    customui_xml = (source_dir / CUSTOMUI_FILE).read_bytes()
    ribbon_source = stamp_ribbon_source(_read_source_text(source_dir / RIBBON_BAS_FILE))

    with zipfile.ZipFile(template_path()) as template:
        infos = template.infolist()
        parts = {info.filename: template.read(info) for info in infos}

    customui_part = _part_for(parts["_rels/.rels"], _REL_UI, "")
    workbook_part = _part_for(
        parts["_rels/.rels"],
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
        "",
    )
    workbook_dir = str(PurePosixPath(workbook_part).parent)
    workbook_rels = f"{workbook_dir}/_rels/{PurePosixPath(workbook_part).name}.rels"
    vba_part = _part_for(parts[workbook_rels], _REL_VBA, workbook_dir)

    parts[customui_part] = _customui(parts[customui_part], customui_xml)
    parts[vba_part] = _vba_project(parts[vba_part], ribbon_source)
    parts[workbook_part] = _workbook_xml(parts[workbook_part])
    if "docProps/core.xml" in parts:
        parts["docProps/core.xml"] = _core_properties(parts["docProps/core.xml"], gkreport_version)

    # [Content_Types].xml first: OPC does not require it, but some readers sniff the first entry.
    infos.sort(key=lambda info: info.filename != "[Content_Types].xml")

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as archive:
            for info in infos:
                entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.external_attr = info.external_attr
                archive.writestr(entry, parts[info.filename])

    atomic_write(out_path, write)  # an ordinary, shareable file (umask), never mkstemp's 0600
    return out_path
