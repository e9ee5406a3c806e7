"""The plug-in's own JSON module (lrplugin/AIRetouch.lrplugin/JSON.lua) under real Lua 5.1."""
from __future__ import annotations

import json
import math
import random

import pytest
from lupa.lua51 import LuaError

from lrsdk.harness import PLUGIN_DIR, lua_runtime, to_py


@pytest.fixture(scope="module")
def lua():
    rt = lua_runtime()
    module = rt.execute(b"return dofile(...)", str(PLUGIN_DIR / "JSON.lua").encode())
    return rt, module


def encode(lua, value) -> str:
    rt, module = lua
    return module[b"encode"](to_lua(rt, value)).decode("utf-8")


def decode(lua, text: str | bytes):
    rt, module = lua
    return to_py(module[b"decode"](text.encode("utf-8") if isinstance(text, str) else text))


def to_lua(rt, value):
    if isinstance(value, dict):
        return rt.table_from({k.encode(): to_lua(rt, v) for k, v in value.items()})
    if isinstance(value, list):
        return rt.table_from([to_lua(rt, v) for v in value])
    if isinstance(value, str):
        return value.encode("utf-8")
    return value


def lua_eval(lua, source: str):
    rt, module = lua
    return rt.execute(source.encode("utf-8"), module)


def decode_error(lua, text: str | bytes) -> str:
    with pytest.raises(LuaError) as info:
        decode(lua, text)
    return str(info.value)


# -- encoding ------------------------------------------------------------------------------------------------
def test_encodes_what_python_reads_back(lua):
    value = {"photo": {"path": "/Users/me/Pictures/Été 2024/IMG_0001.CR3", "is_raw": True,
                       "settings": {"Exposure2012": 0.35, "ToneCurvePV2012": [0, 0, 64, 60, 255, 255],
                                    "WhiteBalance": "As Shot"}},
             "strength": 1.25, "instruction": 'warmer "skin"\nand\tsky \\ done'}
    text = encode(lua, value)
    assert json.loads(text) == value


def test_integers_have_no_decimal_point_and_floats_round_trip_exactly(lua):
    assert encode(lua, [1, -7, 0, 255, 2 ** 53, 123456789012]) == "[1,-7,0,255,9007199254740992,123456789012]"
    floats = [0.1, 1 / 3, -2.5e-7, 1e300, 6.02214076e23, 0.35, 33.333333333333336, 5e-324]
    text = encode(lua, floats)
    assert json.loads(text) == floats
    assert encode(lua, [0.1, 0.35]) == "[0.1,0.35]"  # the shortest digits, not 0.10000000000000001


def test_negative_zero_is_written_as_zero(lua):
    assert lua_eval(lua, "local J = ...; return J.encode(-0.0)") == b"0"


@pytest.mark.parametrize("expr", ["0/0", "1/0", "-1/0"])
def test_nan_and_infinity_are_refused(lua, expr):
    with pytest.raises(LuaError, match="JSON cannot hold"):
        lua_eval(lua, f"local J = ...; return J.encode({{x = {expr}}})")


def test_control_characters_are_escaped_and_unicode_passes_through(lua):
    text = encode(lua, "a\x00b\x1fc\x7fd\b\f\n\r\t é 😀")
    assert text == '"a\\u0000b\\u001fc\\u007fd\\b\\f\\n\\r\\t é 😀"'
    assert json.loads(text) == "a\x00b\x1fc\x7fd\b\f\n\r\t é 😀"


def test_invalid_utf8_is_refused_with_its_position(lua):
    with pytest.raises(LuaError, match=r"not valid UTF-8 \(byte 3\)"):
        lua_eval(lua, r"local J = ...; return J.encode({name = 'ab\255c'})")
    with pytest.raises(LuaError, match="not valid UTF-8"):  # an encoded surrogate (CESU) is not UTF-8
        lua_eval(lua, r"local J = ...; return J.encode('\237\160\128')")


