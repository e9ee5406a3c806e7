#!/usr/bin/env python3
"""Install AI Retouch for this user: one command per OS (install.sh / install.ps1 call this file).

    python installers/install.py              install (or bring up to date)
    python installers/install.py --uninstall  remove everything the installer put in place
    python installers/install.py --dry-run    say what would change, change nothing

What it does, on every OS:
  1. a virtual environment with the bridge (pip with `-c constraints.txt`), and the vision models;
  2. macOS and Windows: the Lightroom Classic plug-in copied into Lightroom's Modules folder
     (macOS ~/Library/Application Support/Adobe/Lightroom/Modules, Windows %APPDATA%\\Adobe\\Lightroom\\Modules),
     with a generated InstallConfig.lua that tells the plug-in the server address, where the server's token
     file is (docs/API.md) and how to start the server;
  3. the server started at login: a launchd agent (~/Library/LaunchAgents/org.airetouch.bridge.plist), a
     scheduled task (schtasks /Create /XML) or systemd user units (~/.config/systemd/user: the server and a
     watch folder; Linux has no Lightroom, so no plug-in).
Both directions are idempotent: a second install changes nothing (and says "already installed"); uninstall
removes the files, folders and registrations listed in the install manifest and keeps the token and the
style memory unless --purge. The OS and the home folders are parameters, so tests install into a temporary
home; registration commands (launchctl, schtasks, systemctl) run only on the OS they belong to.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_NAME = "AIRetouch.lrplugin"
LAUNCHD_LABEL = "org.airetouch.bridge"
WINDOWS_TASK = "AI Retouch bridge"
SYSTEMD_SERVER = "airetouch.service"
SYSTEMD_WATCHER = "airetouch-watch.service"
DEFAULT_PORT = 8765
MANIFEST = "install-manifest.json"
STAMP = ".airetouch-install.json"
SYSTEMS = ("macos", "windows", "linux")


def host_system() -> str:
    return {"darwin": "macos", "win32": "windows"}.get(sys.platform, "linux")


# -- where things go --------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Layout:
    """Every path the installer touches, for one OS and one user's folders."""

    system: str
    home: Path
    appdata: Path  # Windows %APPDATA% (Roaming)
    localappdata: Path  # Windows %LOCALAPPDATA%
    app_dir: Path  # the installer's own folder: venv, manifest, task XML
    config_dir: Path  # the server's configuration folder (the token lives here: docs/API.md)
    modules_dir: Path | None  # Lightroom's Modules folder (no Lightroom on Linux)
    logs_dir: Path
    watch_dir: Path | None

    @classmethod
    def build(cls, system: str, home: Path, appdata: Path | None = None, localappdata: Path | None = None,
              watch_dir: Path | None = None, prefix: Path | None = None, *, watch: bool = True,
              config_dir: Path | None = None) -> "Layout":
        """Paths for `system` under `home` (and Windows' AppData folders). `config_dir`: where the server keeps
        its token when that is not the OS default (AIRETOUCH_CONFIG_DIR, XDG_CONFIG_HOME)."""
        layout = cls._build(system, Path(home), appdata, localappdata, watch_dir, prefix, watch)
        if config_dir is not None:
            layout = dataclasses.replace(layout, config_dir=Path(config_dir))
        return layout

    @classmethod
    def _build(cls, system, home, appdata, localappdata, watch_dir, prefix, watch) -> "Layout":
        appdata = Path(appdata) if appdata else home / "AppData" / "Roaming"
        localappdata = Path(localappdata) if localappdata else home / "AppData" / "Local"
        if system == "macos":
            support = home / "Library" / "Application Support"
            return cls(system, home, appdata, localappdata, Path(prefix or support / "airetouch"),
                       support / "airetouch", support / "Adobe" / "Lightroom" / "Modules",
                       home / "Library" / "Logs" / "airetouch", watch_dir)
        if system == "windows":
            return cls(system, home, appdata, localappdata, Path(prefix or localappdata / "airetouch"),
                       appdata / "airetouch", appdata / "Adobe" / "Lightroom" / "Modules",
                       localappdata / "airetouch" / "logs", watch_dir)
        return cls(system, home, appdata, localappdata, Path(prefix or home / ".local" / "share" / "airetouch"),
                   home / ".config" / "airetouch", None, home / ".local" / "state" / "airetouch",
                   (watch_dir or home / "AIRetouch" / "inbox") if watch else None)

    @property
    def plugin_dir(self) -> Path | None:
        return self.modules_dir / PLUGIN_NAME if self.modules_dir else None

    @property
    def token_file(self) -> Path:
        return self.config_dir / "token"

    @property
    def manifest(self) -> Path:
        return self.app_dir / MANIFEST

    @property
    def launch_agent(self) -> Path:
        return self.home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"

    @property
    def task_xml(self) -> Path:
        return self.app_dir / "airetouch-bridge-task.xml"

    @property
    def systemd_dir(self) -> Path:
        return self.home / ".config" / "systemd" / "user"


