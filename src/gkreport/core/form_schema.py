"""JSON-Schema validation of form and overlay files, in Chinese, validated once per content.

Validating the forms against ``rules/schema.json`` at every start cost ~36 ms plus
~55 ms to import jsonschema. A document is therefore validated once per content: a
stamp named by the SHA-256 of (gkreport's version, the schema, the document's bytes)
is written to the user's cache folder after a successful validation, and the next
start that sees the same bytes skips jsonschema. A changed file (an edited overlay) has
another hash and is validated again; a stamp whose content is not its own name
(truncated, corrupt) is ignored and rewritten. A stamp never replaces the Python
consistency checks, which run at every build (a built form is reused only from
:mod:`gkreport.core.form_cache`, under a key of the same bytes and code, and only while
its files' stamps stand); and a document that passes with a stamp
but then fails to build is validated in full (see :func:`gkreport.core.form_parse.parse_form`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from gkreport import __version__

from .resources import data_dir

FORM_SCHEMA = "schema.json"
OVERLAY_SCHEMA = "overlay.schema.json"


class FormError(ValueError):
    """A form definition file is malformed; the message names the file and the culprit."""


def cache_dir() -> Path:
    """Where validation stamps live: ``GKREPORT_CACHE_DIR``, else the platform's user
    cache folder (``%LOCALAPPDATA%``, ``~/Library/Caches``, ``$XDG_CACHE_HOME``)."""
    explicit = os.environ.get("GKREPORT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "gkreport" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "gkreport"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gkreport"


@cache
def _schema_bytes(name: str) -> bytes:
    return (data_dir("rules") / name).read_bytes()


@cache
def schema(name: str) -> dict[str, Any]:
    """A schema of ``rules/``; the overlay schema borrows the form schema's definitions
    (a rule added by an overlay is a rule like any other)."""
    doc: dict[str, Any] = json.loads(_schema_bytes(name))
    if name != FORM_SCHEMA:
        doc["$defs"] = {**schema(FORM_SCHEMA)["$defs"], **doc.get("$defs", {})}
    return doc


def stamp_key(name: str, data: bytes) -> str:
    """The content hash that names a validation stamp."""
    h = hashlib.sha256()
    for part in (__version__.encode(), _schema_bytes(FORM_SCHEMA), _schema_bytes(name), data):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def _stamp(key: str) -> Path:
    return cache_dir() / "validated" / f"{key}.ok"


def is_stamped(key: str) -> bool:
    """Whether this exact content was validated before (the stamp holds its own name)."""
    try:
        return _stamp(key).read_text(encoding="ascii") == key
    except (OSError, UnicodeDecodeError):
        return False


def write_stamp(key: str) -> None:
    """Record a successful validation, atomically; a read-only cache only costs speed."""
    from gkreport.output.outputs import OutputError, atomic_write  # the one atomic writer (stdlib only)

    path = _stamp(key)
    with contextlib.suppress(OutputError):
        atomic_write(path, lambda tmp: tmp.write_text(key, encoding="ascii"))


def validate_once(doc: Mapping[str, Any], data: bytes, source: Path | str, name: str = FORM_SCHEMA) -> None:
    """:func:`validate` unless these bytes were validated before; stamp them when valid."""
    key = stamp_key(name, data)
    if is_stamped(key):
        return
    validate(doc, source, name)
    write_stamp(key)


def validate(doc: Mapping[str, Any], source: Path | str = "<memory>", name: str = FORM_SCHEMA) -> None:
    """Raise FormError listing every violation of the schema ``name``, in Chinese, each
    naming the rule (by id) it is in."""
    import jsonschema  # type: ignore[import-untyped,unused-ignore]  # here only: a valid stamp skips it

    validator = jsonschema.Draft202012Validator(schema(name), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [f"{where(doc, list(e.absolute_path))}：{describe(e)}" for e in errors[:20]]
        more = f"\n（另有 {len(errors) - 20} 处）" if len(errors) > 20 else ""
        raise FormError(f"{source}：定义不符合 schema：\n" + "\n".join(lines) + more)


def where(doc: Mapping[str, Any], path: Sequence[Any]) -> str:
    """``规则 T2-balance 的 left/2`` for a path inside a rule, else the JSON path."""
    for i, part in enumerate(path[:-1]):
        if part in ("rules", "add") and isinstance(path[i + 1], int):
            items = doc.get(part)
            rule = items[path[i + 1]] if isinstance(items, list) and path[i + 1] < len(items) else None
            rid = rule.get("id") if isinstance(rule, Mapping) else None
            name = f"规则 {rid}" if isinstance(rid, str) else f"第 {path[i + 1] + 1} 条规则"
            rest = "/".join(map(str, path[i + 2:]))
            return name + (f" 的 {rest}" if rest else "")
    return "/".join(map(str, path)) or "（根）"


def describe(error: Any) -> str:
    """One jsonschema error in Chinese (the kinds a hand-written rule runs into)."""
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties" and isinstance(instance, Mapping):
        allowed = list(error.schema.get("properties", {}))
        parts = []
        for key in (k for k in instance if k not in allowed):
            import difflib  # (only to name a misspelt key)

            close = difflib.get_close_matches(key, allowed, n=1)
            parts.append(f"不允许的字段“{key}”" + (f"（是否应为“{close[0]}”？）" if close else ""))
        return "；".join(parts) + (f"；可用字段：{'、'.join(k for k in allowed if k != '$comment')}" if allowed else "")
    if kind == "required":
        missing = [k for k in value if isinstance(instance, Mapping) and k not in instance]
        return "缺少必需的字段 " + "、".join(f"“{k}”" for k in missing)
    if kind == "enum":
        return f"{_show(instance)} 不是可选的值（可选：{'、'.join(map(str, value))}）"
    if kind == "const":
        return f"{_show(instance)} 应为 {_show(value)}"
    if kind == "type":
        return f"{_show(instance)} 的类型不对（应为 {_TYPES.get(str(value), value)}）"
    if kind == "pattern":
        return f"{_show(instance)} 的写法不对（应符合 {value}）"
    if kind == "oneOf":
        return (f"项 {_show(instance)} 的写法不对：应为单元格编号（如 \"t2.new.{{col}}\"、\"-t1.a.b\"、"
                "\"prev:t2.carried_out.total\"）、整数常数、{\"cell\": …, \"coef\": 整数} 或 "
                "{\"sum\": …, \"over\": {变量: \"@集合\"}, \"coef\": 整数}")
    if kind == "not":
        return f"{_show(instance)} 不允许（系数不能为 0）"
    if kind in ("minItems", "minProperties", "maxProperties", "minLength"):
        return f"{_show(instance)} 的项数不对（{kind} {value}）"
    if kind in ("minimum", "exclusiveMinimum", "maximum"):
        return f"{_show(instance)} 超出范围（{kind} {value}）"
    return str(error.message)


_TYPES = {"string": "文字", "integer": "整数", "number": "数字", "array": "列表", "object": "对象", "boolean": "true/false"}


def _show(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
