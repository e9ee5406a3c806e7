"""Lightroom Classic / Camera Raw output and input: XMP sidecars (read, write, merge), develop presets, and
the develop-settings tables of the Lightroom SDK. Everything is derived from the core parameter table and
region vocabulary; see /work/shared/docs/LIGHTROOM.md for the format.
"""
from .ownership import Ownership
from .preset import default_presets_dir, read_preset, write_preset
from .reader import XmpDocument, read_plan, read_xmp
from .sdk import develop_settings_to_plan, develop_settings_with_ownership, plan_to_develop_settings
from .settings import OUR_PREFIX, PresetInfo, complete_plan
from .sidecar import SidecarResult, is_raw_path, sidecar_path, write_sidecar
from .writer import plan_to_crs, plan_to_xmp

__all__ = [
    "OUR_PREFIX", "Ownership", "PresetInfo", "SidecarResult", "XmpDocument", "complete_plan",
    "default_presets_dir", "develop_settings_to_plan", "develop_settings_with_ownership", "is_raw_path",
    "plan_to_crs", "plan_to_develop_settings", "plan_to_xmp", "read_plan", "read_preset", "read_xmp",
    "sidecar_path", "write_preset", "write_sidecar",
]
