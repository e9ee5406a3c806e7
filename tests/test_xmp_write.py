"""Writing plans as Camera Raw XMP: the format (LIGHTROOM.md §1-5, §10), ExifTool's reading, round trips."""
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
from bridge_server.lightroom import complete_plan, plan_to_crs, plan_to_xmp, read_plan, read_xmp

PRESET_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "lightroom" / "presets"
PRESET_NAMES = sorted(p.name for p in PRESET_DIR.glob("*.xmp"))
EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")
HEX32 = re.compile(r"^[0-9A-F]{32}$")
# Preset header and file-level tags that a sidecar does not carry (or that ExifTool derives itself).
NOT_IN_SIDECAR = {"PresetType", "Cluster", "UUID", "SupportsAmount2", "SupportsAmount", "SupportsColor",
                  "SupportsMonochrome", "SupportsHighDynamicRange", "SupportsNormalDynamicRange",
                  "SupportsSceneReferred", "SupportsOutputReferred", "RequiresRGBTables", "ShowInPresets",
                  "ShowInQuickActions", "CameraModelRestriction", "Copyright", "ContactInfo", "Name", "ShortName",
                  "SortName", "Group", "Description", "CompatibleVersion", "XMPToolkit"}


def exiftool_json(path: Path) -> dict:
    out = subprocess.run([EXIFTOOL, "-struct", "-j", "-n", "-XMP:all", str(path)], capture_output=True, check=True,
                         text=True)
    return json.loads(out.stdout)[0]


def plan_key(plan) -> dict:
    data = plan.to_dict()
    return {k: data.get(k) for k in ("global", "regions", "spots", "other")}


def portrait_plan() -> RetouchPlan:
    """A plan like the predictor's: globals, AI regions, a person radial, a subtracted part, a spot."""
    return RetouchPlan.build(
        {"Exposure2012": 0.35, "Contrast2012": 10, "Highlights2012": -40, "Shadows2012": 25, "Clarity2012": 8,
         "Vibrance": 12, "Temperature": 5600, "Tint": 4,
         "ToneCurvePV2012": [[0, 0], [64, 56], [192, 200], [255, 255]]},
        [{"region": "subject", "values": {"Exposure2012": 0.3, "Shadows2012": 15}},
         {"region": "sky", "values": {"Highlights2012": -30, "Saturation": 10}},
         {"region": "face_skin", "values": {"Texture": -25, "Clarity2012": -10},
          "masks": [{"kind": "ai", "region": "face_skin"},
                    {"kind": "ai", "region": "eyes", "mode": "subtract"},
                    {"kind": "linear", "mode": "intersect",
                     "geometry": {"zero_x": 0.5, "zero_y": 0.9, "full_x": 0.5, "full_y": 0.6}}]},
         {"region": "person", "person": 1, "values": {"Exposure2012": -0.4},
          "masks": [{"kind": "radial", "geometry": {"top": 0.15, "left": 0.2, "bottom": 0.85, "right": 0.8,
                                                    "feather": 60}}]}],
        [{"x": 0.55, "y": 0.42, "size_x": 0.01, "source_x": 0.62, "source_y": 0.40}])


# -- the format ------------------------------------------------------------------------------------------------
def test_sidecar_text_follows_lightroom_formatting():
    text = plan_to_xmp(portrait_plan(), is_raw=True)
    ET.fromstring(text)  # well-formed
    for expected in ('crs:Exposure2012="+0.35"', 'crs:Contrast2012="+10"', 'crs:Highlights2012="-40"',
                     'crs:Temperature="5600"', 'crs:Tint="+4"', 'crs:WhiteBalance="Custom"',
                     'crs:ToneCurveName2012="Custom"', 'crs:HasSettings="True"', 'crs:ProcessVersion="15.4"',
                     "<rdf:li>64, 56</rdf:li>", 'crs:LocalExposure2012="0.075"', 'crs:LocalShadows2012="0.15"',
                     'crs:LocalTexture="-0.25"', 'crs:LocalExposure2012="-0.1"', 'crs:LocalCurveRefineSaturation="100"',
                     'crs:CorrectionName="AI Retouch · Subject"', 'crs:What="Mask/Image"', 'crs:MaskSubType="3"',
                     'crs:MaskSubCategoryID="2"', 'crs:ReferencePoint="0.500000 0.500000"', 'crs:ErrorReason="0"',
                     'crs:What="Mask/CircularGradient"', 'crs:Top="0.15"', 'crs:Feather="60"', 'crs:Flipped="true"',
                     'crs:Version="2"', 'crs:What="Mask/Gradient"', 'crs:ZeroY="0.9"', 'crs:What="Mask/Ellipse"',
                     'crs:SourceX="0.62"', 'crs:OffsetY="0.4"', 'crs:SpotType="heal"'):
        assert expected in text, expected
    assert "AlreadyApplied" not in text
    assert not re.search(r"(Gradient|CircularGradient|Paint)BasedCorrections", text)
    assert not re.search(r'crs:(Mask|Correction)\w*="(True|False)"', text)  # lower case inside corrections
    assert "IncrementalTemperature" not in text
    ids = re.findall(r'crs:(?:Correction|Mask)SyncID="([^"]*)"', text)
    assert len(ids) == len(set(ids)) == 4 + 6 + 1 and all(HEX32.match(i) for i in ids)