@dataclasses.dataclass(frozen=True)
class Environment:
    """The Python environment that runs the server."""

    venv: Path
    owned: bool  # created by this installer (and removed by uninstall)
    system: str

    @property
    def bin(self) -> Path:
        return self.venv / ("Scripts" if self.system == "windows" else "bin")

    @property
    def airetouch(self) -> Path:
        return self.bin / ("airetouch.exe" if self.system == "windows" else "airetouch")

    @property
    def python(self) -> Path:
        return self.bin / ("python.exe" if self.system == "windows" else "python")

    @property
    def pythonw(self) -> Path:
        return self.bin / "pythonw.exe"  # Windows: no console window at logon


# -- changes ----------------------------------------------------------------------------------------------
class Installer:
    """Applies (or, in a dry run, describes) changes; remembers what it created for the manifest."""

    def __init__(self, layout: Layout, *, dry_run: bool, register: bool, verbose: bool = False,
                 out: Callable[[str], None] = print):
        self.layout = layout
        self.dry_run = dry_run
        self.register = register and layout.system == host_system()
        self.verbose = verbose
        self.out = out
        self.changes: list[str] = []
        self.created_files: set[str] = set()
        self.created_dirs: set[str] = set()
        self.removed: set[str] = set()

    def change(self, line: str) -> None:
        self.changes.append(line)
        self.out(("would " if self.dry_run else "") + line)

    def ensure_dir(self, path: Path) -> None:
        missing = []
        p = path
        while not (p.exists() or str(p) in self.created_dirs):
            missing.append(p)
            if p.parent == p:
                break
            p = p.parent
        for d in reversed(missing):
            if d != self.layout.home and d not in self.layout.home.parents:  # never claim the home itself
                self.created_dirs.add(str(d))
            if not self.dry_run:
                d.mkdir()
        if missing:
            self.change(f"create folder {path}")

    def write(self, path: Path, content: bytes, mode: int | None = None) -> bool:
        """Write the file only when its content differs (so that a second install changes nothing)."""
        self.created_files.add(str(path))
        if path.is_file() and path.read_bytes() == content:
            return False
        self.ensure_dir(path.parent)
        verb = "update" if path.exists() else "create"
        if not self.dry_run:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(content)
            if mode is not None:
                tmp.chmod(mode)
            os.replace(tmp, path)
        if self.verbose or verb == "update":
            self.change(f"{verb} {path}")
        else:
            self.changes.append(f"{verb} {path}")
        return True

    def remove(self, path: Path) -> None:
        if str(path) in self.removed or any(str(parent) in self.removed for parent in path.parents):
            return
        if path.is_dir() and not path.is_symlink():
            if not self.dry_run:
                shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            if not self.dry_run:
                path.unlink()
        else:
            return
        self.removed.add(str(path))
        self.change(f"remove {path}")

    def empty_after_removals(self, folder: Path) -> bool:
        """Is the folder empty once what was removed is gone (what a dry run has only planned counts too)?"""
        for child in folder.iterdir():
            if str(child) in self.removed:
                continue
            if child.is_dir() and not child.is_symlink() and self.empty_after_removals(child):
                continue
            return False
        return True

    def run(self, command: list[str], *, check: bool = True, quiet: bool = False) -> int:
        """Run a registration command on its own OS; elsewhere (and in a dry run) only say it."""
        text = " ".join(shlex.quote(c) for c in command)
        if self.dry_run or not self.register:
            if not quiet:
                reason = "" if self.dry_run else f" (skipped: not on {self.layout.system} or --no-register)"
                self.out(("would run " if self.dry_run else "not running ") + text + reason)
            return 0
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 and check:
            self.out(f"warning: `{text}` failed ({result.returncode}): {(result.stderr or result.stdout).strip()}")
        elif not quiet:
            self.change(f"run {text}")
        return result.returncode


