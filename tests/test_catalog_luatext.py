"""The Lua table reader agrees with real Lua 5.1 on Lightroom's develop-settings texts and refuses code."""
from __future__ import annotations

import sqlite3
import zlib

import pytest

from catalog.errors import SettingsParseError
from catalog.luatext import decode_settings_blob, parse_lua_table
from test_catalog_support import LR5, compressed, lua_literal

lupa = pytest.importorskip("lupa.lua51")


def lua_eval(text: str):
    """What real Lua 5.1 makes of a settings text (run in an empty environment), as Python data."""
    runtime = lupa.LuaRuntime(register_eval=False, register_builtins=False)
    body = text.split("=", 1)[1] if not text.lstrip().startswith("{") else text
    chunk = runtime.execute("return function(src) local f = loadstring('return ' .. src); "
                            "setfenv(f, {}); return f() end")
    return to_python(chunk(body))


def to_python(value):
    if hasattr(value, "items"):
        data = {(int(k) if isinstance(k, float) and k.is_integer() else k): to_python(v)
                for k, v in value.items()}
        if data and all(isinstance(k, int) for k in data) and sorted(data) == list(range(1, len(data) + 1)):
            return [data[i] for i in range(1, len(data) + 1)]
        return data if data else []
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def numbers_as_float(value):
    if isinstance(value, dict):
        return {k: numbers_as_float(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers_as_float(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def catalog_texts(shared_data) -> list[str]:
    conn = sqlite3.connect(f"file:{shared_data / LR5}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT text FROM Adobe_imageDevelopSettings UNION ALL "
                            "SELECT text FROM Adobe_libraryImageDevelopHistoryStep").fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows if r[0]]


def test_real_catalog_settings_parse_like_lua(shared_data):
    texts = catalog_texts(shared_data)
    assert len(texts) == 8  # 4 current settings + 4 import steps in the LR5 catalog
    for text in texts:
        ours = parse_lua_table(text)
        assert numbers_as_float(ours) == numbers_as_float(lua_eval(text))
        assert ours["ProcessVersion"] == "6.7"
        assert ours["ToneCurvePV2012"] == [0, 0, 255, 255]


def test_keys_strings_and_nesting_match_lua():
    text = ('s = { a = { [1] = 2, [3] = 4 }, ["x y"] = "q\\"\\n\\65\\\\", b = -0x10, c = 1e3, '
            'd = { { x = 1 }, { x = 2 }; }, e = [==[long ]] str]==], f = -.5, g = { }, h = nil, '
            'MaskGroupBasedCorrections = { { What = "Correction", CorrectionMasks = { { MaskSubType = 3 } } } } '
            '} -- trailing comment')
    ours = parse_lua_table(text)
    assert ours["x y"] == 'q"\nA\\'
    assert ours["b"] == -16 and ours["f"] == -0.5 and ours["e"] == "long ]] str"
    assert ours["a"] == {1: 2, 3: 4}
    assert ours["MaskGroupBasedCorrections"][0]["CorrectionMasks"][0]["MaskSubType"] == 3
    lua = lua_eval(text)
    assert numbers_as_float({k: v for k, v in ours.items() if k != "h"}) == numbers_as_float(lua)


def test_zstr_strings_are_read_as_strings():
    assert parse_lua_table('s = { Look = { Name = ZSTR "$$$/Profiles/Adobe=Adobe Color" } }') == {
        "Look": {"Name": "$$$/Profiles/Adobe=Adobe Color"}}


@pytest.mark.parametrize("text", [
    "s = { os.execute('rm -rf /') }", "s = { a = f() }", "s = { a = 1 + 2 }", "s = {", "s = { a = 1 } x = 2",
    '{ a = "unclosed }', "return { a = 1 }", "s = { a = 1 .. 2 }", "s = 5",
])
def test_code_and_broken_text_are_refused(text):
    with pytest.raises(SettingsParseError):
        parse_lua_table(text)


def test_deep_nesting_is_refused():
    with pytest.raises(SettingsParseError, match="nested"):
        parse_lua_table("s = " + "{" * 200 + "}" * 200)


def test_writer_used_by_the_tests_round_trips():
    data = {"Exposure2012": 0.65, "Name": 'a "b"', "Curve": [0, 0, 255, 255], "On": True,
            "Masks": [{"What": "Mask/Image", "MaskSubType": 3}]}
    assert parse_lua_table("s = " + lua_literal(data)) == data
    assert lua_eval("s = " + lua_literal(data)) == data


def test_compressed_blob_decodes_to_the_same_text(shared_data):
    text = catalog_texts(shared_data)[0]
    assert decode_settings_blob(compressed(text)) == text
    assert decode_settings_blob(text.encode()) == text  # plain text stored as a BLOB
    assert decode_settings_blob(text) == text
    assert decode_settings_blob(None) is None


def test_damaged_compressed_blob_is_a_typed_error(shared_data):
    blob = compressed(catalog_texts(shared_data)[0])
    with pytest.raises(SettingsParseError):
        decode_settings_blob(blob[:4] + b"\x78\x9c" + bytes(range(200, 256)) * 3)
    with pytest.raises(SettingsParseError, match="header says"):
        decode_settings_blob((10).to_bytes(4, "big") + zlib.compress(b"s = { a = 1 }" * 3))
