"""Merging a plan into a photo's existing XMP sidecar: nothing of anyone else's changes, byte for byte.

The fixture sidecar carries what a real one does: ratings, labels, keywords (dc:subject), photoshop and a
custom namespace, an unknown crs property, a single-quoted attribute, a comment, CDATA, the xpacket
wrapper, a photographer's radial mask and heal spot. Expectations are stated on the bytes: after removing
exactly the blocks we add (found by regex with the ids we chose) and applying the value changes we asked
for, the result must equal the original.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from bridge_server.core.errors import NotFoundError, PermissionDeniedError, SidecarConflictError
from bridge_server.core.plan import RetouchPlan
from bridge_server.lightroom import read_xmp, write_sidecar

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed")

SIDECAR = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00        ">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
   xmp:Rating="4"
   xmp:Label="Red"
   photoshop:DateCreated="2024-05-01T10:00:00"
   crs:Version="17.5"
   crs:ProcessVersion="15.4"
   crs:WhiteBalance="As Shot"
   crs:Exposure2012="+0.10"
   crs:Contrast2012="+5"
   crs:LensProfileEnable='1'
   crs:FutureSetting="keep me &amp; me"
   crs:HasSettings="True">
   <!-- written by hand -->
   <dc:subject>
    <rdf:Bag>
     <rdf:li>wedding</rdf:li>
     <rdf:li>bride</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <crs:ToneCurvePV2012>
    <rdf:Seq>
     <rdf:li>0, 0</rdf:li>
     <rdf:li>255, 255</rdf:li>
    </rdf:Seq>
   </crs:ToneCurvePV2012>
   <crs:MaskGroupBasedCorrections>
    <rdf:Seq>
     <rdf:li>
      <rdf:Description
       crs:What="Correction"
       crs:CorrectionAmount="1"
       crs:CorrectionActive="true"
       crs:CorrectionName="AI Retouch · my own dodge"
       crs:CorrectionSyncID="ABCDEFABCDEFABCDEFABCDEFABCDEF01"
       crs:LocalExposure2012="0.125"
       crs:LocalCurveRefineSaturation="100">
      <crs:CorrectionMasks>
       <rdf:Seq>
        <rdf:li
         crs:What="Mask/CircularGradient"
         crs:MaskActive="true"
         crs:MaskName="Radial Gradient 1"
         crs:MaskBlendMode="0"
         crs:MaskInverted="false"
         crs:MaskSyncID="ABCDEFABCDEFABCDEFABCDEFABCDEF02"
         crs:MaskValue="1"
         crs:Top="0.2" crs:Left="0.3" crs:Bottom="0.6" crs:Right="0.7"
         crs:Angle="0" crs:Midpoint="50" crs:Roundness="0" crs:Feather="75"
         crs:Flipped="true" crs:Version="2"/>
       </rdf:Seq>
      </crs:CorrectionMasks>
      </rdf:Description>
     </rdf:li>
    </rdf:Seq>
   </crs:MaskGroupBasedCorrections>
   <crs:RetouchAreas>
    <rdf:Seq>
     <rdf:li>
      <rdf:Description crs:SpotType="clone" crs:SourceState="sourceSetExplicitly" crs:Method="gaussian"
       crs:SourceX="0.300000" crs:OffsetY="0.300000" crs:Opacity="1" crs:Feather="0.2" crs:Seed="7">
      <crs:Masks>
       <rdf:Seq>
        <rdf:li crs:What="Mask/Ellipse" crs:MaskActive="true" crs:MaskBlendMode="0" crs:MaskInverted="false"
         crs:MaskSyncID="ABCDEFABCDEFABCDEFABCDEFABCDEF03" crs:MaskValue="1" crs:X="0.250000" crs:Y="0.250000"
         crs:SizeX="0.020000" crs:SizeY="0.020000" crs:Alpha="0" crs:CenterValue="1" crs:PerimeterValue="0"/>
       </rdf:Seq>
      </crs:Masks>
      </rdf:Description>
     </rdf:li>
    </rdf:Seq>
   </crs:RetouchAreas>
  </rdf:Description>
  <rdf:Description rdf:about=""
    xmlns:acme="http://example.com/acme/1.0/">
   <acme:Project>Spring <![CDATA[cata<logue>]]></acme:Project>
   <acme:Client acme:Name="Ms Smith" acme:Paid="true"/>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""
SUBJECT, SKY, FACE = "1" * 32, "2" * 32, "3" * 32
SPOT = "4" * 32


def our_plan(*, with_sky: bool = True, exposure: float = 0.35) -> RetouchPlan:
    """Our plan, with the sync ids fixed so the test can find what it wrote."""
    regions = [
        {"region": "subject", "sync_id": SUBJECT, "values": {"Exposure2012": 0.3, "Shadows2012": 15},
         "masks": [{"kind": "ai", "region": "subject", "sync_id": SUBJECT[:31] + "A"}]},
        {"region": "face_skin", "sync_id": FACE, "values": {"Texture": -20},
         "masks": [{"kind": "ai", "region": "face_skin", "sync_id": FACE[:31] + "A"}]},
    ]
    if with_sky:
        regions.insert(1, {"region": "sky", "sync_id": SKY, "values": {"Highlights2012": -30},
                           "masks": [{"kind": "ai", "region": "sky", "sync_id": SKY[:31] + "A"}]})
    spots = [{"x": 0.55, "y": 0.42, "size_x": 0.01, "source_x": 0.62, "source_y": 0.4,
              "extra": {"Mask": {"MaskSyncID": SPOT}}}]
    return RetouchPlan.build({"Exposure2012": exposure, "Shadows2012": 25, "Temperature": 5600, "Tint": 4},
                             regions, spots)


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "IMG_0042.CR2"
    path.write_bytes(b"II*\x00 not really a raw, never opened for writing")
    (tmp_path / "IMG_0042.xmp").write_text(SIDECAR, encoding="utf-8")
    return path


def strip_ours(text: str, corrections: list[str], spots: list[str]) -> str:
    """Remove exactly the blocks we add: our corrections, our spots and our record (each must be found once)."""
    for sync in corrections:
        pattern = (r'\n[ \t]*<rdf:li>\s*<rdf:Description\s[^>]*?crs:CorrectionSyncID="%s".*?</rdf:Description>'
                   r"\s*</rdf:li>" % sync)
        text, n = re.subn(pattern, "", text, flags=re.S)
        assert n == 1, sync
    for sync in spots:
        pattern = (r'\n[ \t]*<rdf:li>\s*<rdf:Description\s[^>]*?crs:SpotType[^>]*>\s*<crs:Masks>\s*<rdf:Seq>\s*'
                   r'<rdf:li\s[^>]*?crs:MaskSyncID="%s"[^>]*/>\s*</rdf:Seq>\s*</crs:Masks>\s*</rdf:Description>'
                   r"\s*</rdf:li>" % sync)
        text, n = re.subn(pattern, "", text, flags=re.S)
        assert n == 1, sync
    text, n = re.subn(r'\n[ \t]*<rdf:Description rdf:about=""\s+xmlns:airetouch="http://ns.airetouch.org/1.0/"'
                      r".*?</rdf:Description>", "", text, flags=re.S)
    assert n == 1
    return text


def expected_original(replacements: dict[str, str], added: list[str]) -> str:
    """The original with the values we set replaced; `added` attributes are removed from the merged side."""
    text = SIDECAR
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def strip_added_attributes(text: str, names: list[str]) -> str:
    for name in names:
        text, n = re.subn(r'\n[ \t]*crs:%s="[^"]*"' % name, "", text)
        assert n == 1, name
    return text


SET_VALUES = {'crs:Exposure2012="+0.10"': 'crs:Exposure2012="+0.35"',
              'crs:WhiteBalance="As Shot"': 'crs:WhiteBalance="Custom"'}
ADDED = ["Shadows2012", "Temperature", "Tint"]


# -- keeping everything else ---------------------------------------------------------------------------------
def test_merge_changes_only_what_we_own(photo):
    result = write_sidecar(photo, our_plan())
    merged = (photo.parent / "IMG_0042.xmp").read_text(encoding="utf-8")
    assert result.created is False and result.path == photo.parent / "IMG_0042.xmp"
    assert (result.written_corrections, result.kept_corrections, result.replaced_corrections) == (3, 1, 0)
    assert (result.written_spots, result.kept_spots) == (1, 1)
    rest = strip_added_attributes(strip_ours(merged, [SUBJECT, SKY, FACE], [SPOT]), ADDED)
    assert rest == expected_original(SET_VALUES, ADDED)


def test_new_items_follow_the_photographers_in_the_same_lists(photo):
    write_sidecar(photo, our_plan())
    doc = read_xmp(photo.parent / "IMG_0042.xmp")
    assert [e.sync_id for e in doc.plan.regions] == ["ABCDEFABCDEFABCDEFABCDEFABCDEF01", SUBJECT, SKY, FACE]
    assert [e.origin for e in doc.plan.regions] == ["user", "airetouch", "airetouch", "airetouch"]
    assert [s.origin for s in doc.plan.spots] == ["user", "airetouch"]
    theirs = doc.plan.spots[0]  # the photographer's clone spot, read from RetouchAreas
    assert (theirs.kind, theirs.x, theirs.y, theirs.size_x, theirs.source_x, theirs.source_y, theirs.feather) == \
        ("clone", 0.25, 0.25, 0.02, 0.3, 0.3, 0.2)
    assert theirs.extra["Seed"] == 7 and theirs.extra["Mask"]["MaskSyncID"] == "ABCDEFABCDEFABCDEFABCDEFABCDEF03"
    assert doc.plan.other["FutureSetting"] == "keep me & me"
    assert doc.plan.global_["Exposure2012"] == 0.35 and doc.plan.global_["Contrast2012"] == 5


@needs_exiftool
def test_exiftool_sees_every_foreign_tag_unchanged(photo):
    sidecar = photo.parent / "IMG_0042.xmp"
    before = _exiftool(sidecar)
    write_sidecar(photo, our_plan())
    after = _exiftool(sidecar)
    foreign = {k for k in before if not k.startswith(("XMP-crs:", "System:", "File:", "ExifTool:"))}
    assert {"XMP-xmp:Rating", "XMP-dc:Subject", "XMP-photoshop:DateCreated"} <= foreign
    assert any(k.startswith("XMP-acme:") for k in foreign)
    assert {k: after.get(k) for k in foreign} == {k: before[k] for k in foreign}
    assert after["XMP-crs:LensProfileEnable"] == before["XMP-crs:LensProfileEnable"]
    assert after["XMP-crs:MaskGroupBasedCorrections"][0] == before["XMP-crs:MaskGroupBasedCorrections"][0]
    assert len(after["XMP-crs:MaskGroupBasedCorrections"]) == 4
    assert after["XMP-crs:ColorTemperature"] == 5600


def _exiftool(path: Path) -> dict:
    out = subprocess.run([EXIFTOOL, "-struct", "-j", "-G1", "-n", str(path)], capture_output=True, check=True,
                         text=True)
    return json.loads(out.stdout)[0]


# -- running again -------------------------------------------------------------------------------------------
def test_second_run_replaces_the_first(photo):
    sidecar = photo.parent / "IMG_0042.xmp"
    write_sidecar(photo, our_plan())
    first = sidecar.read_bytes()
    result = write_sidecar(photo, our_plan())
    assert (result.replaced_corrections, result.written_corrections, result.kept_corrections) == (3, 3, 1)
    assert (result.replaced_spots, result.written_spots, result.kept_spots) == (1, 1, 1)
    assert sidecar.read_bytes() == first  # same plan, same ids: same bytes, no duplicates
    result = write_sidecar(photo, our_plan(with_sky=False, exposure=0.5))
    doc = read_xmp(sidecar)
    assert [e.sync_id for e in doc.plan.regions] == ["ABCDEFABCDEFABCDEFABCDEFABCDEF01", SUBJECT, FACE]
    assert doc.plan.global_["Exposure2012"] == 0.5
    rest = strip_added_attributes(strip_ours(sidecar.read_text(encoding="utf-8"), [SUBJECT, FACE], [SPOT]), ADDED)
    assert rest == expected_original({'crs:Exposure2012="+0.10"': 'crs:Exposure2012="+0.50"',
                                      'crs:WhiteBalance="As Shot"': 'crs:WhiteBalance="Custom"'}, ADDED)


def test_corrections_the_photographer_changed_are_theirs(photo):
    sidecar = photo.parent / "IMG_0042.xmp"
    write_sidecar(photo, our_plan())
    text = sidecar.read_text(encoding="utf-8")
    # The photographer renames our sky correction and brightens our subject correction in Lightroom.
    text = text.replace('crs:CorrectionName="AI Retouch · Sky"', 'crs:CorrectionName="Sky, my way"')
    text = re.sub(r'(CorrectionSyncID="%s"\s+crs:LocalExposure2012=)"0.075"' % SUBJECT, r'\1"0.2"', text)
    sidecar.write_text(text, encoding="utf-8")
    result = write_sidecar(photo, our_plan(with_sky=False))
    assert sorted(result.adopted) == sorted([SUBJECT, SKY])
    doc = read_xmp(sidecar)
    names = [(e.name, e.origin) for e in doc.plan.regions]
    assert ("Sky, my way", "user") in names
    assert [e.values["Exposure2012"] for e in doc.plan.regions if e.sync_id == SUBJECT] == [0.8]
    assert [e.origin for e in doc.plan.regions if e.sync_id == SUBJECT] == ["user"]
    # their (changed) copy is kept; our new subject correction gets a sync id of its own
    ours = [e for e in doc.plan.regions if e.origin == "airetouch"]
    assert [e.region for e in ours] == ["subject", "face_skin"] and ours[0].sync_id != SUBJECT
    assert len({e.sync_id for e in doc.plan.regions}) == len(doc.plan.regions)


def test_a_correction_merely_named_like_ours_is_kept(photo):
    result = write_sidecar(photo, our_plan())
    doc = read_xmp(result.path)
    theirs = [e for e in doc.plan.regions if e.name == "AI Retouch · my own dodge"]
    assert len(theirs) == 1 and theirs[0].origin == "user"
    write_sidecar(photo, our_plan())
    assert [e.name for e in read_xmp(result.path).plan.regions].count("AI Retouch · my own dodge") == 1


# -- safety --------------------------------------------------------------------------------------------------
def test_backup_and_permissions(photo):
    sidecar = photo.parent / "IMG_0042.xmp"
    os.chmod(sidecar, 0o640)
    photo_bytes = photo.read_bytes()
    result = write_sidecar(photo, our_plan())
    assert result.backup is not None and result.backup.read_text(encoding="utf-8") == SIDECAR
    assert result.backup.parent.name == ".airetouch-backup"
    assert stat.S_IMODE(sidecar.stat().st_mode) == 0o640
    assert photo.read_bytes() == photo_bytes
    assert sorted(p.name for p in photo.parent.iterdir()) == [".airetouch-backup", "IMG_0042.CR2", "IMG_0042.xmp"]


def test_malformed_sidecar_is_never_overwritten(photo):
    sidecar = photo.parent / "IMG_0042.xmp"
    broken = SIDECAR.replace("</crs:MaskGroupBasedCorrections>", "", 1).encode("utf-8")
    sidecar.write_bytes(broken)
    with pytest.raises(SidecarConflictError) as info:
        write_sidecar(photo, our_plan())
    assert str(sidecar) in str(info.value) and info.value.code == "sidecar_unmergeable"
    assert sidecar.read_bytes() == broken
    assert sorted(p.name for p in photo.parent.iterdir()) == ["IMG_0042.CR2", "IMG_0042.xmp"]


def test_sidecar_with_a_dtd_is_refused(photo):
    sidecar = photo.parent / "IMG_0042.xmp"
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + SIDECAR.encode()
    sidecar.write_bytes(evil)
    with pytest.raises(SidecarConflictError, match="DTD"):
        write_sidecar(photo, our_plan())
    assert sidecar.read_bytes() == evil


def test_read_only_folder_gives_a_clear_error_and_loses_nothing():
    folder = Path(tempfile.mkdtemp(prefix="airetouch-ro-"))
    try:
        os.chmod(folder, 0o755)
        photo = folder / "IMG_0042.CR2"
        photo.write_bytes(b"raw")
        sidecar = folder / "IMG_0042.xmp"
        sidecar.write_text(SIDECAR, encoding="utf-8")
        os.chmod(sidecar, 0o644)
        (folder / "warmup.CR2").write_bytes(b"raw")
        write_sidecar(folder / "warmup.CR2", our_plan())  # imports and caches everything the writer uses
        (folder / "warmup.xmp").unlink()
        (folder / "warmup.CR2").unlink()
        os.chmod(folder, 0o555)
        before = sorted(p.name for p in folder.iterdir())
        with _unprivileged():
            with pytest.raises(PermissionDeniedError) as info:
                write_sidecar(photo, our_plan())
        assert "not writable" in str(info.value) and str(sidecar) in str(info.value)
        assert sidecar.read_text(encoding="utf-8") == SIDECAR
        assert sorted(p.name for p in folder.iterdir()) == before
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder)


class _unprivileged:
    """Run a block without root's power to ignore permissions (as 'nobody'); a no-op for normal users."""

    def __enter__(self):
        self.was_root = os.geteuid() == 0
        if self.was_root:
            os.setegid(65534)
            os.seteuid(65534)

    def __exit__(self, *exc):
        if self.was_root:
            os.seteuid(0)
            os.setegid(0)


