"""installers/install.py against a temporary home for each OS: files land where Lightroom and the OS look for
them, the service definitions are valid, a second install changes nothing, uninstall leaves nothing behind."""
from __future__ import annotations

import importlib.util
import json
import plistlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lrsdk.harness import PLUGIN_DIR, Lightroom, to_py

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "installers" / "install.py"
VENV = ROOT / ".venv"
TASK_NS = "{http://schemas.microsoft.com/windows/2004/02/mit/task}"


@pytest.fixture(scope="module")
def installer():
    spec = importlib.util.spec_from_file_location("airetouch_install", INSTALLER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(installer, *args) -> list[str]:
    lines: list[str] = []
    assert installer.main([str(a) for a in args], out=lines.append) == 0
    return lines


def tree(root: Path, *, folder_times: bool = True) -> dict[str, tuple]:
    """Every path under root with its kind, size, mode and modification time (ns). A folder's time changes
    whenever an entry is added or removed, so `folder_times=False` leaves it out (to compare contents only)."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        is_dir = p.is_dir()
        out[str(p.relative_to(root))] = ("dir" if is_dir else "file", 0 if is_dir else st.st_size, st.st_mode,
                                         None if is_dir and not folder_times else st.st_mtime_ns)
    return out


def install_args(system: str, home: Path, *extra) -> list:
    return ["--os", system, "--home", home, "--no-register", "--no-venv", *extra]


@pytest.fixture
def home(tmp_path) -> Path:
    """The target user's home, with a folder that exists before the install (and must survive uninstall)."""
    h = tmp_path / "target home"
    (h / "Library" / "Application Support").mkdir(parents=True)
    (h / "AppData" / "Roaming").mkdir(parents=True)
    (h / ".config").mkdir()
    return h


def plugin_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in PLUGIN_DIR.iterdir() if p.is_file()}


# -- where things land ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("system, modules", [
    ("macos", "Library/Application Support/Adobe/Lightroom/Modules"),
    ("windows", "AppData/Roaming/Adobe/Lightroom/Modules"),
])
def test_the_plugin_lands_in_lightrooms_modules_folder(installer, home, system, modules):
    run(installer, *install_args(system, home))
    target = home / modules / "AIRetouch.lrplugin"
    installed = {p.name: p.read_bytes() for p in target.iterdir()}
    assert {k: v for k, v in installed.items() if k != "InstallConfig.lua"} == plugin_files()
    assert "InstallConfig.lua" in installed


def test_windows_appdata_folders_are_parameters(installer, tmp_path):
    roaming, local = tmp_path / "Roaming", tmp_path / "Local"
    run(installer, "--os", "windows", "--home", tmp_path / "home", "--appdata", roaming, "--localappdata", local,
        "--no-register", "--no-venv")
    assert (roaming / "Adobe" / "Lightroom" / "Modules" / "AIRetouch.lrplugin" / "Info.lua").is_file()
    assert (local / "airetouch" / "airetouch-bridge-task.xml").is_file()
    assert not (tmp_path / "home").exists()


def test_nothing_is_written_outside_the_given_home(installer, home, isolated_home):
    before = tree(isolated_home)  # the (isolated) real home of this test process
    for system in ("macos", "windows", "linux"):
        run(installer, *install_args(system, home))
    assert tree(isolated_home) == before
    for manifest in (home / "Library/Application Support/airetouch/install-manifest.json",
                     home / "AppData/Local/airetouch/install-manifest.json",
                     home / ".local/share/airetouch/install-manifest.json"):
        recorded = json.loads(manifest.read_text())
        paths = [Path(p) for p in recorded["files"] + recorded["dirs"]]
        assert paths and all(home in p.parents for p in paths)


