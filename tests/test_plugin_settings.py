"""The plug-in's settings, token lookup, HTTP client and Plug-in Manager section, under real Lua 5.1 against the
real bridge server."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lrsdk.fixtures import bridge, free_port, lightroom, offline_lightroom  # noqa: F401
from lrsdk.harness import PLUGIN_DIR, Lightroom, to_py

ROOT = Path(__file__).resolve().parents[1]


def call(lr: Lightroom, module: str, function: str, *args):
    """module.function(*args) in a task (as the plug-in calls it), returning its results as Python values."""
    results = []
    fn = lr.require(module)[function.encode()]
    runner = lr.lua.eval(b"function(sdk, fn, sink, ...) local args = {n = select('#', ...), ...} "
                         b"sdk.namespaces.LrTasks.startAsyncTask(function() "
                         b"local function pack(...) return {n = select('#', ...), ...} end "
                         b"local r = pack(fn(unpack(args, 1, args.n))); sink(r.n, unpack(r, 1, r.n)) end) end")
    runner(lr.sdk, fn, lambda n, *r: results.append([to_py(v) for v in (r + (None,) * n)[:n]]),
           *[lr.to_lua(a) for a in args])
    lr.run_tasks()
    assert lr.uncaught == []
    return results[0]


def plugin_copy(tmp_path: Path, install_config: str) -> Path:
    copy = tmp_path / "AIRetouch.lrplugin"
    shutil.copytree(PLUGIN_DIR, copy)
    (copy / "InstallConfig.lua").write_text(install_config, encoding="utf-8")
    return copy


# -- server address ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, expected", [
    ("", "http://127.0.0.1:8765"),
    ("localhost:9000", "http://localhost:9000"),
    ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
    ("  HTTP://LocalHost:1234  ", "http://localhost:1234"),
    ("[::1]:8765", "http://[::1]:8765"),
    ("127.0.0.1", "http://127.0.0.1"),
])
def test_server_addresses_are_normalised(isolated_home, typed, expected):
    lr = Lightroom(home=isolated_home)
    assert to_py(lr.require("Settings")[b"normalizeServerUrl"](typed.encode())) == expected


@pytest.mark.parametrize("typed, why", [
    ("http://192.168.1.20:8765", "only runs on this computer"),
    ("https://127.0.0.1:8765", "plain http"),
    ("http://example.com", "only runs on this computer"),
    ("http://127.0.0.1:8765/v1", "should look like"),
])
def test_addresses_off_this_machine_are_refused(isolated_home, typed, why):
    lr = Lightroom(home=isolated_home)
    url, message = lr.require("Settings")[b"normalizeServerUrl"](typed.encode())
    assert url is None and why in message.decode()


def test_the_typed_address_wins_over_the_installers_and_the_default(isolated_home, tmp_path):
    copy = plugin_copy(tmp_path, 'return { serverUrl = "http://127.0.0.1:9999" }\n')
    lr = Lightroom(home=isolated_home, plugin_dir=copy)
    settings = lr.require("Settings")
    assert settings[b"serverUrl"]() == b"http://127.0.0.1:9999"
    lr.set_prefs(serverUrl="localhost:7000")
    assert settings[b"serverUrl"]() == b"http://localhost:7000"
    lr2 = Lightroom(home=isolated_home)
    assert lr2.require("Settings")[b"serverUrl"]() == b"http://127.0.0.1:8765"


# -- the token -----------------------------------------------------------------------------------------------
def test_the_token_is_read_from_the_file_the_server_writes(lightroom, bridge):
    token, source = lightroom.require("Settings")[b"token"]()
    assert token.decode() == bridge.token
    assert source.decode() == str(bridge.token_file)


def test_macos_default_token_path_is_the_one_docs_api_names(isolated_home, monkeypatch):
    monkeypatch.delenv("AIRETOUCH_CONFIG_DIR")
    token_file = isolated_home / "Library" / "Application Support" / "airetouch" / "token"
    token_file.parent.mkdir(parents=True)
    token_file.write_text("mac-token\n")
    lr = Lightroom(os_name="mac", home=isolated_home)
    token, source = lr.require("Settings")[b"token"]()
    assert (token, source) == (b"mac-token", str(token_file).encode())


def test_windows_default_token_path_is_under_appdata(isolated_home, monkeypatch):
    monkeypatch.delenv("AIRETOUCH_CONFIG_DIR")
    monkeypatch.setenv("APPDATA", r"C:\Users\me\AppData\Roaming")
    lr = Lightroom(os_name="win", home=isolated_home)
    files = to_py(lr.require("Settings")[b"tokenFiles"]())
    assert files[-1]["path"] == r"C:\Users\me\AppData\Roaming\airetouch\token"


def test_the_installers_token_file_comes_before_the_default(isolated_home, tmp_path, monkeypatch):
    monkeypatch.delenv("AIRETOUCH_CONFIG_DIR")
    token_file = tmp_path / "elsewhere" / "token"
    token_file.parent.mkdir()
    token_file.write_text("  installed-token \n")
    copy = plugin_copy(tmp_path, f"return {{ tokenFile = {str(token_file)!r} }}\n".replace("'", '"'))
    lr = Lightroom(home=isolated_home, plugin_dir=copy)
    assert lr.require("Settings")[b"token"]()[0] == b"installed-token"


def test_a_typed_token_comes_first(lightroom):
    lightroom.set_prefs(token=" typed ")
    assert lightroom.require("Settings")[b"token"]() == (b"typed", b"the token typed in the Plug-in Manager")


def test_an_install_config_cannot_run_code(isolated_home, tmp_path):
    copy = plugin_copy(tmp_path, 'os.exit(3)\nreturn { serverUrl = "http://127.0.0.1:1" }\n')
    lr = Lightroom(home=isolated_home, plugin_dir=copy)
    assert lr.require("Settings")[b"serverUrl"]() == b"http://127.0.0.1:8765"


# -- catalog identity ----------------------------------------------------------------------------------------
def test_each_catalog_gets_one_stable_id_kept_in_the_preferences(isolated_home):
    lr = Lightroom(home=isolated_home)
    identity = lr.require("CatalogIdentity")[b"of"]
    catalog = lr.sdk.namespaces[b"LrApplication"][b"activeCatalog"]()
    first, again = to_py(identity(catalog)), to_py(identity(catalog))
    assert first == again and first["name"] == "Test Catalog"
    assert first["path"] == "/Users/me/Pictures/Lightroom/Test Catalog.lrcat"
    lr.sdk.setCatalogPath(b"/Users/me/Other.lrcat")
    other = to_py(identity(catalog))
    assert other["id"] != first["id"] and other["name"] == "Other"
    assert lr.prefs["catalogIds"] == {first["path"]: first["id"], other["path"]: other["id"]}


# -- the HTTP client -----------------------------------------------------------------------------------------
def test_http_errors_carry_the_servers_code_and_message(lightroom):
    data, err = call(lightroom, "Http", "get", "/v1/no-such-route")
    assert data is None
    assert err["kind"] == "http" and err["status"] == 404 and err["code"] == "not_found"
    assert "no such route" in err["message"]


def test_an_invalid_request_names_the_field(lightroom):
    data, err = call(lightroom, "Http", "post", "/v1/plan", {"photo": {"path": "relative.jpg"}})
    assert err["status"] == 422 and err["field"] == "photo.path"
    description = to_py(lightroom.require("Http")[b"describe"](lightroom.to_lua(err)))
    assert "relative.jpg" in description


def test_network_failure_means_server_not_running(offline_lightroom):
    data, err = call(offline_lightroom, "Http", "health")
    assert data is None and err["kind"] == "not_running"


def test_requests_carry_the_bearer_token_and_json(lightroom, bridge):
    data = call(lightroom, "Http", "get", "/v1/schema/plan")[0]
    assert isinstance(data, dict) and data  # an authenticated route answered
    lightroom.set_prefs(token="wrong")
    data, err = call(lightroom, "Http", "get", "/v1/schema/plan")
    assert err["kind"] == "unauthorized" and err["status"] == 401


def test_http_needs_a_task(lightroom):
    from lupa.lua51 import LuaError
    with pytest.raises(LuaError, match="must be called from within a task"):
        lightroom.require("Http")[b"health"]()


# -- Plug-in Manager -----------------------------------------------------------------------------------------
def provider_section(lr: Lightroom):
    provider = lr.load("PluginInfoProvider.lua")
    props = lr.lua.table()
    provider[b"startDialog"](props)
    factory = lr.sdk.namespaces[b"LrView"][b"osFactory"]()
    sections = provider[b"sectionsForTopOfDialog"](factory, props)
    buttons = {}

    def walk(view):
        if view[b"viewType"] == b"push_button":
            buttons[view[b"title"].decode()] = view[b"action"]
        for i in range(1, len(view) + 1):
            walk(view[i])
    for i in range(1, len(sections[1]) + 1):
        walk(sections[1][i])
    return provider, props, buttons


def test_plugin_manager_shows_address_and_token_status(lightroom, bridge):
    _, props, buttons = provider_section(lightroom)
    assert props[b"serverUrl"].decode() == bridge.url
    assert props[b"tokenStatus"].decode() == f"Access token: found ({bridge.token_file})."
    assert set(buttons) == {"Test connection", "Start server"}


def test_test_connection_checks_health_and_token(lightroom, bridge):
    _, props, buttons = provider_section(lightroom)
    buttons["Test connection"](None)
    lightroom.run_tasks()
    status = props[b"connectionStatus"].decode()
    assert status.startswith("Connected to AI Retouch bridge") and status.endswith("The access token works.")

    props[b"token"] = b"wrong"
    buttons["Test connection"](None)
    lightroom.run_tasks()
    assert "refused the plug-in's access token" in props[b"connectionStatus"].decode()


def test_test_connection_says_when_the_server_is_down(offline_lightroom):
    _, props, buttons = provider_section(offline_lightroom)
    buttons["Test connection"](None)
    offline_lightroom.run_tasks()
    assert "is not running" in props[b"connectionStatus"].decode()


def test_a_bad_address_is_not_saved(lightroom, bridge):
    provider, props, buttons = provider_section(lightroom)
    props[b"serverUrl"] = b"http://10.0.0.1:8765"
    provider[b"endDialog"](props)
    assert lightroom.prefs["serverUrl"] == bridge.url
    props[b"serverUrl"] = b"localhost:8000"
    provider[b"endDialog"](props)
    assert lightroom.prefs["serverUrl"] == "http://localhost:8000"


@pytest.mark.parametrize("os_name, config, expected", [
    ("mac", "", "nohup 'airetouch' serve --port {port} >/dev/null 2>&1 &"),
    ("mac", 'launcher = "launchd", serverCommand = "/opt/ai/bin/airetouch"',
     "/bin/launchctl kickstart gui/$(/usr/bin/id -u)/org.airetouch.bridge"),
    ("win", 'launcher = "schtasks"', '"schtasks /Run /TN "AI Retouch bridge""'),
    ("win", r'serverCommand = "C:\\AI\\Scripts\\airetouch.exe"',
     r'"start "AI Retouch bridge" /B "C:\AI\Scripts\airetouch.exe" serve --port {port}"'),
])
def test_start_server_command_per_os(isolated_home, tmp_path, os_name, config, expected):
    port = free_port()
    copy = plugin_copy(tmp_path, "return { " + config + " }\n")
    lr = Lightroom(os_name=os_name, home=isolated_home, plugin_dir=copy)
    lr.set_prefs(serverUrl=f"http://127.0.0.1:{port}")
    assert lr.require("ServerControl")[b"startCommand"]().decode() == expected.format(port=port)


def test_start_server_reports_when_nothing_answers(offline_lightroom):
    _, props, buttons = provider_section(offline_lightroom)
    buttons["Start server"](None)
    offline_lightroom.run_tasks()
    assert len(offline_lightroom.executed) == 1
    assert "did not answer within 30 seconds" in props[b"connectionStatus"].decode()


def test_start_server_does_nothing_when_it_already_runs(lightroom):
    _, props, buttons = provider_section(lightroom)
    buttons["Start server"](None)
    lightroom.run_tasks()
    assert lightroom.executed == []
    assert props[b"connectionStatus"].decode().startswith("Connected to AI Retouch bridge")


def test_start_server_really_starts_airetouch_serve(isolated_home, tmp_path):
    """The button runs the installed `airetouch serve` in the background; the plug-in then finds it healthy
    and reads the token it created."""
    executable = ROOT / ".venv" / "bin" / "airetouch"
    if not executable.exists():
        pytest.skip(f"{executable} is not installed (installers/setup.sh)")
    port = free_port()
    copy = plugin_copy(tmp_path, f'return {{ serverCommand = "{executable}" }}\n')
    lr = Lightroom(os_name="mac", home=isolated_home, plugin_dir=copy)
    lr.set_prefs(serverUrl=f"http://127.0.0.1:{port}")
    lr.sdk.realExecute = True
    lr.sdk.realSleep = True
    _, props, buttons = provider_section(lr)
    try:
        buttons["Start server"](None)
        lr.run_tasks()
        assert props[b"connectionStatus"].decode().startswith("Connected to AI Retouch bridge"), \
            props[b"connectionStatus"]
        assert props[b"tokenStatus"].decode().startswith("Access token: found")
    finally:
        lr.end_processes()