# -- where the sidecar goes ------------------------------------------------------------------------------------
def test_missing_photo_gets_no_sidecar(tmp_path):
    with pytest.raises(NotFoundError):
        write_sidecar(tmp_path / "nope.CR2", our_plan())
    assert list(tmp_path.iterdir()) == []


def test_existing_upper_case_sidecar_is_used(photo):
    (photo.parent / "IMG_0042.xmp").rename(photo.parent / "IMG_0042.XMP")
    result = write_sidecar(photo, our_plan())
    assert result.path.name == "IMG_0042.XMP"
    assert sorted(p.name for p in photo.parent.iterdir() if p.is_file()) == ["IMG_0042.CR2", "IMG_0042.XMP"]


def test_out_dir_starts_from_the_photos_own_sidecar(photo, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = write_sidecar(photo, our_plan(), out_dir=out)
    assert result.path == out / "IMG_0042.xmp" and result.created is True and result.backup is None
    assert (photo.parent / "IMG_0042.xmp").read_text(encoding="utf-8") == SIDECAR
    rest = strip_added_attributes(strip_ours(result.path.read_text(encoding="utf-8"), [SUBJECT, SKY, FACE], [SPOT]),
                                  ADDED)
    assert rest == expected_original(SET_VALUES, ADDED)


def test_new_sidecar_for_a_jpeg(tmp_path):
    photo = tmp_path / "party.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xd9")
    plan = RetouchPlan.build({"IncrementalTemperature": 10, "Exposure2012": 0.2},
                             [{"region": "subject", "values": {"Exposure2012": 0.3}}])
    result = write_sidecar(photo, plan)
    assert result.created and result.path == tmp_path / "party.xmp"
    doc = read_xmp(result.path)
    assert doc.plan.global_["IncrementalTemperature"] == 10 and "Temperature" not in doc.plan.global_
    assert doc.plan.regions[0].origin == "airetouch"
    assert photo.read_bytes() == b"\xff\xd8\xff\xd9"


