"""Run the Lightroom plug-in's Lua code under real Lua 5.1 (lupa) with the SDK stand-ins of sdk.lua.

The stand-ins follow the SDK's documented behaviour; the host functions below are the parts Lightroom does
natively: LrHttp performs real HTTP with urllib (no proxies; LrHttp's default Content-Type text/plain),
LrFileUtils reads, deletes and creates real files and folders, requestJpegThumbnail renders a real JPEG of the
photo as Lightroom shows it (its develop settings through the bridge's own renderer, its crop applied; an
unedited photo as it is, with Pillow).

    lr = Lightroom(os_name="mac", home=tmp_path)
    photos = [lr.add_photo(p) for p in paths]
    lr.select(photos)
    lr.answer_dialog(instruction="warmer", strength=80, mode="apply")
    lr.run_menu("RetouchAction.lua")
    lr.applied, lr.dialogs, lr.writes
"""
from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import time
import socket
import tempfile
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import lupa.lua51 as lua51

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "lrplugin" / "AIRetouch.lrplugin"
SDK_LUA = Path(__file__).with_name("sdk.lua")

RAW_EXTENSIONS = {".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".kdc", ".pef", ".srw", ".3fr"}
FORMATS = {".jpg": "JPG", ".jpeg": "JPG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".dng": "DNG",
           ".psd": "PSD", ".heic": "HEIC", ".mp4": "VIDEO", ".mov": "VIDEO"}

# What getDevelopSettings() gives for a freshly imported photo (a realistic subset of the SDK's keys).
IMPORT_SETTINGS = {
    "ProcessVersion": "15.4", "WhiteBalance": "As Shot", "Exposure2012": 0, "Contrast2012": 0,
    "Highlights2012": 0, "Shadows2012": 0, "Whites2012": 0, "Blacks2012": 0, "Texture": 0, "Clarity2012": 0,
    "Dehaze": 0, "Vibrance": 0, "Saturation": 0, "ToneCurveName2012": "Linear",
    "ToneCurvePV2012": [0, 0, 255, 255], "CameraProfile": "Adobe Standard", "LensProfileEnable": 0,
}

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def to_py(value: Any) -> Any:
    """A Lua value as Python: tables with keys 1..n become lists, other tables dicts (str keys)."""
    if lua51.lua_type(value) == "table":
        keys = list(value.keys())
        if keys and all(isinstance(k, (int, float)) and not isinstance(k, bool) for k in keys) \
                and sorted(keys) == list(range(1, len(keys) + 1)):
            return [to_py(value[k]) for k in range(1, len(keys) + 1)]
        return {text(k) if isinstance(k, bytes) else k: to_py(value[k]) for k in keys}
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def as_lua_holds(value: Any) -> Any:
    """A decoded JSON value as the plug-in holds it after JSON.lua, seen through to_py: an empty array is an
    empty table (like an empty object), a null inside an object is absent, a null inside an array is JSON.null
    (an empty table)."""
    if isinstance(value, dict):
        return {k: as_lua_holds(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [{} if v is None else as_lua_holds(v) for v in value] if value else {}
    return value


class Lightroom:
    """One Lightroom Classic session with one catalog, the plug-in loaded from `plugin_dir`."""

    def __init__(self, *, os_name: str = "mac", home: Path | str | None = None, plugin_dir: Path = PLUGIN_DIR,
                 catalog_path: str | None = None):
        self.lua = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False)
        self.requests: list[tuple[str, str, int | None]] = []  # (method, url, status or None)
        self.bodies: list[tuple[str, str, Any]] = []  # (method, path, decoded JSON body or None)
        host = self.lua.table_from({
            b"http": self._http, b"exists": self._exists, b"readFile": self._read_file,
            b"delete": self._delete, b"makeDirs": self._make_dirs,
            b"jpegThumbnail": self._thumbnail, b"base64": self._base64, b"unbase64": self._unbase64,
            b"uuid": self._uuid,
            b"sleep": time.sleep, b"execute": self._execute,
        })
        self.processes: list[subprocess.Popen] = []  # shells started by LrTasks.execute (sdk.realExecute)
        load = self.lua.eval(b"function(src, host) return assert(loadstring(src, '=sdk.lua'))(host) end")
        self.sdk = load(SDK_LUA.read_bytes(), host)
        self.plugin_dir = Path(plugin_dir)
        # Lightroom's temporary folder (getStandardFilePath('temp')): a real folder that exists
        self.temp_dir = (Path(home) if home is not None else Path(tempfile.mkdtemp(prefix="lr-home-"))) / "Temp"
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        self.sdk.init(str(self.plugin_dir).encode(), os_name.encode(),
                      str(home).encode() if home is not None else None, str(self.temp_dir).encode())
        if catalog_path:
            self.sdk.setCatalogPath(catalog_path.encode())
        self._lua_fn = self.lua.eval

    # -- host functions (what Lightroom does natively) -------------------------------------------------------
    def _http(self, method, url, body, headers, timeout):
        method, url = text(method), text(url)
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "/" in url.split("://", 1)[-1] else "/"
        try:
            self.bodies.append((method, path, json.loads(body) if body else None))
        except ValueError:
            self.bodies.append((method, path, body))
        request = urllib.request.Request(url, data=body if method != "GET" else None, method=method)
        names = set()
        for i in range(1, len(headers) + 1):
            field, value = text(headers[i][b"field"]), text(headers[i][b"value"])
            request.add_header(field, value)
            names.add(field.lower())
        if method != "GET" and "content-type" not in names:
            request.add_header("Content-Type", "text/plain")  # LrHttp's documented default
        try:
            with _opener.open(request, timeout=float(timeout or 30)) as resp:
                status, data, pairs = resp.status, resp.read(), resp.headers.items()
        except urllib.error.HTTPError as exc:
            status, data, pairs = exc.code, exc.read(), exc.headers.items()
        except (TimeoutError, socket.timeout):
            self.requests.append((method, url, None))
            return None, None, None, b"timedOut"
        except (urllib.error.URLError, ConnectionError, OSError):
            self.requests.append((method, url, None))
            return None, None, None, b"cannotConnectToHost"
        self.requests.append((method, url, status))
        table = self.lua.table_from([self.lua.table_from([k.encode(), v.encode()]) for k, v in pairs])
        return status, data, table, None

    def _execute(self, command):
        """LrTasks.execute: the command line through the shell, in its own process group (so that a test can
        end exactly what it started, background children included); returns the shell's exit status."""
        proc = subprocess.Popen(text(command), shell=True, start_new_session=True, stdin=subprocess.DEVNULL)
        self.processes.append(proc)
        return proc.wait(timeout=60)

    def end_processes(self) -> None:
        """End the process groups started through LrTasks.execute (by their ids), and wait for them."""
        for proc in self.processes:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for proc in self.processes:
            for _ in range(100):
                try:
                    os.killpg(proc.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)

    @staticmethod
    def _exists(path):
        p = Path(text(path))
        if p.is_file():
            return b"file"
        if p.is_dir():
            return b"directory"
        return False

    @staticmethod
    def _read_file(path):
        try:
            return Path(text(path)).read_bytes()
        except OSError:
            return None

    @staticmethod
    def _delete(path):
        p = Path(text(path))
        try:
            if p.is_dir():
                p.rmdir()
            else:
                p.unlink()
        except OSError as exc:
            return False, str(exc).encode()
        return True

    @staticmethod
    def _make_dirs(path):
        p = Path(text(path))
        if p.is_dir():
            return False
        p.mkdir(parents=True)
        return True

    @staticmethod
    def _thumbnail(path, width, height, settings=None):
        from bridge_server.core.errors import RetouchError
        try:
            return lightroom_preview(Path(text(path)), int(width), int(height), to_py(settings) or {})
        except (OSError, RetouchError):
            return None

    @staticmethod
    def _base64(data):
        return base64.b64encode(data)

    @staticmethod
    def _unbase64(data):
        return base64.b64decode(data)

    @staticmethod
    def _uuid():
        return str(uuid.uuid4()).upper().encode()

    # -- the catalog ---------------------------------------------------------------------------------------
    def add_photo(self, path: Path | str, *, file_format: str | None = None, uuid_: str | None = None,
                  settings: dict | None = None):
        path = Path(path)
        ext = path.suffix.lower()
        fmt = file_format or ("RAW" if ext in RAW_EXTENSIONS else FORMATS.get(ext, "JPG"))
        base = dict(IMPORT_SETTINGS)
        if fmt not in ("RAW", "DNG"):
            base.update(IncrementalTemperature=0, IncrementalTint=0)
        base.update(settings or {})
        return self.sdk.addPhoto(str(path).encode(), fmt.encode(),
                                 (uuid_ or str(uuid.uuid4()).upper()).encode(), self.to_lua(base))

    def select(self, photos) -> None:
        self.sdk.select(self.lua.table_from(list(photos)))

    def to_lua(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self.lua.table_from({k.encode() if isinstance(k, str) else k: self.to_lua(v)
                                        for k, v in value.items()})
        if isinstance(value, (list, tuple)):
            return self.lua.table_from([self.to_lua(v) for v in value])
        if isinstance(value, str):
            return value.encode()
        return value

    # -- running the plug-in -------------------------------------------------------------------------------
    def run_menu(self, script: str, max_steps: int = 10_000_000) -> None:
        """Choose a menu item: Lightroom runs its file; then drive the tasks it started to the end."""
        self.sdk.runScript(script.encode())
        self.run_tasks(max_steps)

    def run_tasks(self, max_steps: int = 10_000_000) -> None:
        left = self.sdk.runTasks(max_steps)
        assert left == 0, f"{left} task(s) still running after {max_steps} steps"

    def load(self, name: str):
        return self.sdk.load(name.encode())

    def require(self, name: str):
        return self.sdk.require(name.encode())

    def answer_dialog(self, answer: str = "ok", **values) -> None:
        """Answer the next modal dialogs: set these bound properties, then press `answer` ("ok"/"cancel")."""
        def handler(title, props, contents):
            if props is not None:
                for key, value in values.items():
                    props[key.encode()] = self.to_lua(value)
            return answer.encode()
        self.sdk.modalHandler = handler

    def confirm_with(self, answer: str) -> None:
        self.sdk.confirmAnswer = answer.encode()

    def cancel_after(self, photos_done: int) -> None:
        """The photographer presses Cancel in the progress bar once `photos_done` photos are finished."""
        hook = self.lua.eval(b"function(sdk, n) sdk.onProgress = function(scope, done) "
                             b"if done >= n then scope:cancel() end end end")
        hook(self.sdk, photos_done)

    def set_prefs(self, **values) -> None:
        for key, value in values.items():
            self.sdk.prefsStore[key.encode()] = self.to_lua(value)

    # -- what happened -------------------------------------------------------------------------------------
    @property
    def dialogs(self) -> list[dict]:
        out = []
        for entry in to_py_list(self.sdk.dialogs):
            out.append({k: to_py(v) for k, v in entry.items() if k not in (b"contents", b"props")}
                       | {"_raw": entry})
        return [{text(k) if isinstance(k, bytes) else k: v for k, v in d.items()} for d in out]

    def posted(self, path: str) -> list[Any]:
        """The JSON bodies the plug-in POSTed to this route, in order."""
        return [body for method, p, body in self.bodies if method == "POST" and p == path]

    @property
    def messages(self) -> list[dict]:
        return [d for d in self.dialogs if d["kind"] == "message"]

    @property
    def applied(self) -> list[dict]:
        return [{"path": to_py(a[b"path"]), "settings": to_py(a[b"settings"]),
                 "historyName": to_py(a[b"historyName"]), "write": a[b"write"]}
                for a in to_py_list(self.sdk.applied)]

    @property
    def writes(self) -> list[dict]:
        return [to_py(w) for w in to_py_list(self.sdk.writes)]

    @property
    def ai_updates(self) -> list[str]:
        return [to_py(p) for p in to_py_list(self.sdk.aiUpdates)]

    @property
    def prefs(self) -> dict:
        return to_py(self.sdk.prefsStore) or {}

    @property
    def uncaught(self) -> list[str]:
        return [to_py(e) for e in to_py_list(self.sdk.uncaught)]

    @property
    def executed(self) -> list[str]:
        return [to_py(e) for e in to_py_list(self.sdk.executed)]

    @property
    def scopes(self) -> list[dict]:
        return [{"title": to_py(s[b"title"]), "captions": to_py(s[b"captions"]) or [],
                 "portions": to_py(s[b"portions"]) or [], "canceled": s[b"canceled"], "finished": s[b"finished"]}
                for s in to_py_list(self.sdk.scopes)]

    @property
    def log(self) -> list[str]:
        return [to_py(line) for line in to_py_list(self.sdk.logLines)]

    def history(self, photo) -> list[str]:
        return to_py(photo[b"_history"])

    def plugin_property(self, photo, key: str) -> Any:
        return to_py(photo[b"_properties"][key.encode()])

    def set_develop_settings(self, photo, **values) -> None:
        """The photographer edits the photo in Develop (not a plug-in write)."""
        for key, value in values.items():
            photo[b"_settings"][key.encode()] = self.to_lua(value)

    def develop_settings(self, photo) -> dict:
        return to_py(photo[b"_settings"])


CROP_KEYS = ("HasCrop", "CropLeft", "CropTop", "CropRight", "CropBottom", "CropAngle", "CropConstrainToWarp")


def develop_edits(settings: dict) -> dict:
    """The develop settings that differ from a freshly imported photo's (the crop aside)."""
    unedited = dict(IMPORT_SETTINGS, IncrementalTemperature=0, IncrementalTint=0)
    return {k: v for k, v in settings.items() if k not in CROP_KEYS and unedited.get(k, None) != v}


def lightroom_preview(path: Path, width: int, height: int, settings: dict) -> bytes:
    """What photo:requestJpegThumbnail gives: a JPEG of the photo as Lightroom shows it, fitting in width x height.
    An edited photo is developed with its settings by the bridge's renderer (the stand-in for Lightroom's);
    the crop (HasCrop, CropLeft/Top/Right/Bottom, normalised) is applied; the crop angle is not."""
    import numpy as np
    from PIL import Image
    if develop_edits(settings):
        from bridge_server.develop import render
        from bridge_server.imaging.decode import decode
        from bridge_server.imaging.encode import to_srgb8
        from bridge_server.lightroom.sdk import develop_settings_to_plan
        plan = develop_settings_to_plan({k: v for k, v in settings.items() if k not in CROP_KEYS})
        image = decode(path, "render", max_edge=max(width, height))
        pixels = to_srgb8(np.asarray(render(image.pixels, plan)))
    else:
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("RGB"))
    if settings.get("HasCrop"):
        h, w = pixels.shape[:2]
        left, right = float(settings.get("CropLeft", 0)), float(settings.get("CropRight", 1))
        top, bottom = float(settings.get("CropTop", 0)), float(settings.get("CropBottom", 1))
        pixels = pixels[int(round(top * h)):int(round(bottom * h)), int(round(left * w)):int(round(right * w))]
    im = Image.fromarray(np.ascontiguousarray(pixels))
    im.thumbnail((width, height))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return out.getvalue()


def views_of(contents) -> list:
    """Every view of a dialog's contents (the LrView stand-in's tables), depth first."""
    found = []

    def walk(view):
        found.append(view)
        for i in range(1, len(view) + 1):
            if lua51.lua_type(view[i]) == "table":
                walk(view[i])
    walk(contents)
    return found


def to_py_list(table) -> list:
    return [table[i] for i in range(1, len(table) + 1)]


def lua_runtime() -> lua51.LuaRuntime:
    return lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False)


def run_lua(source: str, *args: Any, runtime: lua51.LuaRuntime | None = None) -> Any:
    rt = runtime or lua_runtime()
    return rt.execute(source.encode(), *args)

