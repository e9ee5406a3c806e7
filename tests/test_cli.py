"""The command line, run as a person runs it (a subprocess), on real photos, with the real ExifTool."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest


def exiftool_json(path) -> dict:
    out = subprocess.run(["exiftool", "-j", "-n", "-struct", "-XMP-crs:all", str(path)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)[0]


def test_retouch_with_set_values_writes_a_sidecar_lightroom_can_read(airetouch, tmp_path, shared_data):
    photo = tmp_path / "headshot.jpg"
    shutil.copy(shared_data / "photos" / "portrait_headshot.jpg", photo)
    before = photo.read_bytes()
    run = airetouch("retouch", photo, "--set", "Exposure2012=+0.4", "--set", "sky:Highlights=-30",
                    "--set", "face_skin:Exposure=0.2")
    assert run.returncode == 0, run.stderr
    sidecar = tmp_path / "headshot.xmp"
    tags = exiftool_json(sidecar)
    assert float(tags["Exposure2012"]) == 0.4
    corrections = tags["MaskGroupBasedCorrections"]
    by_name = {c["CorrectionName"]: c for c in corrections}
    sky = next(c for n, c in by_name.items() if "Sky" in n)
    assert float(sky["LocalHighlights2012"]) == -0.3 and sky["CorrectionMasks"][0]["MaskSubType"] == 2
    face = next(c for n, c in by_name.items() if "Face" in n)
    assert float(face["LocalExposure2012"]) == 0.05  # +0.2 EV is stored as EV/4
    assert (face["CorrectionMasks"][0]["MaskSubType"], face["CorrectionMasks"][0]["MaskSubCategoryID"]) == (3, 2)
    assert photo.read_bytes() == before, "the original is never modified"
    assert "headshot.xmp" in run.stdout


def test_a_batch_goes_on_past_a_bad_file_and_exits_non_zero_naming_it(airetouch, tmp_path, shared_data):
    good = tmp_path / "good.jpg"
    shutil.copy(shared_data / "photos" / "two_women_indoor.jpg", good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(good.read_bytes()[:2000])  # truncated
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    out = tmp_path / "out"
    run = airetouch("retouch", bad, text, good, "--set", "Exposure2012=0.3", "--out", out)
    assert run.returncode == 1
    assert (out / "good.xmp").is_file()
    assert not (out / "bad.xmp").exists() and not (out / "notes.xmp").exists()
    assert "bad.jpg" in run.stderr and "notes.jpg" in run.stderr
    assert "1 of 3" in run.stdout


def test_retouch_without_a_plan_writes_the_automatic_plan_with_reasons(airetouch, tmp_path, shared_data):
    photo = tmp_path / "group.jpg"
    shutil.copy(shared_data / "photos" / "family_indoor_group.jpg", photo)
    run = airetouch("retouch", photo, "--explain", "--debug-masks", tmp_path / "masks")
    assert run.returncode == 0, run.stderr
    assert "why:" in run.stdout and "region face_skin" in run.stdout
    assert (tmp_path / "group.xmp").is_file()
    assert sorted(p.name for p in (tmp_path / "masks").glob("group.face_skin.png"))


def test_plan_file_round_trip_inspect_and_preset(airetouch, tmp_path, shared_data):
    plan = {"schema_version": 1, "global": {"Exposure2012": 0.25, "Vibrance": 10},
            "regions": [{"region": "subject", "values": {"Shadows2012": 20}},
                        {"region": "radial", "values": {"Exposure2012": -0.3},
                         "masks": [{"kind": "radial", "inverted": True,
                                    "geometry": {"top": 0.1, "left": 0.1, "bottom": 0.9, "right": 0.9,
                                                 "feather": 60}}]}]}
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    photo = tmp_path / "p.png"
    shutil.copy(shared_data / "photos" / "bride_flowers_ppr10k.png", photo)
    assert airetouch("retouch", photo, "--plan", plan_file).returncode == 0
    inspected = airetouch("inspect", tmp_path / "p.xmp", "--json")
    assert inspected.returncode == 0, inspected.stderr
    read = json.loads(inspected.stdout)
    assert read["global"]["Exposure2012"] == 0.25 and read["global"]["Vibrance"] == 10
    assert [r["region"] for r in read["regions"]] == ["subject", "radial"]
    presets = tmp_path / "presets"
    made = airetouch("preset", plan_file, "--name", "Soft light", "--group", "Tests", "--dir", presets)
    assert made.returncode == 0, made.stderr
    written = list(presets.rglob("*.xmp"))
    assert len(written) == 1
    tags = exiftool_json(written[0])
    assert float(tags["Exposure2012"]) == 0.25 and float(tags["Vibrance"]) == 10
    assert tags["PresetType"] == "Normal" and len(tags["UUID"]) == 32


def test_inspect_reads_an_adobe_preset(airetouch, preset_files):
    preset = next(p for p in preset_files if p.name == "mask-exmaple.xmp")
    run = airetouch("inspect", preset)
    assert run.returncode == 0 and "sky" in run.stdout


def test_a_malformed_plan_file_is_reported_clearly(airetouch, tmp_path, shared_data):
    bad = tmp_path / "plan.json"
    bad.write_text("{ nope")
    run = airetouch("retouch", shared_data / "photos" / "portrait_headshot.jpg", "--plan", bad, "--dry-run")
    assert run.returncode == 1 and "not valid JSON" in run.stderr and "plan.json" in run.stderr


@pytest.mark.slow
def test_render_writes_a_jpeg_with_the_source_metadata_and_no_camera_raw_settings(airetouch, tmp_path, shared_data):
    photo = tmp_path / "h.jpg"
    shutil.copy(shared_data / "photos" / "portrait_headshot.jpg", photo)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-Artist=Jane Photographer", "-XMP-crs:Exposure2012=+1.00",
                    str(photo)], check=True)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"global": {"Exposure2012": 0.5}, "regions": []}))
    out = tmp_path / "h_edit.jpg"
    run = airetouch("render", photo, "--plan", plan, "--out", out)
    assert run.returncode == 0, run.stderr
    tags = json.loads(subprocess.run(["exiftool", "-j", "-G1", str(out)], capture_output=True, text=True).stdout)[0]
    assert tags.get("IFD0:Artist") == "Jane Photographer"
    assert not [k for k in tags if k.startswith("XMP-crs:")], "Lightroom must not apply the settings twice"