def test_sidecar_without_camera_raw_settings(tmp_path):
    photo = tmp_path / "DSC_1.NEF"
    photo.write_bytes(b"raw")
    original = ('<x:xmpmeta xmlns:x="adobe:ns:meta/">\n <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                '\n  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">\n   <dc:subject>'
                '<rdf:Bag><rdf:li>cat</rdf:li></rdf:Bag></dc:subject>\n  </rdf:Description>\n </rdf:RDF>\n'
                '</x:xmpmeta>\n')
    (tmp_path / "DSC_1.xmp").write_text(original, encoding="utf-8")
    write_sidecar(photo, our_plan())
    merged = (tmp_path / "DSC_1.xmp").read_text(encoding="utf-8")
    crs_block = re.search(r'\n  <rdf:Description rdf:about=""\s+xmlns:crs=.*?\n  </rdf:Description>', merged, re.S)
    assert crs_block is not None
    rest = strip_ours(merged.replace(crs_block.group(0), ""), [], [])
    assert rest == original
    doc = read_xmp(tmp_path / "DSC_1.xmp")
    assert len(doc.plan.regions) == 3 and doc.plan.global_["Temperature"] == 5600


@needs_exiftool
def test_merge_into_exiftool_style_sidecar(tmp_path, shared_data):
    # ExifTool writes properties as elements and structs as rdf:parseType="Resource".
    photo = tmp_path / "IMG_7.CR2"
    photo.write_bytes(b"raw")
    sidecar = tmp_path / "IMG_7.xmp"
    subprocess.run([EXIFTOOL, "-q", "-o", str(sidecar), "-tagsfromfile",
                    str(shared_data / "lightroom" / "presets" / "example.xmp"), "-xmp-crs:Exposure2012",
                    "-xmp-crs:Contrast2012", "-xmp-crs:Temperature", "-xmp-crs:WhiteBalance", "-XMP-dc:Subject=tree"],
                   check=True)
    original = sidecar.read_bytes()
    assert b"<crs:Exposure2012>" in original
    write_sidecar(photo, our_plan())
    after = _exiftool(sidecar)
    assert float(after["XMP-crs:Exposure2012"]) == 0.35 and after["XMP-crs:ColorTemperature"] == 5600
    assert float(after["XMP-crs:Contrast2012"]) == 1 and after["XMP-dc:Subject"] == ["tree"]
    assert len(after["XMP-crs:MaskGroupBasedCorrections"]) == 3
    assert b"<crs:Exposure2012>+0.35</crs:Exposure2012>" in sidecar.read_bytes()


