"""Reading Lightroom/Camera Raw XMP into plans: every Adobe-made preset, legacy containers, RDF forms, errors.

Expectations come from the files themselves, read independently (ExifTool's JSON, ElementTree, regexes)
and from what the format means (LIGHTROOM.md): local exposure is stored as EV/4, other sliders /100,
MaskBlendMode 1 + MaskValue 0 subtracts, and so on.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bridge_server.core.errors import XmpError
from bridge_server.core.params import GLOBAL_BY_XMP, LOCAL_BY_XMP
from bridge_server.core.regions import REGION_BY_KEY
from bridge_server.lightroom import read_plan, read_xmp

PRESET_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "lightroom" / "presets"
PRESET_NAMES = sorted(p.name for p in PRESET_DIR.glob("*.xmp"))
CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")
# ExifTool's tag names where they differ from the crs property (its table, LIGHTROOM.md note).
EXIFTOOL_NAMES = {"Temperature": "ColorTemperature"}
# Top-level crs properties that describe the file or the preset rather than the look.
HEADER = {"Version", "ProcessVersion", "CompatibleVersion", "HasSettings", "PresetType", "Cluster", "UUID",
          "SupportsAmount2", "SupportsAmount", "SupportsColor", "SupportsMonochrome", "SupportsHighDynamicRange",
          "SupportsNormalDynamicRange", "SupportsSceneReferred", "SupportsOutputReferred", "RequiresRGBTables",
          "ShowInPresets", "ShowInQuickActions", "CameraModelRestriction", "Copyright", "ContactInfo", "Name",
          "ShortName", "SortName", "Group", "Description"}


def exiftool_json(path: Path) -> dict:
    """ExifTool's structured, numeric view of a file."""
    out = subprocess.run([EXIFTOOL, "-struct", "-j", "-n", str(path)], capture_output=True, check=True, text=True)
    return json.loads(out.stdout)[0]


def crs_top_level(path: Path) -> set[str]:
    """The crs properties directly on the file's rdf:Description elements (ElementTree, not our parser)."""
    names = set()
    root = ET.parse(path).getroot()
    rdf = root if root.tag == f"{{{RDF}}}RDF" else root.find(f"{{{RDF}}}RDF")
    for desc in rdf.findall(f"{{{RDF}}}Description"):
        names |= {k.split("}")[1] for k in desc.attrib if k.startswith(f"{{{CRS}}}")}
        names |= {c.tag.split("}")[1] for c in desc if c.tag.startswith(f"{{{CRS}}}")}
    return names


def stored(name: str, ui: float) -> float:
    """The stored number for a local slider in UI units (the table's scale)."""
    return LOCAL_BY_XMP[name].to_stored(ui)


@pytest.fixture
def preset(shared_data):
    def get(name: str) -> Path:
        return shared_data / "lightroom" / "presets" / name
    return get


# -- every Adobe preset ----------------------------------------------------------------------------------------
@needs_exiftool
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_adobe_preset_corrections_match_exiftool(name, preset):
    path = preset(name)
    text = path.read_text(encoding="utf-8")
    et = exiftool_json(path)
    plan = read_plan(path)
    corrections = et.get("MaskGroupBasedCorrections", [])
    assert len(plan.regions) == len(corrections) == len(re.findall(r'crs:What="Correction"', text))
    assert sum(len(e.masks) for e in plan.regions) == len(re.findall(r'crs:What="Mask/', text))
    for edit, corr in zip(plan.regions, corrections):
        assert edit.name == corr["CorrectionName"]
        assert edit.sync_id == corr["CorrectionSyncID"]
        assert edit.amount == corr["CorrectionAmount"]
        assert edit.active is corr["CorrectionActive"]
        assert edit.origin == "user"  # Adobe's corrections are never ours
        sliders = {k: v for k, v in corr.items() if k in LOCAL_BY_XMP}
        assert sliders, "Adobe writes the local sliders of every correction"
        for key, value in sliders.items():
            p = LOCAL_BY_XMP[key]
            assert stored(key, edit.values.get(p.name, p.default)) == pytest.approx(value, abs=1e-9), key
        assert len(edit.masks) == len(corr["CorrectionMasks"])
        for mask, cm in zip(edit.masks, corr["CorrectionMasks"]):
            assert cm["What"] == "Mask/Image" and mask.kind == "ai"
            reg = REGION_BY_KEY[mask.region]
            assert (reg.subtype, reg.subcategory) == (cm["MaskSubType"], cm.get("MaskSubCategoryID"))
            assert mask.name == cm["MaskName"] and mask.sync_id == cm["MaskSyncID"]
            assert (mask.mode, mask.inverted, mask.value) == ("add", False, 1.0)
            assert mask.reference_point == (0.5, 0.5)