def test_the_installed_plugin_finds_the_server_and_token_the_installer_named(installer, home, monkeypatch):
    monkeypatch.delenv("AIRETOUCH_CONFIG_DIR")
    run(installer, *install_args("macos", home, "--port", 9123))
    token = home / "Library" / "Application Support" / "airetouch" / "token"
    token.write_text("from-the-server\n")  # what the server writes on its first start
    lr = Lightroom(os_name="mac", home=home,
                   plugin_dir=home / "Library/Application Support/Adobe/Lightroom/Modules/AIRetouch.lrplugin")
    settings = lr.require("Settings")
    assert settings[b"serverUrl"]() == b"http://127.0.0.1:9123"
    assert to_py(settings[b"token"]()[0]) == "from-the-server"
    command = lr.require("ServerControl")[b"startCommand"]().decode()
    assert command == "/bin/launchctl kickstart gui/$(/usr/bin/id -u)/org.airetouch.bridge"


def test_the_windows_plugin_starts_the_server_through_its_task(installer, home):
    run(installer, *install_args("windows", home))
    lr = Lightroom(os_name="win", home=home,
                   plugin_dir=home / "AppData/Roaming/Adobe/Lightroom/Modules/AIRetouch.lrplugin")
    assert lr.require("ServerControl")[b"startCommand"]() == b'"schtasks /Run /TN "AI Retouch bridge""'
    config = (lr.plugin_dir / "InstallConfig.lua").read_text()
    assert str(home / "AppData" / "Roaming" / "airetouch" / "token") in config.replace("\\\\", "\\")


# -- login services ------------------------------------------------------------------------------------------
def test_the_launchd_agent_parses_and_starts_the_server_at_login(installer, home):
    run(installer, *install_args("macos", home, "--watch-dir", home / "Pictures" / "In"))
    plist_path = home / "Library" / "LaunchAgents" / "org.airetouch.bridge.plist"
    agent = plistlib.loads(plist_path.read_bytes())
    venv = home / "Library" / "Application Support" / "airetouch" / "venv"
    assert agent["Label"] == "org.airetouch.bridge"
    assert agent["ProgramArguments"] == [str(venv / "bin" / "airetouch"), "serve", "--watch",
                                         str(home / "Pictures" / "In")]
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] == {"SuccessfulExit": False}
    assert Path(agent["StandardOutPath"]).parent.is_dir() and home in Path(agent["StandardOutPath"]).parents


def test_the_windows_task_is_valid_task_scheduler_xml(installer, home):
    run(installer, *install_args("windows", home, "--port", 9000, "--user", r"PC\me"))
    xml = home / "AppData" / "Local" / "airetouch" / "airetouch-bridge-task.xml"
    data = xml.read_bytes()
    assert data[:2] in (b"\xff\xfe", b"\xfe\xff")  # UTF-16 with a byte order mark, as schtasks /XML wants
    task = ET.fromstring(data)
    assert task.tag == f"{TASK_NS}Task"
    assert task.find(f"{TASK_NS}Triggers/{TASK_NS}LogonTrigger/{TASK_NS}UserId").text == r"PC\me"
    assert task.find(f"{TASK_NS}Principals/{TASK_NS}Principal/{TASK_NS}LogonType").text == "InteractiveToken"
    exe = task.find(f"{TASK_NS}Actions/{TASK_NS}Exec")
    assert exe.find(f"{TASK_NS}Command").text.endswith("pythonw.exe")  # no console window at logon
    assert exe.find(f"{TASK_NS}Arguments").text == "-m bridge_server.cli serve --port 9000"
    assert task.find(f"{TASK_NS}Settings/{TASK_NS}ExecutionTimeLimit").text == "PT0S"


def test_linux_installs_the_server_and_watcher_units_and_no_plugin(installer, home):
    run(installer, *install_args("linux", home))
    units = home / ".config" / "systemd" / "user"
    assert sorted(p.name for p in units.iterdir()) == ["airetouch-watch.service", "airetouch.service"]
    exe = home / ".local/share/airetouch/venv/bin/airetouch"
    assert f'ExecStart="{exe}" serve\n' in (units / "airetouch.service").read_text()  # a path with a space
    assert not list(home.rglob("*.lrplugin"))
    assert (home / "AIRetouch" / "inbox").is_dir()


