"""A deliberately tiny evaluator for the formulas agencies put in data cells.

Agencies sometimes type ``=SUM(D7:I7)`` or ``=D7+E7`` in a total. The value cached
in the file may be missing (files written by tools never calculated) or stale, so the
checker recomputes instead of trusting the cache. Supported: numbers, cell and range
references (optionally ``'Sheet'!``), ``+ - * /``, parentheses, unary minus and
``SUM``. Anything else raises :class:`FormulaError` and the caller says so at the cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import addresses as addr

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)"
    r"|(?P<ref>(?:'(?:[^']|'')+'!|[^\s'!()+\-*/,:=]+!)?\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)"
    r"|(?P<func>[A-Za-z]+)\("
    r"|(?P<op>[-+*/(),]))"
)

Lookup = Callable[[str | None, int, int], float]  # (sheet or None, col, row) -> number


class FormulaError(ValueError):
    """The formula uses something this evaluator does not support."""


def evaluate(formula: str, lookup: Lookup) -> float:
    text = formula.strip()
    if text.startswith("="):
        text = text[1:]
    tokens = _tokenize(text)
    parser = _Parser(tokens, lookup)
    value = parser.expr()
    if parser.pos != len(tokens):
        raise FormulaError("无法解析公式")
    return value


def _tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FormulaError("公式含有无法识别的内容")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], lookup: Lookup) -> None:
        self.tokens = tokens
        self.pos = 0
        self.lookup = lookup

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise FormulaError("公式不完整")
        self.pos += 1
        return tok

    def expr(self) -> float:
        value = self.term()
        while (tok := self.peek()) and tok[1] in "+-" and tok[0] == "op":
            self.take()
            rhs = self.term()
            value = value + rhs if tok[1] == "+" else value - rhs
        return value

    def term(self) -> float:
        value = self.unary()
        while (tok := self.peek()) and tok[1] in "*/" and tok[0] == "op":
            self.take()
            rhs = self.unary()
            if tok[1] == "/":
                if rhs == 0:
                    raise FormulaError("公式除以 0")
                value /= rhs
            else:
                value *= rhs
        return value

    def unary(self) -> float:
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in "+-":
            self.take()
            v = self.unary()
            return -v if tok[1] == "-" else v
        return self.atom()

    def atom(self) -> float:
        kind, text = self.take()
        if kind == "num":
            return float(text)
        if kind == "ref":
            cells = _cells(text)
            if len(cells) != 1:
                raise FormulaError("区域只能用在 SUM 中")
            return self.lookup(*cells[0])
        if kind == "func":
            if text.upper() != "SUM":
                raise FormulaError(f"不支持函数 {text.upper()}")
            total = 0.0
            if self.peek() and self.peek()[1] == ")":  # type: ignore[index]
                self.take(")")
                return total
            while True:
                tok = self.peek()
                nxt = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
                if tok and tok[0] == "ref" and nxt and nxt[1] in (",", ")"):
                    self.take()
                    total += sum(self.lookup(*c) for c in _cells(tok[1]))
                else:
                    total += self.expr()
                if self.take()[1] == ")":
                    return total
        if kind == "op" and text == "(":
            v = self.expr()
            self.take(")")
            return v
        raise FormulaError("公式含有无法识别的内容")


def _cells(ref: str) -> list[tuple[str | None, int, int]]:
    sheet = None
    if "!" in ref:
        sheet_part, ref = ref.rsplit("!", 1)
        sheet = sheet_part[1:-1].replace("''", "'") if sheet_part.startswith("'") else sheet_part
    ref = ref.replace("$", "")
    c1, r1, c2, r2 = addr.range_bounds(ref)
    if (c2 - c1 + 1) * (r2 - r1 + 1) > 10000:
        raise FormulaError("引用区域过大")
    return [(sheet, c, r) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
