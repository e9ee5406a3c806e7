"""Develop presets (.xmp) that Lightroom Classic and Camera Raw load (LIGHTROOM.md §6).

A preset is a crs packet with a header (PresetType, UUID, Supports*, ...), then only the settings it
changes, then HasSettings="True", and the Name/ShortName/SortName/Group/Description language alternatives.
Corrections with AI masks (definitions only) make it an adaptive preset. Files go to
`<folder>/<Group>/<Name>.xmp`; the default folder is Camera Raw's Settings folder, shared by both apps.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from ..core.errors import PlanError
from ..core.params import ENUM, GLOBAL_PARAMS
from ..core.plan import RetouchPlan, new_sync_id
from ..imaging.atomic import atomic_path
from .rdf import CRS, X_DEFAULT
from .reader import read_xmp
from .settings import CORRECTIONS, PRESET_FLAGS, XMP, PresetInfo, complete_plan, plan_settings
from .writer import render_packet, version_fields

__all__ = ["PresetInfo", "default_presets_dir", "preset_path", "read_preset", "write_preset"]

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME = 120


def default_presets_dir(platform: str | None = None) -> Path:
    """Camera Raw's Settings folder, where Lightroom Classic (7.3+) and ACR keep develop presets.

    macOS ~/Library/Application Support/Adobe/CameraRaw/Settings; Windows %APPDATA%\\Adobe\\CameraRaw\\Settings.
    Elsewhere (no Lightroom) a stand-in under $XDG_CONFIG_HOME/Adobe/CameraRaw/Settings.
    """
    platform = platform or sys.platform
    if platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Adobe" / "CameraRaw" / "Settings"
    if platform == "win32":
        appdata = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(appdata) / "Adobe" / "CameraRaw" / "Settings"
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "Adobe" / "CameraRaw" / "Settings"


def safe_filename(name: str) -> str:
    """A file or folder name that works on Windows, macOS and Linux (no separators, no reserved names)."""
    text = _UNSAFE.sub("_", name).strip().rstrip(". ")
    text = text.lstrip(".") or "_"
    if text.split(".")[0].upper() in _RESERVED:
        text = f"_{text}"
    return text[:MAX_NAME].rstrip(". ") or "_"


def preset_path(directory: str | os.PathLike, name: str, group: str = "") -> Path:
    """Where a preset goes: <directory>/<Group>/<Name>.xmp (no group folder when the group is empty)."""
    folder = Path(directory) / safe_filename(group) if group.strip() else Path(directory)
    return folder / f"{safe_filename(name)}.xmp"


def _changed_settings(plan: RetouchPlan, only_changed: bool) -> RetouchPlan:
    """The plan reduced to the global settings it changes (everything else it holds is kept)."""
    if not only_changed:
        return plan
    out = plan.copy()
    out.global_ = out.changed_globals()
    return out


def _flags(settings: dict[str, Any], preset: dict | None) -> dict[str, bool]:
    """Supports*/Show* flags: as the plan's source preset had them, else what the settings allow."""
    flags = dict((preset or {}).get("flags") or {})
    numeric = CORRECTIONS in settings or any(k in GLOBAL_PARAMS and GLOBAL_PARAMS[k].kind != ENUM
                                             for k in settings)
    defaults = {name: True for name in PRESET_FLAGS}
    defaults.update({"SupportsAmount2": numeric, "SupportsAmount": numeric, "RequiresRGBTables": False,
                     "ShowInQuickActions": False})
    return {name: bool(flags.get(name, defaults[name])) for name in PRESET_FLAGS}


def preset_fields(plan: RetouchPlan, name: str, group: str, uuid: str, description: str = "",
                  *, only_changed: bool = True) -> dict[str, Any]:
    """The crs properties of a preset file, in the order Lightroom writes them."""
    done = complete_plan(_changed_settings(plan, only_changed))
    settings = plan_settings(done, XMP, is_raw=None)
    source = plan.provenance.get("preset") or {}
    fields: dict[str, Any] = {"PresetType": "Normal", "Cluster": "", "UUID": uuid}
    fields.update({k: XMP.bool(v, nested=False) for k, v in _flags(settings, source).items()})
    text = source.get("text") or {}
    fields.update({k: str(text.get(k, "")) for k in ("CameraModelRestriction", "Copyright", "ContactInfo")})
    fields.update(version_fields(done))
    fields.update(settings)
    fields["HasSettings"] = "True"
    alts = {"Name": name, "ShortName": "", "SortName": "", "Group": group, "Description": description}
    ordered = {k: v for k, v in fields.items() if isinstance(v, str)}
    ordered.update({k: {X_DEFAULT: v} for k, v in alts.items()})
    ordered.update({k: v for k, v in fields.items() if not isinstance(v, str)})
    return ordered


def write_preset(plan: RetouchPlan, name: str, group: str = "", *, directory: str | os.PathLike,
                 uuid: str | None = None, description: str = "", only_changed: bool = True) -> Path:
    """Write the plan as a develop preset file, atomically; returns its path.

    Only the global settings that differ from Lightroom's defaults are written (`only_changed=False`
    writes every setting the plan holds). Rewriting a preset of the same name keeps its UUID.
    """
    if not name.strip():
        raise PlanError("a preset needs a name", field="name")
    path = preset_path(directory, name, group)
    uuid = (uuid or _existing_uuid(path) or new_sync_id()).replace("-", "").upper()
    if not re.fullmatch(r"[0-9A-F]{32}", uuid):
        raise PlanError(f"a preset UUID is 32 hex digits, not {uuid!r}", field="uuid")
    data = render_packet([(CRS, preset_fields(plan, name, group, uuid, description, only_changed=only_changed))])
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def _existing_uuid(path: Path) -> str | None:
    """The UUID of a preset already at `path`, to keep it when rewriting."""
    if not path.is_file():
        return None
    try:
        doc = read_xmp(path)
    except Exception:  # noqa: BLE001 - an unreadable old file just gets a new UUID
        return None
    return doc.preset.uuid if doc.preset and doc.preset.uuid else None


def read_preset(path: str | os.PathLike) -> tuple[PresetInfo, RetouchPlan]:
    """A preset's header and its settings as a plan."""
    doc = read_xmp(path)
    if doc.preset is None:
        raise PlanError(f"{path} is not a develop preset (no preset header)", field="path")
    return doc.preset, doc.plan
