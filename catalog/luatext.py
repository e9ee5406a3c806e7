"""Read the Lua table literals Lightroom stores in its catalog (`s = { Exposure2012 = 0.35, ... }`).

A small recursive-descent parser for data only: tables, strings, numbers, booleans and nil, nothing that
runs. It accepts what Lightroom writes (an optional `name =` prefix, `[key] =` fields, `ZSTR "..."` strings,
`--` comments, long strings) and refuses everything else with a `SettingsParseError`. Develop-settings
columns are plain text in old catalogs and `4-byte big-endian length + zlib` BLOBs in newer ones:
`decode_settings_blob` turns either into text.
"""
from __future__ import annotations

import math
import re
import zlib
from typing import Any

from .errors import SettingsParseError

MAX_TEXT = 16 * 1024 * 1024  # a develop-settings text with masks is a few hundred KB at most
MAX_DEPTH = 64

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"0[xX][0-9A-Fa-f]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SPACE = re.compile(r"(?:\s+|--\[(=*)\[.*?\]\1\]|--[^\n]*)+", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "\\": "\\",
            '"': '"', "'": "'", "\n": "\n"}
_KEYWORDS = {"true": True, "false": False, "nil": None}


def decode_settings_blob(value: bytes | str | None) -> str | None:
    """A develop-settings column value (TEXT, or BLOB: plain bytes or length-prefixed zlib) -> Lua text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    data = bytes(value)
    if not data:
        return ""
    problem = None
    if len(data) > 6 and data[4] == 0x78:  # zlib header after the 4-byte length
        expected = int.from_bytes(data[:4], "big")
        try:
            out = zlib.decompressobj().decompress(data[4:], MAX_TEXT + 1)
        except zlib.error as exc:
            problem = f"compressed develop settings are damaged ({exc})"
        else:
            if len(out) > MAX_TEXT:
                raise SettingsParseError("compressed develop settings are larger than 16 MB")
            if len(out) == expected:
                data = out
            else:
                problem = f"compressed develop settings hold {len(out)} bytes where the header says {expected}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsParseError(problem or "develop settings are neither text nor a compressed block "
                                            "this version knows") from None
    if problem and "{" not in text:
        raise SettingsParseError(problem)
    return text


def parse_lua_table(text: str) -> dict[str, Any]:
    """Parse `[name =] { ... }` into Python: tables become dicts (keyed) or lists (positional only)."""
    if not isinstance(text, str):
        raise SettingsParseError("develop settings must be text")
    if len(text) > MAX_TEXT:
        raise SettingsParseError("develop settings text is larger than 16 MB")
    parser = _Parser(text)
    parser.skip()
    match = _NAME.match(text, parser.pos)
    if match and match.group() not in _KEYWORDS and match.group() != "ZSTR":
        parser.pos = match.end()
        parser.skip()
        parser.expect("=")
    value = parser.value(0)
    parser.skip()
    if parser.pos != len(text):
        parser.fail("unexpected text after the table")
    if not isinstance(value, dict):
        if value == []:
            return {}
        parser.fail("expected a table of named settings")
    return value


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail(self, what: str):
        line = self.text.count("\n", 0, self.pos) + 1
        raise SettingsParseError(f"develop settings, line {line}: {what}")

    def skip(self) -> None:
        match = _SPACE.match(self.text, self.pos)
        if match:
            self.pos = match.end()

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        self.skip()
        if self.peek() != char:
            self.fail(f"expected {char!r}, found {self.peek() or 'the end'!r}")
        self.pos += 1

    def value(self, depth: int) -> Any:
        self.skip()
        char = self.peek()
        if char == "{":
            return self.table(depth + 1)
        if char in "\"'":
            return self.string()
        if char == "[" and re.match(r"\[=*\[", self.text[self.pos:self.pos + 64]):
            return self.long_string()
        if char == "-" or char == "." or char.isdigit():
            return self.number()
        match = _NAME.match(self.text, self.pos)
        if match:
            word = match.group()
            self.pos = match.end()
            if word in _KEYWORDS:
                return _KEYWORDS[word]
            if word == "ZSTR":  # Lightroom's localisable string marker
                self.skip()
                return self.string()
            self.fail(f"unexpected name {word!r} (only data is allowed)")
        self.fail(f"unexpected {char or 'end of text'!r}")

    def table(self, depth: int) -> dict | list:
        if depth > MAX_DEPTH:
            self.fail("tables nested too deeply")
        self.pos += 1  # "{"
        keyed: dict[Any, Any] = {}
        positional: list[Any] = []
        while True:
            self.skip()
            char = self.peek()
            if char == "}":
                self.pos += 1
                break
            if not char:
                self.fail("unclosed table")
            if char == "[" and not re.match(r"\[=*\[", self.text[self.pos:self.pos + 64]):
                self.pos += 1
                key = self.value(depth)
                self.expect("]")
                self.expect("=")
                if key is None or (isinstance(key, float) and math.isnan(key)):
                    self.fail("a table key cannot be nil or NaN")
                keyed[_key(key)] = self.value(depth)
            else:
                match = _NAME.match(self.text, self.pos)
                after = _SPACE.match(self.text, match.end()) if match else None
                eq_at = (after.end() if after else match.end()) if match else -1
                if match and match.group() not in _KEYWORDS and match.group() != "ZSTR" \
                        and self.text.startswith("=", eq_at) and not self.text.startswith("==", eq_at):
                    self.pos = eq_at + 1
                    keyed[match.group()] = self.value(depth)
                else:
                    positional.append(self.value(depth))
            self.skip()
            char = self.peek()
            if char in ",;":
                self.pos += 1
            elif char != "}":
                self.fail(f"expected ',' or '}}', found {char or 'the end'!r}")
        if not keyed:
            return positional
        for i, item in enumerate(positional, start=1):
            keyed[i] = item
        if all(isinstance(k, int) for k in keyed) and sorted(keyed) == list(range(1, len(keyed) + 1)):
            return [keyed[i] for i in range(1, len(keyed) + 1)]
        return keyed

    def string(self) -> str:
        quote = self.peek()
        if quote not in "\"'":
            self.fail("expected a string")
        self.pos += 1
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                self.fail("unclosed string")
            char = text[self.pos]
            if char == quote:
                self.pos += 1
                return "".join(out)
            if char == "\n":
                self.fail("line break inside a quoted string")
            if char == "\\":
                nxt = text[self.pos + 1:self.pos + 2]
                if nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                    self.pos += 2
                    continue
                digits = re.match(r"\d{1,3}", text[self.pos + 1:self.pos + 4])
                if digits:
                    code = int(digits.group())
                    if code > 255:
                        self.fail("escape sequence too large")
                    out.append(chr(code))
                    self.pos += 1 + len(digits.group())
                    continue
                self.fail(f"unknown escape \\{nxt}")
            out.append(char)
            self.pos += 1

    def long_string(self) -> str:
        match = re.match(r"\[(=*)\[", self.text[self.pos:])
        level = match.group(1)
        start = self.pos + match.end()
        end = self.text.find(f"]{level}]", start)
        if end < 0:
            self.fail("unclosed long string")
        self.pos = end + len(level) + 2
        body = self.text[start:end]
        return body[1:] if body.startswith("\n") else body

    def number(self) -> float | int:
        sign = 1
        while self.peek() == "-":  # unary minus (Lua allows "- 5" and "--" would be a comment)
            if self.text.startswith("--", self.pos):
                self.fail("unexpected comment")
            sign = -sign
            self.pos += 1
            self.skip()
        match = _NUMBER.match(self.text, self.pos)
        if not match:
            self.fail("expected a number")
        self.pos = match.end()
        literal = match.group()
        if literal[:2].lower() == "0x":
            return sign * int(literal, 16)
        if re.fullmatch(r"\d+", literal):
            return sign * int(literal)
        return sign * float(literal)


def _key(key: Any) -> Any:
    if isinstance(key, float) and key.is_integer():
        return int(key)
    return key
