"""Every plug-in file is Lua 5.1 (what Lightroom Classic runs), uses only Lightroom's globals, and Info.lua
declares the menu items and the providers."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from lupa.lua51 import LuaError

from lrsdk.harness import PLUGIN_DIR, Lightroom, lua_runtime, to_py

LUA_FILES = sorted(PLUGIN_DIR.glob("*.lua"))
LUAC = shutil.which("luac5.1")

# Globals a plug-in file may read in Lightroom: Lua 5.1's base library (without dofile, loadfile, module), the
# standard libraries Lightroom gives plug-ins (io included: the SDK has no call that writes a file's bytes, and
# plug-ins write their own temporary files with io.open) plus what Lightroom adds.
ALLOWED_GLOBALS = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring", "type", "unpack",
    "xpcall", "getmetatable", "setmetatable", "rawget", "rawset", "rawequal", "loadstring", "setfenv",
    "string", "table", "math", "os", "io", "coroutine",
    "import", "require", "_PLUGIN", "WIN_ENV", "MAC_ENV",
}
# The SDK namespaces the plug-in imports (all documented in the Lightroom Classic SDK).
SDK_NAMESPACES = {"LrApplication", "LrBinding", "LrDialogs", "LrFileUtils", "LrFunctionContext", "LrHttp",
                  "LrLogger", "LrPathUtils", "LrPrefs", "LrProgressScope", "LrStringUtils", "LrTasks", "LrUUID",
                  "LrView"}


def test_the_plugin_has_one_file_per_responsibility():
    names = {p.name for p in LUA_FILES}
    assert {"Info.lua", "JSON.lua", "Http.lua", "Settings.lua", "PluginInfoProvider.lua", "RetouchDialog.lua",
            "RetouchAction.lua", "TeachAction.lua", "PresetAction.lua", "Log.lua", "MatchAction.lua",
            "People.lua", "TempFiles.lua"} <= names


@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: p.name)
def test_file_compiles_under_lua51(path):
    rt = lua_runtime()
    ok, err = rt.execute(b"local src, name = ...; local f, err = loadstring(src, name); return f ~= nil, err",
                         path.read_bytes(), ("=" + path.name).encode())
    assert ok, err


@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: p.name)
def test_file_passes_luac51_parse_check(path):
    if LUAC is None:
        pytest.skip("luac5.1 is not installed (apt-get install lua5.1)")
    result = subprocess.run([LUAC, "-p", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: p.name)
def test_file_reads_only_lightroom_globals_and_writes_none(path):
    if LUAC is None:
        pytest.skip("luac5.1 is not installed (apt-get install lua5.1)")
    listing = subprocess.run([LUAC, "-p", "-l", str(path)], capture_output=True, text=True, check=True).stdout
    written = set(re.findall(r"SETGLOBAL\s.*; (\S+)", listing))
    read = set(re.findall(r"GETGLOBAL\s.*; (\S+)", listing))
    assert written == set(), f"{path.name} assigns globals: {written}"
    assert read <= ALLOWED_GLOBALS, f"{path.name} reads undeclared globals: {read - ALLOWED_GLOBALS}"


@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: p.name)
def test_imports_and_requires_resolve(path):
    source = path.read_text(encoding="utf-8")
    for name in re.findall(r"import\s*\(?\s*'(\w+)'", source):
        assert name in SDK_NAMESPACES, f"{path.name} imports {name}"
    for name in re.findall(r"require\s*\(?\s*'(\w+)'", source):
        assert (PLUGIN_DIR / f"{name}.lua").is_file(), f"{path.name} requires a missing {name}.lua"


@pytest.mark.parametrize("snippet", ["goto done", "::done::", "local x = 7 // 2", "local x = 1 & 3",
                                     "local x = 1 << 2"])
def test_lua52_and_later_syntax_would_be_caught(snippet):
    rt = lua_runtime()
    ok = rt.execute(b"return loadstring(...) ~= nil", snippet.encode())
    assert not ok


def test_info_declares_the_menu_items_and_the_providers(isolated_home):
    info = to_py(Lightroom(home=isolated_home).load("Info.lua"))
    assert info["LrSdkVersion"] == 13.0 and info["LrSdkMinimumVersion"] >= 11.0
    assert info["LrToolkitIdentifier"] == "org.airetouch.lightroom"
    assert info["LrPluginName"] == "AI Retouch"
    titles = {item["title"]: item["file"] for item in info["LrLibraryMenuItems"]}
    assert titles == {"AI Retouch…": "RetouchAction.lua",
                      "Match a look from the active photo…": "MatchAction.lua",
                      "Teach AI Retouch from these edits": "TeachAction.lua",
                      "Save my style as a preset": "PresetAction.lua"}
    assert info["LrExportMenuItems"] == info["LrLibraryMenuItems"]
    assert info["LrPluginInfoProvider"] == "PluginInfoProvider.lua"
    for name in [*titles.values(), info["LrPluginInfoProvider"], info["LrMetadataProvider"]]:
        assert (PLUGIN_DIR / name).is_file()


def test_every_module_loads_in_lightrooms_strict_environment(isolated_home):
    for path in LUA_FILES:
        if path.stem.endswith("Action"):
            continue  # menu scripts start a task when run; they are run by the end-to-end tests
        lr = Lightroom(home=isolated_home)
        try:
            lr.load(path.name)
        except LuaError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{path.name}: {exc}")


def test_the_hidden_plan_field_is_declared_without_a_title(isolated_home):
    definition = to_py(Lightroom(home=isolated_home).load("MetadataDefinition.lua"))
    fields = {f["id"]: f for f in definition["metadataFieldsForPhotos"]}
    assert "proposedPlan" in fields and "title" not in fields["proposedPlan"]
    assert fields["proposedPlan"]["dataType"] == "string"