def test_tone_curve_is_replaced_in_place(photo):
    plan = our_plan()
    plan.global_["ToneCurvePV2012"] = [(0, 0), (128, 140), (255, 255)]
    write_sidecar(photo, plan)
    merged = (photo.parent / "IMG_0042.xmp").read_text(encoding="utf-8")
    ours = ("<crs:ToneCurvePV2012>\n    <rdf:Seq>\n     <rdf:li>0, 0</rdf:li>\n     <rdf:li>128, 140</rdf:li>\n"
            "     <rdf:li>255, 255</rdf:li>\n    </rdf:Seq>\n   </crs:ToneCurvePV2012>")
    theirs = ("<crs:ToneCurvePV2012>\n    <rdf:Seq>\n     <rdf:li>0, 0</rdf:li>\n     <rdf:li>255, 255</rdf:li>\n"
              "    </rdf:Seq>\n   </crs:ToneCurvePV2012>")
    assert merged.count(ours) == 1
    rest = strip_added_attributes(strip_ours(merged.replace(ours, theirs), [SUBJECT, SKY, FACE], [SPOT]),
                                  ADDED + ["ToneCurveName2012"])
    assert rest == expected_original(SET_VALUES, ADDED)
    assert read_xmp(photo.parent / "IMG_0042.xmp").plan.global_["ToneCurveName2012"] == "Custom"