# -- steps ------------------------------------------------------------------------------------------------
def source_digest(source: Path, python: str) -> str:
    """What the environment is built from: constraints, project metadata, the package sources, the Python."""
    h = hashlib.sha256(python.encode())
    files = [source / "constraints.txt", source / "pyproject.toml"]
    for package in ("bridge_server", "catalog"):
        files += sorted(p for p in (source / package).rglob("*.py") if "__pycache__" not in p.parts)
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(source)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def step_environment(inst: Installer, env: Environment, source: Path, python: str, fetch_models: bool) -> None:
    if not env.owned:
        if not env.airetouch.exists():
            raise SystemExit(f"error: {env.airetouch} not found: --use-venv needs an environment with AI Retouch "
                             "installed (installers/setup.sh)")
        return
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True,
                             text=True).stdout.strip() if not inst.dry_run else "dry-run"
    stamp = {"source": source_digest(source, version)}
    stamp_file = env.venv / STAMP
    if env.airetouch.exists() and stamp_file.is_file():
        try:
            if json.loads(stamp_file.read_text(encoding="utf-8")) == stamp:
                return
        except ValueError:
            pass
    if inst.dry_run:
        inst.change(f"create the environment {env.venv} and install AI Retouch with "
                    f"pip install -c {source / 'constraints.txt'} {source}")
        return
    inst.ensure_dir(env.venv.parent)
    if not env.python.exists():
        subprocess.run([python, "-m", "venv", str(env.venv)], check=True)
    pip = [str(env.python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["--upgrade", "pip"], check=False)
    subprocess.run(pip + ["-c", str(source / "constraints.txt"), str(source)], check=True)
    if fetch_models:
        if subprocess.run([str(env.airetouch), "models", "--fetch"]).returncode != 0:
            inst.out("warning: the vision models could not be provisioned; AI Retouch uses its fallbacks "
                     f"until `{env.airetouch} models --fetch` succeeds")
    stamp_file.write_text(json.dumps(stamp), encoding="utf-8")
    inst.change(f"install AI Retouch into {env.venv}")


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def install_config(layout: Layout, env: Environment, port: int, autostart: bool) -> bytes:
    """InstallConfig.lua: plain data the plug-in reads (Settings.lua) to find the server and its token."""
    launcher = {"macos": "launchd", "windows": "schtasks"}.get(layout.system) if autostart else None
    fields = [("serverUrl", f"http://127.0.0.1:{port}"), ("tokenFile", str(layout.token_file)),
              ("serverCommand", str(env.airetouch))]
    if launcher:
        fields.append(("launcher", launcher))
    lines = ["-- Written by installers/install.py (reinstalling rewrites it). Plain data: the plug-in reads it",
             "-- without running anything else.", "return {"]
    lines += [f"  {key} = {lua_string(value)}," for key, value in fields]
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def step_plugin(inst: Installer, layout: Layout, env: Environment, source: Path, port: int,
                autostart: bool) -> None:
    target = layout.plugin_dir
    if target is None:
        return
    plugin_source = source / "lrplugin" / PLUGIN_NAME
    wanted: dict[str, bytes] = {}
    for f in sorted(plugin_source.rglob("*")):
        rel = f.relative_to(plugin_source)
        if f.is_file() and not any(part.startswith(".") for part in rel.parts) and rel.name != "InstallConfig.lua":
            wanted[rel.as_posix()] = f.read_bytes()
    wanted["InstallConfig.lua"] = install_config(layout, env, port, autostart)
    changed = 0
    inst.ensure_dir(target)
    for rel, content in wanted.items():
        changed += inst.write(target / rel, content)
    if target.is_dir():
        for f in sorted(target.rglob("*"), reverse=True):
            rel = f.relative_to(target).as_posix()
            if f.is_file() and rel not in wanted:
                inst.remove(f)
            elif f.is_dir() and not any(w.startswith(rel + "/") for w in wanted):
                inst.remove(f)
    if changed:
        inst.change(f"install the Lightroom plug-in ({changed} file(s)) in {target}")


def server_args(port: int, watch_dir: Path | None) -> list[str]:
    args = ["serve"]
    if port != DEFAULT_PORT:
        args += ["--port", str(port)]
    if watch_dir is not None:
        args += ["--watch", str(watch_dir)]
    return args


def launch_agent_plist(layout: Layout, env: Environment, port: int) -> bytes:
    return plistlib.dumps({
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": [str(env.airetouch), *server_args(port, layout.watch_dir)],
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},  # restart after a crash, not after a clean stop
        "ProcessType": "Interactive",
        "StandardOutPath": str(layout.logs_dir / "bridge.log"),
        "StandardErrorPath": str(layout.logs_dir / "bridge.log"),
        "EnvironmentVariables": {"PATH": f"{env.bin}:/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                                 "PYTHONUNBUFFERED": "1"},
    }, sort_keys=True)


def xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def windows_task_xml(layout: Layout, env: Environment, port: int, user: str) -> bytes:
    """A Task Scheduler task (schema 1.2) that starts the server at this user's logon, without a console."""
    arguments = " ".join(subprocess.list2cmdline([a]) for a in ["-m", "bridge_server.cli",
                                                                 *server_args(port, layout.watch_dir)])
    xml = f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>AI Retouch bridge: the local server the Lightroom Classic plug-in talks to</Description>
    <URI>\\{xml_text(WINDOWS_TASK)}</URI>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>{xml_text(user)}</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>{xml_text(user)}</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <AllowHardTerminate>true</AllowHardTerminate>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <IdleSettings>
      <StopOnIdleEnd>false</StopOnIdleEnd>
      <RestartOnIdle>false</RestartOnIdle>
    </IdleSettings>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
    <RunOnlyIfIdle>false</RunOnlyIfIdle>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <Priority>7</Priority>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>3</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{xml_text(str(env.pythonw))}</Command>
      <Arguments>{xml_text(arguments)}</Arguments>
      <WorkingDirectory>{xml_text(str(layout.app_dir))}</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
"""
    return xml.replace("\n", "\r\n").encode("utf-16")  # schtasks /XML reads UTF-16 with a byte order mark


def systemd_quote(value: str) -> str:
    if value and all(c.isalnum() or c in "/._-+:=@%," for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(description: str, command: list[str]) -> bytes:
    exec_start = " ".join(systemd_quote(c).replace("%", "%%") for c in command)
    return f"""[Unit]
Description={description}

[Service]
Type=simple
ExecStart={exec_start}
Restart=on-failure
RestartSec=5
Environment=PYTHONUNBUFFERED=1
NoNewPrivileges=true

[Install]
WantedBy=default.target
""".encode("utf-8")


def step_autostart(inst: Installer, layout: Layout, env: Environment, port: int, user: str) -> None:
    if layout.system == "macos":
        inst.ensure_dir(layout.logs_dir)
        domain = f"gui/{os.getuid() if hasattr(os, 'getuid') else 501}"
        if inst.write(layout.launch_agent, launch_agent_plist(layout, env, port), 0o644):
            inst.change(f"register the login agent {layout.launch_agent}")
            inst.run(["launchctl", "bootout", f"{domain}/{LAUNCHD_LABEL}"], check=False, quiet=True)
            inst.run(["launchctl", "bootstrap", domain, str(layout.launch_agent)])
        elif inst.register and not inst.dry_run and inst.run(
                ["launchctl", "print", f"{domain}/{LAUNCHD_LABEL}"], check=False, quiet=True) != 0:
            inst.run(["launchctl", "bootstrap", domain, str(layout.launch_agent)])  # installed but not loaded
    elif layout.system == "windows":
        if inst.write(layout.task_xml, windows_task_xml(layout, env, port, user)):
            inst.change(f"register the logon task \"{WINDOWS_TASK}\" ({layout.task_xml})")
            inst.run(["schtasks", "/Create", "/TN", WINDOWS_TASK, "/XML", str(layout.task_xml), "/F"])
            inst.run(["schtasks", "/Run", "/TN", WINDOWS_TASK], check=False)
    else:
        units = {SYSTEMD_SERVER: systemd_unit("AI Retouch bridge server",
                                              [str(env.airetouch), *server_args(port, None)])}
        if layout.watch_dir is not None:
            inst.ensure_dir(layout.watch_dir)
            units[SYSTEMD_WATCHER] = systemd_unit(f"AI Retouch watch folder {layout.watch_dir}",
                                                  [str(env.airetouch), "watch", str(layout.watch_dir)])
        existed = {name for name in units if (layout.systemd_dir / name).exists()}
        changed = [name for name, text in units.items()
                   if inst.write(layout.systemd_dir / name, text, 0o644)]
        if changed:
            inst.change(f"register the systemd user units {', '.join(changed)} in {layout.systemd_dir}")
            inst.run(["systemctl", "--user", "daemon-reload"])
            inst.run(["systemctl", "--user", "enable", "--now", *units])
            updated = [name for name in changed if name in existed]
            if updated:
                inst.run(["systemctl", "--user", "restart", *updated], check=False)


def unregister(inst: Installer, layout: Layout) -> None:
    if layout.system == "macos" and layout.launch_agent.exists():
        domain = f"gui/{os.getuid() if hasattr(os, 'getuid') else 501}"
        inst.run(["launchctl", "bootout", f"{domain}/{LAUNCHD_LABEL}"], check=False)
    elif layout.system == "windows" and layout.task_xml.exists():
        inst.run(["schtasks", "/End", "/TN", WINDOWS_TASK], check=False)
        inst.run(["schtasks", "/Delete", "/TN", WINDOWS_TASK, "/F"], check=False)
    elif layout.system == "linux":
        present = [n for n in (SYSTEMD_SERVER, SYSTEMD_WATCHER) if (layout.systemd_dir / n).exists()]
        if present:
            inst.run(["systemctl", "--user", "disable", "--now", *present], check=False)


# -- install / uninstall ----------------------------------------------------------------------------------
def read_manifest(layout: Layout) -> dict:
    try:
        return json.loads(layout.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def install(inst: Installer, layout: Layout, env: Environment, *, source: Path, python: str, port: int,
            autostart: bool, fetch_models: bool, user: str, with_venv: bool) -> int:
    previous = read_manifest(layout)
    inst.ensure_dir(layout.app_dir)
    if with_venv:
        step_environment(inst, env, source, python, fetch_models)
    step_plugin(inst, layout, env, source, port, autostart)
    if autostart:
        step_autostart(inst, layout, env, port, user)
    manifest = {
        "system": layout.system,
        "files": sorted(set(previous.get("files", [])) | inst.created_files),
        "dirs": sorted(set(previous.get("dirs", [])) | inst.created_dirs),
        "plugin": str(layout.plugin_dir) if layout.plugin_dir else None,
        "venv": str(env.venv) if env.owned and with_venv else None,
        "autostart": autostart,
    }
    inst.write(layout.manifest, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    if not [c for c in inst.changes if not c.startswith("create " + str(layout.manifest))]:
        inst.out("AI Retouch is already installed: nothing changed.")
    elif inst.dry_run:
        inst.out("dry run: nothing was changed.")
    else:
        where = f" Restart Lightroom Classic to load the plug-in from {layout.plugin_dir}." if layout.plugin_dir else ""
        inst.out(f"AI Retouch is installed.{where} The server's token will be in {layout.token_file}.")
    return 0


def uninstall(inst: Installer, layout: Layout, *, purge: bool) -> int:
    manifest = read_manifest(layout)
    unregister(inst, layout)
    known = [layout.plugin_dir, layout.launch_agent if layout.system == "macos" else None,
             layout.task_xml, layout.systemd_dir / SYSTEMD_SERVER, layout.systemd_dir / SYSTEMD_WATCHER,
             Path(manifest["venv"]) if manifest.get("venv") else None, layout.manifest]
    paths = [p for p in known if p is not None] + [Path(p) for p in manifest.get("files", [])]
    if not manifest:  # no manifest: only the installer's well-known places (never a folder it did not make)
        paths.append(layout.app_dir / "venv")
    for path in paths:
        inst.remove(path)
    if layout.system == "linux" and inst.changes:
        inst.run(["systemctl", "--user", "daemon-reload"], check=False)
    if purge:
        for path in (layout.config_dir, layout.app_dir, layout.logs_dir):
            inst.remove(path)
    for d in sorted(manifest.get("dirs", []), key=len, reverse=True):  # folders it made, if now empty
        p = Path(d)
        if p.is_dir() and str(p) not in inst.removed and inst.empty_after_removals(p):
            if not inst.dry_run:
                p.rmdir()
            inst.removed.add(str(p))
            inst.change(f"remove {p}")
    if not inst.changes:
        inst.out("AI Retouch is not installed: nothing to remove.")
    elif inst.dry_run:
        inst.out("dry run: nothing was changed.")
    elif not purge and (layout.config_dir.exists() or layout.app_dir.exists()):
        kept = " and ".join(dict.fromkeys(str(p) for p in (layout.config_dir, layout.app_dir) if p.exists()))
        inst.out(f"AI Retouch is uninstalled. Kept your token and style memory in {kept} (remove them with "
                 "--uninstall --purge).")
    else:
        inst.out("AI Retouch is uninstalled.")
    return 0


def server_config_dir(system: str) -> Path | None:
    """Where this user's server keeps its token when the environment moves it (as bridge_server/core/paths.py
    reads it); None for the OS default."""
    if os.environ.get("AIRETOUCH_CONFIG_DIR"):
        return Path(os.environ["AIRETOUCH_CONFIG_DIR"])
    if system != "windows" and os.environ.get("XDG_CONFIG_HOME"):
        return Path(os.environ["XDG_CONFIG_HOME"]) / "airetouch"
    return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="install.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--os", dest="system", choices=SYSTEMS, default=host_system(),
                   help="the OS to install for (default: this one)")
    p.add_argument("--home", type=Path, help="the user's home folder (default: yours)")
    p.add_argument("--appdata", type=Path,
                   help="Windows: the Roaming AppData folder (default %%APPDATA%%, or HOME\\AppData\\Roaming "
                        "with --home)")
    p.add_argument("--localappdata", type=Path,
                   help="Windows: the Local AppData folder (default %%LOCALAPPDATA%%, or HOME\\AppData\\Local "
                        "with --home)")
    p.add_argument("--prefix", type=Path, help="where the environment and the manifest go")
    p.add_argument("--source", type=Path, default=ROOT, help="the AI Retouch checkout to install from")
    p.add_argument("--python", default=sys.executable, help="the Python (3.11+) to build the environment with")
    p.add_argument("--use-venv", type=Path, help="use this existing environment instead of building one")
    p.add_argument("--no-venv", action="store_true", help="skip the environment (plug-in and login service only)")
    p.add_argument("--no-models", action="store_true", help="do not provision the vision models")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"server port (default {DEFAULT_PORT})")
    p.add_argument("--watch-dir", type=Path, help="a folder to watch (Linux default ~/AIRetouch/inbox)")
    p.add_argument("--no-watch", action="store_true", help="Linux: no watch-folder service")
    p.add_argument("--user", default=None, help="Windows: DOMAIN\\user the logon task runs as (default: you)")
    p.add_argument("--no-autostart", action="store_true", help="do not start the server at login")
    p.add_argument("--no-register", action="store_true",
                   help="write the service files but run no launchctl/schtasks/systemctl")
    p.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    p.add_argument("--uninstall", action="store_true", help="remove what the installer put in place")
    p.add_argument("--purge", action="store_true", help="with --uninstall: also remove the token and memory")
    p.add_argument("-v", "--verbose", action="store_true", help="list every file")
    args = p.parse_args(argv)
    for name in ("home", "appdata", "localappdata", "prefix", "use_venv", "watch_dir", "source"):
        if getattr(args, name) is not None:  # services and the plug-in need absolute paths
            setattr(args, name, Path(getattr(args, name)).expanduser().absolute())
    if not 1 <= args.port <= 65535:
        p.error("--port must be 1..65535")
    return args


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = parse_args(argv)
    if args.home is None:  # this user: the environment says where AppData is
        args.appdata = args.appdata or (Path(os.environ["APPDATA"]) if os.environ.get("APPDATA") else None)
        args.localappdata = args.localappdata or (Path(os.environ["LOCALAPPDATA"])
                                                  if os.environ.get("LOCALAPPDATA") else None)
    layout = Layout.build(args.system, args.home or Path.home(), args.appdata, args.localappdata, args.watch_dir,
                          args.prefix, watch=not args.no_watch,
                          config_dir=None if args.home else server_config_dir(args.system))
    inst = Installer(layout, dry_run=args.dry_run, register=not args.no_register, verbose=args.verbose, out=out)
    if args.uninstall:
        return uninstall(inst, layout, purge=args.purge)
    env = Environment(args.use_venv or layout.app_dir / "venv", owned=args.use_venv is None, system=layout.system)
    user = args.user or (f"{os.environ.get('USERDOMAIN', '')}\\{os.environ.get('USERNAME', '')}".lstrip("\\")
                         if os.environ.get("USERNAME") else os.environ.get("USER", "user"))
    return install(inst, layout, env, source=args.source.resolve(), python=args.python, port=args.port,
                   autostart=not args.no_autostart, fetch_models=not args.no_models, user=user,
                   with_venv=not args.no_venv)


if __name__ == "__main__":
    sys.exit(main())