@needs_exiftool
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_adobe_preset_globals_match_exiftool(name, preset):
    path = preset(name)
    et = exiftool_json(path)
    plan = read_plan(path)
    for key, value in plan.global_.items():
        p = GLOBAL_BY_XMP[key]
        expected = et[EXIFTOOL_NAMES.get(key, key)]
        if p.kind == "curve":
            assert [f"{x}, {y}" for x, y in value] == expected
        elif p.kind == "enum":
            assert value == expected
        else:
            assert value == pytest.approx(float(expected)), key


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_adobe_preset_every_property_is_accounted_for(name, preset):
    path = preset(name)
    doc = read_xmp(path)
    plan = doc.plan
    in_file = crs_top_level(path)
    modelled = set(plan.global_) | set(plan.other) | HEADER
    if plan.regions:
        modelled.add("MaskGroupBasedCorrections")
    assert in_file <= modelled
    assert not (set(plan.global_) & set(plan.other))
    assert set(plan.other).isdisjoint(HEADER)


def test_portrait_people_parts_are_the_documented_regions(preset):
    # LIGHTROOM.md §4.3: MaskSubType 3 with SubCategoryID 2 face skin, 8 sclera, 3 iris, 12 teeth, 5 hair,
    # 11 clothes, 9 eyebrows; in that order in portrait-masks.xmp.
    plan = read_plan(preset("portrait-masks.xmp"))
    assert [e.region for e in plan.regions] == ["face_skin", "eye_sclera", "eyes", "teeth", "hair", "clothes",
                                               "eyebrows"]
    face = plan.regions[0]
    assert face.values["Texture"] == pytest.approx(-20)  # LocalTexture="-0.2" is -20 on the slider
    assert face.values["Clarity2012"] == pytest.approx(-10)
    sclera = plan.regions[1]
    assert sclera.values["Exposure2012"] == pytest.approx(0.15)  # LocalExposure2012="0.0375" = 0.15 EV
    hair = plan.regions[4]
    assert hair.values["Texture"] == pytest.approx(8.1591)  # fractional values stay exact (0.081591)
    assert hair.values["Sharpness"] == pytest.approx(13.7424)  # 0.137424


def test_subject_sky_background_and_landscape_codes(preset):
    plan = read_plan(preset("mask-exmaple.xmp"))
    assert [e.region for e in plan.regions] == ["sky", "background", "subject"]
    assert plan.regions[0].values["Exposure2012"] == pytest.approx(1.0)  # stored 0.25 = +1 EV
    landscape = read_plan(preset("landscape.xmp"))
    assert [e.region for e in landscape.regions] == ["landscape_sky", "natural_ground", "water", "vegetation",
                                                    "architecture", "landscape_sky"]


def test_preset_header_goes_to_preset_info(preset):
    doc = read_xmp(preset("color-mixer.xmp"))
    assert doc.is_preset
    assert doc.preset.name == "Unbenanntes Preset"
    assert doc.preset.uuid == "5ABEFBEB353749B1868A0408355D4E3F"
    assert doc.preset.preset_type == "Normal"
    assert doc.preset.flags["SupportsAmount"] is True and doc.preset.flags["RequiresRGBTables"] is False
    assert doc.plan.provenance["preset"]["name"] == "Unbenanntes Preset"
    assert doc.plan.global_["HueAdjustmentRed"] == -66
    temperature = read_xmp(preset("temperature.xmp"))
    assert temperature.preset.flags["SupportsAmount"] is False
    assert temperature.plan.global_ == {"WhiteBalance": "As Shot"}