def test_empty_table_is_an_object_and_marked_tables_are_arrays(lua):
    out = lua_eval(lua, "local J = ...; return J.encode({a = {}, b = J.array(), c = J.emptyArray, "
                        "d = J.array({1, 2})})")
    assert out == b'{"a":{},"b":[],"c":[],"d":[1,2]}'


def test_object_keys_are_sorted_for_stable_output(lua):
    assert encode(lua, {"b": 1, "a": 2, "C": 3}) == '{"C":3,"a":2,"b":1}'


def test_arrays_keep_holes_as_null_and_json_null_encodes_as_null(lua):
    out = lua_eval(lua, "local J = ...; local t = {1, nil, 3}; return J.encode({t, J.null})")
    assert out == b"[[1,null,3],null]"


@pytest.mark.parametrize("source, message", [
    ("{1, 2, x = 3}", "mixes array items and named keys"),
    ("{[1.5] = 1}", "key of type number"),
    ("{[true] = 1}", "key of type boolean"),
    ("{[1] = 1, [1000] = 2}", "sparse array"),
    ("{f = print}", "is a function"),
])
def test_tables_json_cannot_hold_are_refused_with_a_path(lua, source, message):
    with pytest.raises(LuaError, match=message):
        lua_eval(lua, f"local J = ...; return J.encode({{photo = {source}}})")


def test_cycles_are_refused(lua):
    with pytest.raises(LuaError, match="cycle"):
        lua_eval(lua, "local J = ...; local t = {}; t.self = t; return J.encode(t)")


def test_the_same_table_twice_is_not_a_cycle(lua):
    out = lua_eval(lua, "local J = ...; local s = {1}; return J.encode({a = s, b = s})")
    assert out == b'{"a":[1],"b":[1]}'


# -- decoding ------------------------------------------------------------------------------------------------
def test_decodes_what_python_writes(lua):
    value = {"photo_id": "A1", "settings": {"Exposure2012": 0.35, "Contrast2012": -12,
                                            "MaskGroupBasedCorrections": [{"What": "Correction",
                                                                           "CorrectionAmount": 1}]},
             "notes": ["sky darker", "faces brighter"], "ok": True, "nested": [[1, [2, [3]]]]}
    assert decode(lua, json.dumps(value)) == value
    assert decode(lua, json.dumps(value, indent=2)) == value


def test_unicode_escapes_and_surrogate_pairs(lua):
    assert decode(lua, r'"\u00e9\u20ac\ud83d\ude00\u0041\/"') == "é€😀A/"
    assert decode(lua, json.dumps("Ünïcödé 😀 \u2028")) == "Ünïcödé 😀 \u2028"
    assert decode(lua, '"raw é 😀"') == "raw é 😀"


def test_escapes(lua):
    assert decode(lua, r'"a\"b\\c\/d\be\ff\ng\rh\ti"') == 'a"b\\c/d\be\ff\ng\rh\ti'


def test_numbers(lua):
    assert decode(lua, "[0, -0, 1, -1.5, 2.5e3, 1E-2, 6.02214076e+23, 9007199254740993]") == \
        [0, 0, 1, -1.5, 2500, 0.01, 6.02214076e23, 9007199254740992]


def test_null_is_absent_in_objects_and_kept_in_arrays(lua):
    rt, module = lua
    result = rt.execute(b"local J = ...; local v = J.decode('{\"a\": null, \"b\": [1, null, 3]}'); "
                        b"return v.a == nil, v.b[2] == J.null, #v.b", module)
    assert tuple(result) == (True, True, 3)


def test_empty_array_round_trips_as_array(lua):
    assert lua_eval(lua, "local J = ...; return J.encode(J.decode('{\"a\": [], \"b\": {}}'))") == \
        b'{"a":[],"b":{}}'


def test_byte_order_mark_is_skipped(lua):
    assert decode(lua, b"\xef\xbb\xbf{\"a\": 1}") == {"a": 1}


