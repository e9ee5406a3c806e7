"""Writing JPEG and 16-bit TIFF: pixel round trips, embedded profiles (LittleCMS, ExifTool), atomic output."""
from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from bridge_server.imaging import color, icc
from bridge_server.imaging.decode import decode
from bridge_server.imaging.encode import encode_rgb16, to_srgb8, write_jpeg, write_tiff16


@pytest.fixture(scope="module")
def linear(shared_data) -> np.ndarray:
    """A real photo in linear light, nudged off the 8-bit grid so that 16-bit precision is visible."""
    base = decode(shared_data / "photos" / "three_people_outdoor.jpg").pixels.astype(np.float64)
    jitter = np.random.default_rng(0).uniform(-0.002, 0.002, base.shape)
    return np.clip(base + jitter * base, 0, 1).astype(np.float32)


def _exiftool(path) -> dict:
    out = subprocess.run(["exiftool", "-j", "-G1", "-n", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


# -- JPEG -----------------------------------------------------------------------------------------------------
def test_jpeg_from_linear_float_round_trips(tmp_path, linear):
    path = write_jpeg(tmp_path / "out.jpg", linear)
    back = decode(path)
    assert back.pixels.shape == linear.shape
    assert np.abs(back.pixels - linear).mean() < 0.004  # 8-bit quantisation plus JPEG at quality 95
    with Image.open(path) as im:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
        assert ImageCms.getProfileDescription(profile).strip() == icc.DESCRIPTIONS["srgb"]
    tags = _exiftool(path)
    assert tags["ICC_Profile:ProfileDescription"] == icc.DESCRIPTIONS["srgb"]
    assert tags["File:YCbCrSubSampling"] == "1 1"  # 4:4:4 chroma at high quality


def test_jpeg_from_srgb_uint8_keeps_the_values(tmp_path, shared_data):
    rgb = np.asarray(Image.open(shared_data / "photos" / "three_men_closeup.jpg").convert("RGB"))
    path = write_jpeg(tmp_path / "u8.jpg", rgb, quality=100)
    assert np.abs(np.asarray(Image.open(path)).astype(int) - rgb).mean() < 1.0


def test_jpeg_without_profile_and_with_exif(tmp_path, linear):
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    path = write_jpeg(tmp_path / "plain.jpg", linear, quality=80, icc_profile=None, exif=exif.tobytes())
    with Image.open(path) as im:
        assert "icc_profile" not in im.info and im.getexif()[0x010F] == "TestCam"


def test_to_srgb8_encodes_with_the_srgb_curve():
    codes = np.arange(256)
    linear = np.repeat(color.srgb_to_linear(codes / 255.0).astype(np.float32)[None, :, None], 3, 2)
    assert np.array_equal(to_srgb8(linear)[0, :, 0], codes)  # every 8-bit code survives the round trip
    assert to_srgb8(np.full((1, 1, 3), 0.2158605, np.float32))[0, 0, 0] == 128  # linear of sRGB 128/255
    assert to_srgb8(np.array([[[-1.0, 2.0, np.float32(0.5)]]], np.float32))[0, 0, :2].tolist() == [0, 255]


# -- 16-bit TIFF ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("space", color.SPACES)
def test_tiff16_round_trip_in_every_colour_space(tmp_path, linear, space):
    path = write_tiff16(tmp_path / f"{space}.tif", linear, colorspace=space)
    back = decode(path)
    assert back.bit_depth == 16 and back.profile == icc.DESCRIPTIONS[space]
    # sRGB photo colours are inside all three gamuts: only 16-bit quantisation remains
    assert np.abs(back.pixels - linear).max() < 3e-4
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        assert page.dtype == np.uint16 and page.shape == linear.shape
        assert bytes(page.tags.valueof(34675)) == icc.profile_bytes(space)


def test_tiff16_keeps_more_than_8_bits(tmp_path):
    ramp = np.repeat(np.linspace(0.1, 0.1 + 1 / 255, 1000, dtype=np.float32)[None, :, None], 3, 2)
    back = decode(write_tiff16(tmp_path / "ramp.tif", np.repeat(ramp, 4, 0)))
    assert len(np.unique(back.pixels[0, :, 1])) > 100  # one 8-bit step holds a hundred 16-bit levels


def test_tiff16_prophoto_agrees_with_littlecms(tmp_path, linear):
    # An independent CMM reading the file's own embedded profile must see the colours we wrote.
    path = write_tiff16(tmp_path / "pp.tif", linear, colorspace="prophoto")
    with tifffile.TiffFile(path) as tif:
        samples = tif.pages.first.asarray()
        embedded = bytes(tif.pages.first.tags.valueof(34675))
    eight = Image.fromarray(np.round(samples / 257.0).astype(np.uint8))
    converted = ImageCms.profileToProfile(eight, ImageCms.ImageCmsProfile(io.BytesIO(embedded)),
                                          ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
                                          renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    expected = to_srgb8(linear).astype(int)
    assert np.abs(np.asarray(converted).astype(int) - expected).mean() < 1.0


@pytest.mark.parametrize("compression", [None, "deflate", "lzw"])
def test_tiff16_is_a_plain_rgb_tiff_for_exiftool(tmp_path, linear, compression):
    path = write_tiff16(tmp_path / "out.tif", linear, colorspace="adobe_rgb", compression=compression)
    tags = _exiftool(path)
    assert tags["IFD0:BitsPerSample"] == "16 16 16" and tags["IFD0:PhotometricInterpretation"] == 2
    assert tags["IFD0:Compression"] == {None: 1, "deflate": 8, "lzw": 5}[compression]
    assert tags["ICC_Profile:ProfileDescription"] == icc.DESCRIPTIONS["adobe_rgb"]
    assert np.abs(decode(path).pixels - linear).max() < 3e-4


def test_encode_rgb16_clips_out_of_gamut_and_range():
    wild = np.array([[[1.5, -0.2, 0.5]]], np.float32)
    samples = encode_rgb16(wild, "srgb")
    assert samples[0, 0, 0] == 65535 and samples[0, 0, 1] == 0


# -- atomic output and validation -----------------------------------------------------------------------------
def test_writes_replace_existing_files_and_leave_no_temporaries(tmp_path, linear):
    target = tmp_path / "out.jpg"
    target.write_bytes(b"previous content")
    write_jpeg(target, linear)
    write_tiff16(tmp_path / "out.tif", linear)
    write_tiff16(tmp_path / "out.tif", linear * 0.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg", "out.tif"]
    assert decode(target).pixels.shape == linear.shape
    assert decode(tmp_path / "out.tif").pixels.mean() < 0.6 * linear.mean()


def test_failed_write_leaves_destination_alone_and_no_temporary(tmp_path, linear):
    blocker = tmp_path / "taken.jpg"
    blocker.mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(OSError):
        write_jpeg(blocker, linear)
    assert blocker.is_dir() and [p.name for p in tmp_path.iterdir()] == ["taken.jpg"]


def test_bad_arguments_are_refused(tmp_path, linear):
    with pytest.raises(ValueError):
        write_jpeg(tmp_path / "a.jpg", linear[..., :2])
    with pytest.raises(ValueError):
        write_jpeg(tmp_path / "a.jpg", linear, quality=0)
    with pytest.raises(ValueError):
        write_tiff16(tmp_path / "a.tif", linear, colorspace="cmyk")
    with pytest.raises(ValueError):
        write_tiff16(tmp_path / "a.tif", linear, compression="jpeg")
    with pytest.raises(ValueError):
        to_srgb8(np.zeros((2, 2, 3), np.int32))
    assert not list(tmp_path.iterdir())