def test_unknown_structures_are_kept(preset):
    plan = read_plan(preset("bw.xmp"))
    assert plan.other["Look"]["Name"] == "Adobe Monochrome"
    assert plan.other["Look"]["Group"] == {"x-default": "Profiles"}
    assert plan.other["Look"]["SupportsAmount"] is False
    assert plan.other["GrayMixerRed"] == -38
    plan = read_plan(preset("v2_example-mask.xmp"))
    assert plan.other["LensBlur"]["FocalRange"] == "0 0 100 100"
    assert plan.other["LensBlur"]["Active"] is False


def test_tone_curves_are_points(preset):
    plan = read_plan(preset("gradiationcurve.xmp"))
    assert plan.global_["ToneCurvePV2012"] == [(0, 0), (69, 87), (255, 255)]
    assert plan.global_["ToneCurvePV2012Blue"] == [(0, 0), (54, 74), (134, 149), (154, 188), (255, 255)]
    assert plan.global_["ToneCurveName2012"] == "Custom"
    assert plan.global_["ParametricDarks"] == 16


def test_white_balance_and_signed_values(preset):
    plan = read_plan(preset("example.xmp"))
    assert plan.global_["Temperature"] == 5900 and plan.global_["Tint"] == -10
    assert plan.global_["Exposure2012"] == -1.0 and plan.global_["Contrast2012"] == 1
    assert plan.global_["SharpenRadius"] == 1.0
    assert plan.other["AsShotTemperature"] == 5150