def test_systemd_units_pass_systemd_analyze_verify(installer, home):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    if not (VENV / "bin" / "airetouch").exists():
        pytest.skip(f"{VENV}/bin/airetouch is missing (installers/setup.sh): verify needs a real ExecStart")
    run(installer, "--os", "linux", "--home", home, "--no-register", "--use-venv", VENV)
    units = home / ".config" / "systemd" / "user"
    result = subprocess.run(["systemd-analyze", "verify", "airetouch.service", "airetouch-watch.service"],
                            cwd=units, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert str(home / "AIRetouch" / "inbox") in (units / "airetouch-watch.service").read_text()


# -- idempotency and uninstall -------------------------------------------------------------------------------
@pytest.mark.parametrize("system", ["macos", "windows", "linux"])
def test_a_second_install_changes_nothing(installer, home, system):
    run(installer, *install_args(system, home))
    before = tree(home)
    lines = run(installer, *install_args(system, home))
    assert lines == ["AI Retouch is already installed: nothing changed."]
    assert tree(home) == before


@pytest.mark.parametrize("system", ["macos", "windows", "linux"])
def test_uninstall_leaves_nothing_behind(installer, home, system):
    before = tree(home, folder_times=False)
    run(installer, *install_args(system, home))
    assert tree(home, folder_times=False) != before
    lines = run(installer, "--os", system, "--home", home, "--no-register", "--uninstall")
    assert lines[-1] == "AI Retouch is uninstalled."
    assert tree(home, folder_times=False) == before
    assert run(installer, "--os", system, "--home", home, "--no-register", "--uninstall")[-1] == \
        "AI Retouch is not installed: nothing to remove."


def test_uninstall_keeps_the_token_and_memory_unless_purged(installer, home):
    run(installer, *install_args("macos", home))
    support = home / "Library" / "Application Support" / "airetouch"
    (support / "token").write_text("t\n")  # written by the server, not the installer
    (support / "memory").mkdir()
    lines = run(installer, "--os", "macos", "--home", home, "--no-register", "--uninstall")
    assert "Kept your token and style memory" in lines[-1]
    assert (support / "token").is_file() and not (support / "install-manifest.json").exists()
    assert not (home / "Library" / "LaunchAgents" / "org.airetouch.bridge.plist").exists()
    run(installer, "--os", "macos", "--home", home, "--no-register", "--uninstall", "--purge")
    assert not support.exists()


def test_reinstall_updates_changed_files_and_removes_stale_ones(installer, home, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(PLUGIN_DIR, source / "lrplugin" / "AIRetouch.lrplugin")
    run(installer, *install_args("macos", home, "--source", source))
    plugin = home / "Library/Application Support/Adobe/Lightroom/Modules/AIRetouch.lrplugin"
    (plugin / "Leftover.lua").write_text("return {}")  # from an older version
    (source / "lrplugin" / "AIRetouch.lrplugin" / "Log.lua").write_text("return {} -- changed")
    lines = run(installer, *install_args("macos", home, "--source", source))
    assert f"update {plugin / 'Log.lua'}" in lines and f"remove {plugin / 'Leftover.lua'}" in lines
    assert (plugin / "Log.lua").read_text() == "return {} -- changed"
    assert not (plugin / "Leftover.lua").exists()


def test_dry_run_changes_nothing_and_says_what_it_would_do(installer, home):
    before = tree(home)
    lines = run(installer, "--os", "macos", "--home", home, "--dry-run")
    assert tree(home) == before
    assert lines[-1] == "dry run: nothing was changed."
    text = "\n".join(lines)
    assert f"pip install -c {ROOT / 'constraints.txt'} {ROOT}" in text
    assert "would run launchctl bootstrap" in text
    assert "would install the Lightroom plug-in" in text


def test_registration_commands_run_only_on_their_own_os(installer, home):
    other = "windows" if sys.platform != "win32" else "macos"
    lines = run(installer, "--os", other, "--home", home, "--no-venv")  # no --no-register
    assert any(line.startswith("not running ") and "skipped: not on" in line for line in lines)


def test_install_sh_runs_the_installer(home):
    result = subprocess.run(["sh", str(ROOT / "installers" / "install.sh"), "--os", "linux", "--home", str(home),
                             "--dry-run", "--no-venv"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("dry run: nothing was changed.")


def test_install_ps1_wraps_the_same_installer():
    script = (ROOT / "installers" / "install.ps1").read_text()
    assert "install.py" in script and "3.11" in script and "@args" in script