def test_attribute_only_description_gets_children(tmp_path):
    # A sidecar with only scalar settings: the Camera Raw description is an empty element on one line.
    photo = tmp_path / "P1.ARW"
    photo.write_bytes(b"raw")
    original = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                '<rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" '
                'crs:Exposure2012="+0.10" crs:HasSettings="True"/></rdf:RDF></x:xmpmeta>')
    (tmp_path / "P1.xmp").write_text(original, encoding="utf-8")
    write_sidecar(photo, our_plan())
    merged = (tmp_path / "P1.xmp").read_text(encoding="utf-8")
    assert merged.startswith('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
                             'syntax-ns#"><rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-'
                             'settings/1.0/" crs:Exposure2012="+0.35" crs:HasSettings="True"')
    doc = read_xmp(tmp_path / "P1.xmp")
    assert [e.sync_id for e in doc.plan.regions] == [SUBJECT, SKY, FACE] and len(doc.plan.spots) == 1
    assert doc.plan.global_["Shadows2012"] == 25 and doc.plan.provenance["crs"]["ProcessVersion"] == "15.4"


def test_crlf_sidecar_stays_crlf(photo):
    sidecar = photo.parent / "IMG_0042.xmp"
    sidecar.write_bytes(SIDECAR.replace("\n", "\r\n").encode("utf-8"))
    write_sidecar(photo, our_plan())
    data = sidecar.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert len(read_xmp(sidecar).plan.regions) == 4