# -- forms and legacy containers ---------------------------------------------------------------------------------
LEGACY = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
   crs:Version="9.1" crs:ProcessVersion="6.7" crs:HasSettings="TRUE">
   <crs:Exposure2012>+0.50</crs:Exposure2012>
   <crs:GradientBasedCorrections>
    <rdf:Seq>
     <rdf:li rdf:parseType="Resource">
      <crs:What>Correction</crs:What>
      <crs:CorrectionAmount>1</crs:CorrectionAmount>
      <crs:CorrectionActive>TRUE</crs:CorrectionActive>
      <crs:LocalExposure2012>-0.25</crs:LocalExposure2012>
      <crs:CorrectionMasks>
       <rdf:Seq>
        <rdf:li crs:What="Mask/Gradient" crs:MaskValue="1" crs:ZeroX="0.5" crs:ZeroY="0.6" crs:FullX="0.5"
         crs:FullY="0.2"/>
       </rdf:Seq>
      </crs:CorrectionMasks>
     </rdf:li>
    </rdf:Seq>
   </crs:GradientBasedCorrections>
   <crs:CircularGradientBasedCorrections>
    <rdf:Seq>
     <rdf:li>
      <rdf:Description crs:What="Correction" crs:CorrectionAmount="0.5" crs:CorrectionActive="False"
       crs:LocalClarity2012="0.3">
       <crs:CorrectionMasks>
        <rdf:Seq>
         <rdf:li>
          <rdf:Description crs:What="Mask/CircularGradient" crs:MaskValue="1" crs:Top="0.1" crs:Left="0.2"
           crs:Bottom="0.7" crs:Right="0.8" crs:Angle="15" crs:Midpoint="50" crs:Roundness="-10" crs:Feather="80"
           crs:Flipped="False"/>
         </rdf:li>
        </rdf:Seq>
       </crs:CorrectionMasks>
      </rdf:Description>
     </rdf:li>
    </rdf:Seq>
   </crs:CircularGradientBasedCorrections>
   <crs:PaintBasedCorrections>
    <rdf:Seq>
     <rdf:li crs:What="Correction" crs:CorrectionAmount="1" crs:CorrectionActive="true" crs:LocalSaturation="-0.5">
      <crs:CorrectionMasks>
       <rdf:Seq>
        <rdf:li crs:What="Mask/Paint" crs:MaskValue="1" crs:Radius="0.05" crs:Flow="1" crs:CenterWeight="0">
         <crs:Dabs>
          <rdf:Seq>
           <rdf:li>d 0.400000 0.300000</rdf:li>
           <rdf:li>d 0.410000 0.310000</rdf:li>
          </rdf:Seq>
         </crs:Dabs>
        </rdf:li>
       </rdf:Seq>
      </crs:CorrectionMasks>
     </rdf:li>
    </rdf:Seq>
   </crs:PaintBasedCorrections>
   <crs:RetouchInfo>
    <rdf:Seq>
     <rdf:li>centerX = 0.250000, centerY = 0.400000, radius = 0.020000, sourceState = sourceSetExplicitly, sourceX = 0.300000, sourceY = 0.450000, spotType = heal</rdf:li>
     <rdf:li>centerX = 0.700000, centerY = 0.100000, radius = 0.010000, sourceState = sourceAutoComputed, sourceX = 0.650000, sourceY = 0.120000, spotType = clone</rdf:li>
    </rdf:Seq>
   </crs:RetouchInfo>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def test_legacy_containers_and_forms(tmp_path):
    path = tmp_path / "legacy.xmp"
    path.write_text(LEGACY, encoding="utf-8")
    plan = read_plan(path)
    assert plan.global_["Exposure2012"] == 0.5  # element form
    assert [e.region for e in plan.regions] == ["linear", "radial", "brush"]
    linear, radial, brush = plan.regions
    assert linear.values["Exposure2012"] == pytest.approx(-1.0)  # -0.25 stored = -1 EV
    assert linear.active is True  # "TRUE", parseType="Resource"
    assert linear.masks[0].geometry == {"zero_x": 0.5, "zero_y": 0.6, "full_x": 0.5, "full_y": 0.2}
    assert radial.amount == 0.5 and radial.active is False
    assert radial.values["Clarity2012"] == pytest.approx(30)
    assert radial.masks[0].geometry == {"top": 0.1, "left": 0.2, "bottom": 0.7, "right": 0.8, "angle": 15.0,
                                        "midpoint": 50.0, "roundness": -10.0, "feather": 80.0, "flipped": False}
    assert brush.values["Saturation"] == pytest.approx(-50)
    assert brush.masks[0].geometry["dabs"] == [[0.4, 0.3], [0.41, 0.31]]
    assert brush.masks[0].geometry["radius"] == 0.05
    heal, clone = plan.spots
    assert (heal.kind, heal.x, heal.y, heal.size_x, heal.source_x, heal.source_y) == \
        ("heal", 0.25, 0.4, 0.02, 0.3, 0.45)
    assert clone.kind == "clone" and clone.extra["SourceState"] == "sourceAutoComputed"
    assert plan.provenance["crs"]["ProcessVersion"] == "6.7"


BLEND = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" crs:HasSettings="True">
<crs:MaskGroupBasedCorrections><rdf:Seq><rdf:li><rdf:Description crs:What="Correction" crs:CorrectionAmount="1"
 crs:CorrectionActive="true" crs:CorrectionName="People but not faces" crs:CorrectionSyncID="0123456789ABCDEF0123456789ABCDEF"
 crs:LocalExposure2012="0.05" crs:LocalFutureSlider="0.7">