@pytest.mark.parametrize("text, message", [
    ('{"a": 1,}', "trailing comma before '}' at line 1, column 9"),
    ("[1, 2", "unexpected end of text, expected ',' or ']' at line 1, column 6"),
    ('{"a": 1\n "b": 2}', "expected ',' or '}' but found '\"' at line 2, column 2"),
    ("01", "invalid number 01"),
    ("1.", "invalid number 1."),
    ("-", "invalid number"),
    ("+1", "unexpected character '+'"),
    (".5", "unexpected character '.'"),
    ("1e", "invalid number 1e"),
    ("nul", "unexpected character 'n'"),
    ("tru", "unexpected character 't'"),
    ('"abc', "unterminated string"),
    ('"a\tb"', "control character (code 9) inside a string"),
    (r'"\x"', "invalid escape \\x"),
    (r'"\u12"', "expected four hex digits"),
    (r'"\ud800"', "lone high surrogate"),
    (r'"\udc00"', "lone low surrogate"),
    (r'"\ud800\u0041"', "high surrogate not followed by a low one"),
    ('{"a" 1}', "expected ':' after the key"),
    ("{a: 1}", "expected a string key"),
    ("[1] [2]", "unexpected text after the value at line 1, column 5"),
    ("", "unexpected end of text, expected a value"),
    ("1e999", "number out of range"),
])
def test_bad_input_is_reported_with_its_position(lua, text, message):
    assert message in decode_error(lua, text)


def test_invalid_utf8_inside_a_string_is_refused(lua):
    assert "not valid UTF-8" in decode_error(lua, b'["ok", "a\xffb"]')


def test_deep_nesting_is_an_error_not_a_crash(lua):
    assert "nested deeper than" in decode_error(lua, "[" * 5000 + "]" * 5000)
    with pytest.raises(LuaError, match="nested deeper than"):
        lua_eval(lua, "local J = ...; local t = {}; local c = t; for i = 1, 5000 do c[1] = {}; c = c[1] end; "
                      "return J.encode(t)")


def test_try_decode_returns_false_and_message(lua):
    result = lua_eval(lua, "local J = ...; return J.tryDecode('{bad')")
    assert result[0] is False and b"expected a string key" in result[1]


def test_random_documents_round_trip_through_lua_and_python(lua):
    rng = random.Random(20240601)
    alphabet = ["a", "Z", " ", '"', "\\", "/", "\n", "\t", "\x01", "é", "€", "😀", "中", "\u2028"]

    def value(depth):
        kind = rng.randrange(7 if depth < 4 else 4)
        if kind == 0:
            return rng.choice([True, False])
        if kind == 1:
            return rng.randint(-2 ** 40, 2 ** 40)
        if kind == 2:
            x = rng.uniform(-1e6, 1e6) * 10 ** rng.randint(-12, 12)
            return x
        if kind == 3:
            return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        if kind in (4, 5):
            return [value(depth + 1) for _ in range(rng.randint(1, 4))]
        return {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))): value(depth + 1)
                for _ in range(rng.randint(1, 4))}

    for _ in range(200):
        doc = {"v": value(0)}
        lua_text = encode(lua, doc)
        assert json.loads(lua_text) == doc
        assert decode(lua, json.dumps(doc)) == doc
        assert decode(lua, json.dumps(doc, ensure_ascii=False)) == doc
        assert decode(lua, lua_text) == doc


def test_large_documents_decode_quickly_enough_for_thousands_of_photos(lua):
    doc = {"results": [{"index": i, "path": f"/photos/IMG_{i:05d}.CR3", "settings": {"Exposure2012": i / 1000}}
                       for i in range(5000)]}
    assert decode(lua, json.dumps(doc)) == doc
    assert math.isclose(json.loads(encode(lua, doc))["results"][4999]["settings"]["Exposure2012"], 4.999)