def test_blend_modes_are_written_as_lightroom_combines_them():
    text = plan_to_xmp(portrait_plan(), is_raw=True)
    masks = [m for m in re.findall(r"<rdf:li\s+crs:What=\"Mask/[^>]*/>", text) if "MaskName" in m]
    by_name = {re.search(r'crs:MaskName="([^"]*)"', m).group(1): m for m in masks}
    iris = by_name["Iris and pupil"]  # subtract: MaskBlendMode 1 + MaskValue 0
    assert 'crs:MaskBlendMode="1"' in iris and 'crs:MaskValue="0"' in iris and 'crs:MaskInverted="false"' in iris
    gradient = next(m for m in masks if "Mask/Gradient" in m)  # intersect: 1 + inverted + value 0
    assert 'crs:MaskBlendMode="1"' in gradient and 'crs:MaskInverted="true"' in gradient
    assert 'crs:MaskValue="0"' in gradient
    face = by_name["Face skin"]
    assert 'crs:MaskBlendMode="0"' in face and 'crs:MaskValue="1"' in face


def test_plan_to_crs_values():
    crs = plan_to_crs(portrait_plan(), is_raw=True)
    assert crs["Exposure2012"] == "+0.35" and crs["HasSettings"] == "True"
    assert crs["ToneCurvePV2012"] == ["0, 0", "64, 56", "192, 200", "255, 255"]
    first = crs["MaskGroupBasedCorrections"][0]
    assert first["What"] == "Correction" and first["CorrectionActive"] == "true"
    assert HEX32.match(first["CorrectionSyncID"])


@needs_exiftool
def test_exiftool_reads_our_sidecar(tmp_path):
    path = tmp_path / "IMG_0001.xmp"
    path.write_text(plan_to_xmp(portrait_plan(), is_raw=True), encoding="utf-8")
    et = exiftool_json(path)
    # ExifTool prints "+0.35" as text (a leading "+" is not JSON), hence float().
    assert float(et["Exposure2012"]) == 0.35 and et["ColorTemperature"] == 5600 and float(et["Tint"]) == 4
    assert et["ToneCurvePV2012"] == ["0, 0", "64, 56", "192, 200", "255, 255"]
    corrections = et["MaskGroupBasedCorrections"]
    assert len(corrections) == 4
    subject, sky, face, person = corrections
    assert subject["LocalExposure2012"] == 0.075 and subject["CorrectionMasks"][0]["MaskSubType"] == 1
    assert sky["CorrectionMasks"][0]["MaskSubType"] == 2 and sky["LocalHighlights2012"] == -0.3
    assert [m["What"] for m in face["CorrectionMasks"]] == ["Mask/Image", "Mask/Image", "Mask/Gradient"]
    assert [m["MaskBlendMode"] for m in face["CorrectionMasks"]] == [0, 1, 1]
    radial = person["CorrectionMasks"][0]
    assert (radial["Top"], radial["Left"], radial["Bottom"], radial["Right"]) == (0.15, 0.2, 0.85, 0.8)
    assert et["RetouchAreas"][0]["Masks"][0]["X"] == 0.55


# -- white balance ---------------------------------------------------------------------------------------------
def test_white_balance_pairs_for_raw_and_rendered_files():
    rendered = RetouchPlan.build({"IncrementalTemperature": 8, "IncrementalTint": -3})
    text = plan_to_xmp(rendered, is_raw=False)
    assert 'crs:IncrementalTemperature="+8"' in text and 'crs:IncrementalTint="-3"' in text
    assert 'crs:WhiteBalance="Custom"' in text and "crs:Temperature=" not in text
    with pytest.raises(PlanError, match="raw file"):
        plan_to_xmp(rendered, is_raw=True)
    with pytest.raises(PlanError, match="rendered file"):
        plan_to_xmp(RetouchPlan.build({"Temperature": 5200}), is_raw=False)
    neutral = RetouchPlan.build({"IncrementalTemperature": 0, "Exposure2012": 0.2})  # no-op: dropped for raw
    assert "Incremental" not in plan_to_xmp(neutral, is_raw=True)


