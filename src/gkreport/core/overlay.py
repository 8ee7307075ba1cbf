"""The rules overlay: a folder (``--rules DIR`` or ``GKREPORT_RULES_DIR``) with which a
province adds or changes rules without editing the packaged ``rules/``.

The folder may hold:

* ``form-<version>.json``: a complete form (same schema as the packaged ones); it adds
  a form version, or replaces the packaged form of the same version;
* ``overlay-*.json`` (schema ``rules/overlay.schema.json``), applied in name order::

    {"form": "2021",
     "disable": ["T1-in-force"],                 # rules switched off, by id
     "add": [{"id": "SX-...", "type": "equal", ...}],  # new rules (after disable: disable + add = replace)
     "severity": {"carry-over": "error"}}        # new severity of existing or added rules

Every file is checked against its schema (once per content, see
:mod:`gkreport.core.form_schema`) and every reference (form, rule ids) is checked, with the
file and the rule named. Rules from the overlay keep their origin (the file), which
findings carry into ``--json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .form_schema import OVERLAY_SCHEMA, FormError, validate_once
from .resources import data_dir

RULES_ENV = "GKREPORT_RULES_DIR"


@dataclass(frozen=True)
class Sources:
    """Where each form version is defined, and the overlay files to apply."""

    forms: Mapping[str, Path]  # version -> form-<version>.json (the overlay's wins)
    overlays: tuple[Path, ...]
    directory: Path | None


def active_dir() -> str:
    """The overlay folder in effect ("" for none): ``GKREPORT_RULES_DIR`` (``--rules``
    sets it for the command, so worker processes see the same rules)."""
    return os.environ.get(RULES_ENV, "").strip()


def signature(directory: str) -> tuple[Any, ...]:
    """What the cached forms depend on: the folder and each JSON file's size and time, so
    a long-running process (the Excel add-in) sees an edited overlay."""
    if not directory:
        return ()
    folder = Path(directory)
    try:
        entries = sorted(folder.glob("*.json"))
        return (directory, *((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in entries))
    except OSError:
        return (directory, "unreadable")


def sources(directory: str) -> Sources:
    """The packaged forms, with the overlay folder's forms and overlay files on top."""
    forms = {p.stem.removeprefix("form-"): p for p in data_dir("rules").glob("form-*.json")}
    if not directory:
        return Sources(forms, (), None)
    folder = Path(directory)
    if not folder.is_dir():
        raise FormError(f"规则覆盖目录不存在或不是文件夹：{folder}（来自 --rules 或环境变量 {RULES_ENV}）")
    for p in folder.glob("form-*.json"):
        forms[p.stem.removeprefix("form-")] = p
    overlays = tuple(sorted(folder.glob("overlay-*.json")))
    unknown = sorted(p.name for p in folder.glob("*.json") if p not in overlays and p.stem.removeprefix("form-")
                     not in forms)
    if unknown:
        raise FormError(f"{folder}：无法识别的文件 {'、'.join(unknown)}（规则覆盖目录只放 form-<版本>.json 和 "
                        "overlay-*.json）")
    return Sources(forms, overlays, folder)


def read_json(path: Path) -> tuple[Any, bytes]:
    """A JSON file's document and bytes; FormError naming the file when it is not JSON."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FormError(f"{path}：无法读取（{e.strerror or e}）") from None
    try:
        return json.loads(data.decode("utf-8-sig")), data
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        where = f"第 {e.lineno} 行第 {e.colno} 列：" if isinstance(e, json.JSONDecodeError) else ""
        raise FormError(f"{path}：不是有效的 UTF-8 JSON 文件（{where}{e}）") from None


def read_overlays(src: Sources) -> list[tuple[Path, dict[str, Any]]]:
    """Every overlay file, validated, each naming a form that exists."""
    out = []
    for path in src.overlays:
        doc, data = read_json(path)
        validate_once(doc, data, path, OVERLAY_SCHEMA)
        if doc["form"] not in src.forms:
            raise FormError(f"{path}：没有 {doc['form']} 版表式（可用：{'、'.join(sorted(src.forms))}）")
        out.append((path, doc))
    return out


def apply(doc: dict[str, Any], overlays: list[tuple[Path, dict[str, Any]]],
          origins: dict[str, str]) -> dict[str, Any]:
    """The form document with each overlay for its version applied (disable, add,
    severity, in that order); ``origins`` gains the file of each added rule."""
    version = doc["form"]
    rules: list[dict[str, Any]] = list(doc["rules"])
    locate = dict(doc.get("locate", {}))
    for path, ov in overlays:
        if ov["form"] != version:
            continue
        ids = [r["id"] for r in rules]
        for rid in ov.get("disable", []):
            if rid not in ids:
                raise FormError(f"{path}：disable 中的规则 {rid} 在 {version} 版表式中不存在")
        off = set(ov.get("disable", []))
        rules = [r for r in rules if r["id"] not in off]
        if "exclude_rules" in locate:
            locate["exclude_rules"] = [r for r in locate["exclude_rules"] if r not in off]
        present = {r["id"] for r in rules}
        for rule in ov.get("add", []):
            if rule["id"] in present:
                raise FormError(f"{path}：规则 {rule['id']} 已存在于 {version} 版表式"
                                "（要替换它，先在 disable 中停用，再在 add 中给出新的定义）")
            present.add(rule["id"])
            rules.append(rule)
            origins[rule["id"]] = str(path)
        for rid, severity in ov.get("severity", {}).items():
            if rid not in present:
                raise FormError(f"{path}：severity 中的规则 {rid} 在 {version} 版表式中不存在")
            rules = [{**r, "severity": severity} if r["id"] == rid else r for r in rules]
    out = {**doc, "rules": rules}
    if "locate" in doc:
        out["locate"] = locate
    return out