<crs:CorrectionMasks><rdf:Seq>
 <rdf:li crs:What="Mask/Image" crs:MaskActive="true" crs:MaskName="Subject" crs:MaskBlendMode="0" crs:MaskInverted="false"
  crs:MaskSyncID="11111111111111111111111111111111" crs:MaskValue="1" crs:MaskVersion="1" crs:MaskSubType="1"
  crs:ReferencePoint="0.420000 0.310000" crs:ErrorReason="0" crs:MaskDigest="A1B2C3D4E5F60718293A4B5C6D7E8F90"
  crs:WholeImageArea="0/1,0/1,1920/1,2880/1"/>
 <rdf:li crs:What="Mask/Image" crs:MaskActive="true" crs:MaskName="Face" crs:MaskBlendMode="1" crs:MaskInverted="false"
  crs:MaskSyncID="22222222222222222222222222222222" crs:MaskValue="0" crs:MaskVersion="1" crs:MaskSubType="3"
  crs:MaskSubCategoryID="2" crs:ReferencePoint="0.500000 0.500000" crs:ErrorReason="0"/>
 <rdf:li crs:What="Mask/Gradient" crs:MaskActive="true" crs:MaskName="Top half" crs:MaskBlendMode="1" crs:MaskInverted="true"
  crs:MaskSyncID="33333333333333333333333333333333" crs:MaskValue="0" crs:ZeroX="0.5" crs:ZeroY="0.6" crs:FullX="0.5" crs:FullY="0.4"/>
 <rdf:li crs:What="Mask/Image" crs:MaskActive="false" crs:MaskName="Beard?" crs:MaskBlendMode="0" crs:MaskInverted="false"
  crs:MaskSyncID="44444444444444444444444444444444" crs:MaskValue="1" crs:MaskVersion="1" crs:MaskSubType="3"
  crs:MaskSubCategoryID="13" crs:ReferencePoint="0.500000 0.500000" crs:ErrorReason="0"/>
</rdf:Seq></crs:CorrectionMasks></rdf:Description></rdf:li></rdf:Seq></crs:MaskGroupBasedCorrections>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_blend_modes_codes_and_unknown_attributes():
    plan = read_plan(BLEND)
    (edit,) = plan.regions
    add, subtract, intersect, unknown = edit.masks
    assert edit.region == "subject"
    assert (add.mode, add.region, add.reference_point) == ("add", "subject", (0.42, 0.31))
    assert add.extra["MaskDigest"] == "A1B2C3D4E5F60718293A4B5C6D7E8F90"  # computed-mask data kept verbatim
    assert add.extra["WholeImageArea"] == "0/1,0/1,1920/1,2880/1"
    assert (subtract.mode, subtract.region, subtract.inverted) == ("subtract", "face_skin", False)
    assert (intersect.mode, intersect.kind, intersect.inverted) == ("intersect", "linear", False)
    assert unknown.region is None  # 3/13 is not a documented code: kept, never guessed
    assert unknown.extra["MaskSubType"] == 3 and unknown.extra["MaskSubCategoryID"] == 13
    assert unknown.extra["MaskActive"] is False
    assert edit.extra["LocalFutureSlider"] == 0.7
    assert edit.values["Exposure2012"] == pytest.approx(0.2)


# -- embedded XMP ----------------------------------------------------------------------------------------------
def plan_key(plan) -> dict:
    """The parts of a plan that describe the look (not notes or provenance)."""
    data = plan.to_dict()
    return {k: data.get(k) for k in ("global", "regions", "spots", "other")}


@needs_exiftool
def test_xmp_embedded_in_a_jpeg(tmp_path, shared_data, preset):
    source = preset("portrait-masks.xmp")
    photo = tmp_path / "photo.jpg"
    subprocess.run([EXIFTOOL, "-q", "-o", str(photo), f"-xmp<={source}",
                    str(shared_data / "photos" / "portrait_headshot.jpg")], check=True)
    assert plan_key(read_plan(photo)) == plan_key(read_plan(source))
    assert plan_key(read_plan(photo.read_bytes())) == plan_key(read_plan(source))


