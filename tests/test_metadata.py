"""Metadata through the shared ExifTool process, checked with the exiftool command line on real files."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest
from PIL import Image

from bridge_server.core.errors import MetadataError, NotFoundError
from bridge_server.imaging import color, dng, icc, metadata
from bridge_server.imaging.decode import decode
from bridge_server.imaging.encode import write_jpeg, write_tiff16


@pytest.fixture(scope="module", autouse=True)
def _stop_exiftool_after_module():
    yield
    metadata.close()


def _cli(path, *args: str) -> dict:
    """Tags as the exiftool command line reports them (independent of our module): {"Group1:Tag": value}."""
    out = subprocess.run(["exiftool", "-j", "-G1", "-a", "-n", *args, str(path)], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)[0]


def _tag(path, *assignments: str) -> None:
    subprocess.run(["exiftool", "-q", "-overwrite_original", *assignments, str(path)], check=True)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


SOURCE_TAGS = ("-EXIF:Make=TestCam", "-EXIF:Model=X100", "-EXIF:Artist=Jane Doe", "-IFD0:Orientation#=6",
               "-ExifIFD:ExposureTime=0.01", "-IPTC:Keywords=wedding", "-IPTC:Keywords=bride", "-IPTC:City=Lyon",
               "-XMP-dc:Subject=bride", "-XMP-dc:Creator=Jane Doe", "-XMP-xmp:Rating=4",
               "-XMP-crs:Exposure2012=+0.50", "-XMP-crs:Contrast2012=+10", "-XMP-tiff:Orientation#=6")


@pytest.fixture()
def source(tmp_path, shared_data):
    """A real photo (already carrying Lightroom crs: settings) with EXIF, IPTC and XMP added by exiftool."""
    path = tmp_path / "source.jpg"
    path.write_bytes((shared_data / "photos" / "fivek_a1629_input.jpg").read_bytes())
    _tag(path, *SOURCE_TAGS)
    return path


@pytest.fixture()
def rendered(tmp_path, source):
    """What the renderer produces: upright pixels, our sRGB profile, no metadata."""
    return write_jpeg(tmp_path / "rendered.jpg", decode(source).pixels)


# -- reading --------------------------------------------------------------------------------------------------
def test_read_tags(source):
    tags = metadata.read_tags(source)
    assert tags["EXIF:Make"] == "TestCam" and tags["EXIF:Orientation"] == 6
    assert tags["IPTC:Keywords"] == ["wedding", "bride"]
    assert tags["XMP:Exposure2012"] == "+0.50"  # XMP values stay the strings Lightroom wrote
    picked = metadata.read_tags(source, ["EXIF:Make", "IPTC:City"], group=1)
    assert set(picked) == {"SourceFile", "IFD0:Make", "IPTC:City"}
    assert metadata.read_tags(source, ["EXIF:Orientation"], numeric=False)["EXIF:Orientation"] == "Rotate 90 CW"


def test_read_xmp_packet_from_jpeg_tiff_dng_and_sidecar(tmp_path, source, preset_files):
    packet = metadata.read_xmp_packet(source)
    assert packet.startswith(b"<?xpacket") and b"crs:Exposure2012" in packet

    tiff = write_tiff16(tmp_path / "t.tif", np.full((8, 8, 3), 0.5, np.float32))
    assert metadata.read_xmp_packet(tiff) is None
    _tag(tiff, "-XMP-dc:Title=tiff title")
    assert b"tiff title" in metadata.read_xmp_packet(tiff)

    raw = dng.write_dng(tmp_path / "r.dng", dng.synthesize_mosaic(np.full((16, 16, 3), 0.3)))
    _tag(raw, "-XMP-crs:Exposure2012=+1.00")
    assert b"crs:Exposure2012" in metadata.read_xmp_packet(raw)

    sidecar = preset_files[0]
    packet = metadata.read_xmp_packet(sidecar)
    assert b"x:xmpmeta" in packet and b"camera-raw-settings" in packet


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(NotFoundError):
        metadata.read_tags(tmp_path / "missing.jpg")


def test_file_names_that_look_like_options_are_safe(tmp_path, source):
    odd = tmp_path / "-ver"  # ExifTool would take a bare "-ver" for its version option
    odd.write_bytes(source.read_bytes())
    assert metadata.read_tags(odd)["EXIF:Make"] == "TestCam"


# -- copying into a rendered file -----------------------------------------------------------------------------
def test_copy_keeps_exif_iptc_xmp_and_drops_crs_and_orientation(source, rendered):
    before_source = _sha(source)
    pixels_before = np.asarray(Image.open(rendered))
    metadata.copy_metadata(source, rendered)
    tags = _cli(rendered)
    # kept
    assert tags["IFD0:Make"] == "TestCam" and tags["IFD0:Artist"] == "Jane Doe"
    assert tags["ExifIFD:ExposureTime"] == 0.01
    assert tags["IPTC:Keywords"] == ["wedding", "bride"] and tags["IPTC:City"] == "Lyon"
    assert tags["XMP-dc:Subject"] == "bride" and tags["XMP-dc:Creator"] == "Jane Doe"
    assert tags["XMP-xmp:Rating"] == 4
    # dropped: Lightroom would apply these settings a second time / rotate upright pixels again
    assert not [k for k in tags if k.startswith(("XMP-crs:", "XMP-crss:"))]
    assert tags["IFD0:Orientation"] == 1 and "XMP-tiff:Orientation" not in tags
    assert "IFD1:ThumbnailImage" not in tags  # the source's thumbnail shows the unedited photo
    # the rendered file keeps its own profile, size and pixels; the source is untouched
    assert tags["ICC_Profile:ProfileDescription"] == icc.DESCRIPTIONS["srgb"]
    # the source is stored 1620x1080 with Orientation 6: the upright rendering is 1080 wide
    assert (tags["ExifIFD:ExifImageWidth"], tags["ExifIFD:ExifImageHeight"]) == (1080, 1620)
    assert np.array_equal(np.asarray(Image.open(rendered)), pixels_before)
    assert _sha(source) == before_source
    assert [p.name for p in rendered.parent.iterdir() if p.name.startswith(".")] == []


def test_copy_from_a_dng_into_a_16_bit_tiff(tmp_path, shared_data):
    photo = np.asarray(Image.open(shared_data / "photos" / "three_men_closeup.jpg").convert("RGB"))[:374]
    raw = dng.write_dng(tmp_path / "camera.dng", dng.synthesize_mosaic(color.srgb_to_linear(photo / 255.0)),
                        orientation=8, make="TestMaker", model="Raw 1")
    _tag(raw, "-IPTC:Keywords=raw keyword", "-XMP-dc:Subject=raw subject", "-XMP-crs:Exposure2012=+1.00")
    image = decode(raw, "render")
    out = write_tiff16(tmp_path / "render.tif", image.pixels, colorspace="prophoto")
    metadata.copy_metadata(raw, out)
    tags = _cli(out)
    assert tags["IFD0:Make"] == "TestMaker" and tags["IPTC:Keywords"] == "raw keyword"
    assert tags["XMP-dc:Subject"] == "raw subject"
    assert tags["IFD0:Orientation"] == 1
    assert not [k for k in tags if k.startswith("XMP-crs:")]
    for raw_only in ("IFD0:DNGVersion", "IFD0:UniqueCameraModel", "IFD0:ColorMatrix1", "IFD0:AsShotNeutral"):
        assert raw_only not in tags
    assert tags["IFD0:BitsPerSample"] == "16 16 16"
    assert tags["ICC_Profile:ProfileDescription"] == icc.DESCRIPTIONS["prophoto"]
    again = decode(out)
    assert again.orientation == 1 and np.abs(again.pixels - image.pixels).max() < 3e-4


def test_copy_refuses_to_write_into_the_source(source):
    before = _sha(source)
    with pytest.raises(MetadataError):
        metadata.copy_metadata(source, source)
    assert _sha(source) == before


# -- provenance -----------------------------------------------------------------------------------------------
def test_provenance_is_written_in_our_namespace_and_read_back(source, rendered):
    metadata.copy_metadata(source, rendered)
    notes = "sky: Highlights -30 (bright sky)\nface_skin: Texture -15 — portrait"
    metadata.write_provenance(rendered, {"Version": "0.1.0", "plandigest": "sha256:abc123", "Notes": notes,
                                         "Source": {"path": "source.jpg", "raw": False}, "Predictor": None})
    assert metadata.read_provenance(rendered) == {
        "Version": "0.1.0", "PlanDigest": "sha256:abc123", "Notes": notes,
        "Source": '{"path": "source.jpg", "raw": false}'}
    packet = metadata.read_xmp_packet(rendered).decode("utf-8")
    assert f"xmlns:airetouch='{metadata.NS_URI}'" in packet and "<airetouch:PlanDigest>" in packet
    tags = _cli(rendered)  # a plain exiftool, without our config, sees the namespace too
    assert tags["XMP-airetouch:PlanDigest"] == "sha256:abc123"
    assert tags["XMP-dc:Subject"] == "bride"  # the copied metadata is still there


def test_unknown_provenance_field_is_refused(rendered):
    with pytest.raises(MetadataError) as err:
        metadata.write_provenance(rendered, {"Colour": "blue"})
    assert "PlanDigest" in err.value.message


# -- the process ----------------------------------------------------------------------------------------------
def test_one_process_serves_concurrent_callers(source):
    metadata.read_tags(source)
    pid = metadata.exiftool_pid()
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(metadata.read_tags(source, ["EXIF:Make"])["EXIF:Make"])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == ["TestCam"] * 20
    assert metadata.exiftool_pid() == pid


@pytest.mark.filterwarnings("ignore:ExifTool process was previously running but died")
def test_a_dead_process_is_restarted(source):
    metadata.read_tags(source)
    pid = metadata.exiftool_pid()
    os.kill(pid, signal.SIGKILL)  # the ExifTool process this module started
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
        time.sleep(0.01)
    assert metadata.read_tags(source)["EXIF:Make"] == "TestCam"
    assert metadata.exiftool_pid() not in (None, pid)


def test_missing_exiftool_says_how_to_install_it(monkeypatch, source):
    metadata.close()
    monkeypatch.setenv(metadata.EXECUTABLE_ENV, "/nonexistent/exiftool")
    with pytest.raises(MetadataError) as err:
        metadata.read_tags(source)
    assert "libimage-exiftool-perl" in err.value.message and err.value.code == "metadata_failed"
    monkeypatch.delenv(metadata.EXECUTABLE_ENV)
    assert metadata.read_tags(source)["EXIF:Make"] == "TestCam"


def test_close_stops_the_process(source):
    metadata.read_tags(source)
    pid = metadata.exiftool_pid()
    metadata.close()
    assert metadata.exiftool_pid() is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: the process is gone
