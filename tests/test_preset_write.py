"""Develop presets: the header Lightroom needs (LIGHTROOM.md §6), only changed settings, adaptive masks,
file names, folders, and round trips of every Adobe preset."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bridge_server.core.errors import PlanError
from bridge_server.core.plan import RetouchPlan
from bridge_server.lightroom import default_presets_dir, read_plan, read_preset, read_xmp, write_preset
from bridge_server.lightroom.preset import preset_path

PRESET_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "lightroom" / "presets"
PRESET_NAMES = sorted(p.name for p in PRESET_DIR.glob("*.xmp"))
EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")
CRS = "{http://ns.adobe.com/camera-raw-settings/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HEADER = ["PresetType", "Cluster", "UUID", "SupportsAmount2", "SupportsAmount", "SupportsColor",
          "SupportsMonochrome", "SupportsHighDynamicRange", "SupportsNormalDynamicRange", "SupportsSceneReferred",
          "SupportsOutputReferred", "RequiresRGBTables", "ShowInPresets", "ShowInQuickActions",
          "CameraModelRestriction", "Copyright", "ContactInfo", "Version", "ProcessVersion"]


def plan_key(plan) -> dict:
    data = plan.to_dict()
    return {k: data.get(k) for k in ("global", "regions", "spots", "other")}


def look_plan() -> RetouchPlan:
    return RetouchPlan.build(
        {"Exposure2012": 0.2, "Contrast2012": 0, "Vibrance": 10, "Clarity2012": 0,
         "ToneCurvePV2012": [[0, 0], [255, 255]]},
        [{"region": "sky", "values": {"Highlights2012": -30}},
         {"region": "face_skin", "values": {"Texture": -15}}])


def description(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    return root.find(f"{RDF}RDF").find(f"{RDF}Description")


def test_preset_header_and_only_changed_settings(tmp_path):
    path = write_preset(look_plan(), "Soft Sky", "Team Presets", directory=tmp_path)
    assert path == tmp_path / "Team Presets" / "Soft Sky.xmp"
    desc = description(path)
    attrs = {k[len(CRS):]: v for k, v in desc.attrib.items() if k.startswith(CRS)}
    assert list(attrs)[:len(HEADER)] == HEADER  # the header first, in Lightroom's order
    assert list(attrs)[-1] == "HasSettings" and attrs["HasSettings"] == "True"
    assert attrs["PresetType"] == "Normal" and attrs["Cluster"] == ""
    assert re.fullmatch(r"[0-9A-F]{32}", attrs["UUID"])
    assert attrs["SupportsAmount"] == "True" and attrs["RequiresRGBTables"] == "False"
    settings = set(attrs) - set(HEADER) - {"HasSettings"}
    # Contrast 0, Clarity 0 and a linear curve change nothing: they are left out
    assert settings == {"Exposure2012", "Vibrance"}
    assert attrs["Exposure2012"] == "+0.20" and attrs["Vibrance"] == "+10"
    for field, value in (("Name", "Soft Sky"), ("Group", "Team Presets"), ("ShortName", None), ("SortName", None),
                         ("Description", None)):
        li = desc.find(f"{CRS}{field}/{RDF}Alt/{RDF}li")
        assert li.get(XML_LANG) == "x-default" and li.text == value
    corrections = desc.findall(f"{CRS}MaskGroupBasedCorrections/{RDF}Seq/{RDF}li")
    assert len(corrections) == 2  # adaptive: AI masks in definition form
    text = path.read_text(encoding="utf-8")
    assert 'crs:MaskSubType="2"' in text and 'crs:MaskSubCategoryID="2"' in text
    assert "MaskDigest" not in text and "AlreadyApplied" not in text and "airetouch" not in text


@needs_exiftool
def test_exiftool_reads_our_preset(tmp_path):
    path = write_preset(look_plan(), "Soft Sky", "Team Presets", directory=tmp_path, description="made by a test")
    out = subprocess.run([EXIFTOOL, "-struct", "-j", "-n", str(path)], capture_output=True, check=True, text=True)
    et = json.loads(out.stdout)[0]
    assert et["PresetType"] == "Normal" and et["Name"] == "Soft Sky" and et["Group"] == "Team Presets"
    assert et["Description"] == "made by a test" and float(et["Exposure2012"]) == 0.2
    assert et["HasSettings"] is True and et["SupportsAmount"] is True
    assert [c["CorrectionMasks"][0]["MaskSubType"] for c in et["MaskGroupBasedCorrections"]] == [2, 3]
    assert et["MaskGroupBasedCorrections"][0]["LocalHighlights2012"] == -0.3


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_adobe_presets_round_trip(name, tmp_path, shared_data):
    source = shared_data / "lightroom" / "presets" / name
    plan = read_plan(source)
    path = write_preset(plan, f"{source.stem} again", "Round trip", directory=tmp_path, only_changed=False)
    info, back = read_preset(path)
    assert plan_key(back) == plan_key(plan)
    assert (info.name, info.group) == (f"{source.stem} again", "Round trip")
    assert info.flags == read_xmp(source).preset.flags  # the source preset's capabilities are kept


def test_only_changed_drops_defaults_of_an_adobe_preset(tmp_path, shared_data):
    plan = read_plan(shared_data / "lightroom" / "presets" / "example.xmp")
    path = write_preset(plan, "changed only", directory=tmp_path)
    assert path == tmp_path / "changed only.xmp"  # no group: no group folder
    back = read_plan(path)
    assert back.global_ == plan.changed_globals()
    assert "Sharpness" not in back.global_ and back.global_["Exposure2012"] == -1.0  # 40 is the default


def test_file_names_are_sanitised_and_stay_in_the_folder(tmp_path):
    path = write_preset(look_plan(), 'A/B: "best"? <look>|*', "../../outside", directory=tmp_path)
    assert path.resolve().is_relative_to(tmp_path.resolve())
    assert path.parent.parent == tmp_path and path.suffix == ".xmp"
    assert not re.search(r'[<>:"/\\|?*]', path.name)
    assert read_preset(path)[0].name == 'A/B: "best"? <look>|*'  # the name itself is kept
    assert preset_path(tmp_path, "CON").name == "_CON.xmp"
    with pytest.raises(PlanError):
        write_preset(look_plan(), "  ", directory=tmp_path)


def test_rewriting_a_preset_keeps_its_uuid(tmp_path):
    first = write_preset(look_plan(), "Mine", "G", directory=tmp_path)
    uuid = read_preset(first)[0].uuid
    second = write_preset(RetouchPlan.build({"Exposure2012": 0.5}), "Mine", "G", directory=tmp_path)
    assert second == first and read_preset(second)[0].uuid == uuid
    assert read_plan(second).global_ == {"Exposure2012": 0.5}
    given = write_preset(look_plan(), "Other", "G", directory=tmp_path, uuid="0123456789abcdef0123456789abcdef")
    assert read_preset(given)[0].uuid == "0123456789ABCDEF0123456789ABCDEF"
    with pytest.raises(PlanError, match="32 hex"):
        write_preset(look_plan(), "Bad", "G", directory=tmp_path, uuid="xyz")
    assert sorted(p.name for p in (tmp_path / "G").iterdir()) == ["Mine.xmp", "Other.xmp"]  # no temp files


def test_enum_only_preset_does_not_support_amount(tmp_path):
    path = write_preset(RetouchPlan.build({"WhiteBalance": "Auto"}), "Auto WB", directory=tmp_path)
    attrs = description(path).attrib
    assert attrs[f"{CRS}SupportsAmount"] == "False" and attrs[f"{CRS}WhiteBalance"] == "Auto"


def test_default_presets_folder_per_system(isolated_home, monkeypatch):
    assert default_presets_dir("darwin") == isolated_home / "Library" / "Application Support" / "Adobe" / \
        "CameraRaw" / "Settings"
    monkeypatch.setenv("APPDATA", r"C:\Users\me\AppData\Roaming")
    assert str(default_presets_dir("win32")).replace("/", "\\") == \
        r"C:\Users\me\AppData\Roaming\Adobe\CameraRaw\Settings"
    assert default_presets_dir("linux") == isolated_home / "config" / "Adobe" / "CameraRaw" / "Settings"