@needs_exiftool
def test_settings_rewritten_by_exiftool_in_its_own_rdf_style(tmp_path, shared_data, preset):
    # ExifTool re-serialises the settings as elements in rdf:parseType="Resource" items with "True"/"False";
    # ExifTool 12.57 drops the struct fields it has no definition for (e.g. MaskSubCategoryID, LocalGrain).
    source = preset("mask-exmaple.xmp")
    photo = tmp_path / "photo.jpg"
    subprocess.run([EXIFTOOL, "-q", "-o", str(photo), "-struct", "-tagsfromfile", str(source), "-xmp-crs:all",
                    str(shared_data / "photos" / "portrait_headshot.jpg")], check=True)
    assert b"parseType='Resource'" in photo.read_bytes()
    embedded, sidecar = read_plan(photo), read_plan(source)
    assert [(e.name, e.sync_id, e.amount, e.active) for e in embedded.regions] == \
        [(e.name, e.sync_id, e.amount, e.active) for e in sidecar.regions]
    for mine, theirs in zip(embedded.regions, sidecar.regions):
        assert mine.values and all(theirs.values[k] == v for k, v in mine.values.items())
        assert [(m.sync_id, m.name, m.mode, m.kind) for m in mine.masks] == \
            [(m.sync_id, m.name, m.mode, m.kind) for m in theirs.masks]
    assert [e.region for e in embedded.regions if e.region != "other"] == ["sky", "subject"]
    assert embedded.regions[0].values["Exposure2012"] == pytest.approx(1.0)


@needs_exiftool
def test_xmp_embedded_in_a_tiff(tmp_path, preset):
    from PIL import Image
    tiff = tmp_path / "photo.tif"
    Image.new("RGB", (32, 24), (120, 90, 60)).save(tiff)
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", f"-xmp<={preset('example.xmp')}", str(tiff)], check=True)
    assert read_plan(tiff).global_ == read_plan(preset("example.xmp")).global_


# -- errors ----------------------------------------------------------------------------------------------------
def test_malformed_xml_names_the_file(tmp_path, preset):
    broken = tmp_path / "broken.xmp"
    broken.write_bytes(preset("example.xmp").read_bytes()[:3000])
    with pytest.raises(XmpError) as info:
        read_plan(broken)
    assert str(broken) in str(info.value) and info.value.code == "malformed_xmp"


def test_entity_expansion_is_refused(tmp_path):
    bomb = tmp_path / "bomb.xmp"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
                    '<x:xmpmeta xmlns:x="adobe:ns:meta/">&b;</x:xmpmeta>')
    with pytest.raises(XmpError, match="DTD"):
        read_plan(bomb)


def test_no_camera_raw_settings(tmp_path):
    plain = tmp_path / "dc.xmp"
    plain.write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-'
                     'ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="3"/>'
                     '</rdf:RDF></x:xmpmeta>')
    with pytest.raises(XmpError, match="no Camera Raw"):
        read_plan(plain)
    with pytest.raises(XmpError, match="not found"):
        read_plan(tmp_path / "missing.xmp")


@needs_exiftool
def test_extended_xmp_in_a_jpeg_is_reassembled(tmp_path, shared_data):
    # Settings too large for one JPEG segment: ExifTool writes them as Extended XMP, split over segments.
    from bridge_server.core.plan import RetouchPlan
    from bridge_server.lightroom import plan_to_xmp
    plan = RetouchPlan.build({"Exposure2012": 0.2}, [{"region": "sky", "values": {"Exposure2012": i / 100}}
                                                     for i in range(300)])
    source = tmp_path / "big.xmp"
    source.write_text(plan_to_xmp(plan, is_raw=True), encoding="utf-8")
    photo = tmp_path / "big.jpg"
    subprocess.run([EXIFTOOL, "-m", "-q", "-o", str(photo), "-struct", "-tagsfromfile", str(source), "-xmp-crs:all",
                    str(shared_data / "photos" / "portrait_headshot.jpg")], check=True)
    assert photo.read_bytes().count(b"http://ns.adobe.com/xmp/extension/\x00") > 1
    back = read_plan(photo)
    assert len(back.regions) == 300 and back.regions[-1].values["Exposure2012"] == pytest.approx(2.99)