# -- round trips -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_adobe_presets_round_trip(name, shared_data):
    plan = read_plan(shared_data / "lightroom" / "presets" / name)
    is_raw = "Temperature" in plan.global_ or "IncrementalTemperature" not in plan.global_
    assert plan_key(read_plan(plan_to_xmp(plan, is_raw=is_raw))) == plan_key(plan)


@needs_exiftool
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_exiftool_sees_the_adobe_values_in_our_rewrite(name, shared_data, tmp_path):
    source = shared_data / "lightroom" / "presets" / name
    ours = tmp_path / "rewritten.xmp"
    ours.write_text(plan_to_xmp(read_plan(source), is_raw=True), encoding="utf-8")
    theirs_tags, ours_tags = exiftool_json(source), exiftool_json(ours)
    for tag, value in theirs_tags.items():
        if tag in NOT_IN_SIDECAR or tag.startswith(("File", "Source", "Directory", "ExifTool")):
            continue
        assert tag in ours_tags, tag
        if tag == "ColorVariance":  # "-50.000000" is kept as the number -50
            assert [float(v) for v in ours_tags[tag]] == [float(v) for v in value]
        else:
            assert ours_tags[tag] == value, tag


def test_generated_plan_round_trips_to_its_completed_form():
    plan = portrait_plan()
    done = complete_plan(plan)
    back = read_xmp(plan_to_xmp(done, is_raw=True)).plan
    assert plan_key(back) == plan_key(done)
    person = back.regions[3]
    assert (person.region, person.person, person.origin) == ("person", 1, "airetouch")  # from our record
    assert all(e.origin == "airetouch" for e in back.regions) and back.spots[0].origin == "airetouch"


def test_completion_rounds_to_what_lightroom_stores():
    plan = RetouchPlan.build({"Exposure2012": 0.3333}, [{"region": "sky", "values": {"Texture": 12.3456789}}])
    done = complete_plan(plan)
    assert done.global_["Exposure2012"] == 0.33  # Exposure2012 has 2 decimals
    assert done.regions[0].values["Texture"] == pytest.approx(12.3457)  # 6 decimals of the stored /100 value
    assert done.regions[0].name == "AI Retouch · Sky"


def test_unconfirmed_codes_and_incomplete_geometry_are_refused():
    with pytest.raises(PlanError, match="not confirmed"):
        plan_to_xmp(RetouchPlan.build(regions=[{"region": "mountains", "values": {"Dehaze": 10}}]), is_raw=True)
    with pytest.raises(PlanError, match="radial mask needs"):
        plan_to_xmp(RetouchPlan.build(regions=[{"region": "person", "person": 0, "values": {"Exposure2012": 0.2}}]),
                    is_raw=True)


def test_legacy_containers_are_written_as_mask_groups(tmp_path):
    from test_xmp_read import LEGACY  # the hand-made legacy fixture
    plan = read_plan(LEGACY)
    text = plan_to_xmp(plan, is_raw=True)
    assert "GradientBasedCorrections" not in text.replace("MaskGroupBasedCorrections", "")
    assert "RetouchInfo" not in text and text.count('crs:What="Mask/Ellipse"') == 2
    back = read_plan(text)
    assert [e.region for e in back.regions] == ["linear", "radial", "brush"]
    assert [e.values for e in back.regions] == [e.values for e in complete_plan(plan).regions]
    assert [(s.x, s.y, s.size_x, s.source_x, s.source_y, s.kind) for s in back.spots] == \
        [(s.x, s.y, s.size_x, s.source_x, s.source_y, s.kind) for s in plan.spots]


def test_unknown_codes_and_attributes_are_written_back():
    from test_xmp_read import BLEND
    text = plan_to_xmp(read_plan(BLEND), is_raw=True)
    assert 'crs:MaskSubCategoryID="13"' in text and 'crs:LocalFutureSlider="0.7"' in text
    assert 'crs:MaskDigest="A1B2C3D4E5F60718293A4B5C6D7E8F90"' in text
    assert 'crs:MaskActive="false"' in text
    assert plan_key(read_plan(text)) == plan_key(complete_plan(read_plan(BLEND)))
    assert read_plan(text).regions[0].values["CurveRefineSaturation"] == 100  # always written
