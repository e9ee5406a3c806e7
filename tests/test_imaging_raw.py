"""Camera raws: the real Kodak KDC, and DNGs written by our writer from a real photo, decoded by LibRaw."""
from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pytest
import rawpy
from PIL import Image

from bridge_server.core.errors import TruncatedImageError
from bridge_server.imaging import color, dng
from bridge_server.imaging.decode import PREVIEW_MIN_EDGE, decode, resize_to_edge

NEUTRAL = (0.5, 1.0, 0.7)  # a sensor twice as sensitive to green as to red: white balance must undo it


# -- the real camera raw --------------------------------------------------------------------------------------
def test_kodak_kdc_analysis_uses_half_size_because_its_preview_is_tiny(shared_data):
    image = decode(shared_data / "raw" / "kodak_dc50.kdc")
    assert (image.format, image.is_raw, image.kind) == ("raw", True, "half")
    assert image.pixels.shape == (256, 384, 3) and image.pixels.dtype == np.float32
    assert image.source_size == (768, 512) and image.scale == 0.5
    assert image.bit_depth == 14  # white level 16383
    assert 0 <= image.pixels.min() and image.pixels.max() <= 1 and image.pixels.std() > 0.02
    assert any("preview" in n for n in image.notes)


def test_kodak_kdc_render_is_full_size_and_agrees_with_half(shared_data):
    path = shared_data / "raw" / "kodak_dc50.kdc"
    full = decode(path, "render")
    half = decode(path)
    assert full.kind == "full" and full.pixels.shape == (512, 768, 3) and full.scale == 1.0
    # same white balance and scale: channel means agree; pixels differ by AHD vs 2x2 binning on a noisy sensor
    binned = resize_to_edge(full.pixels, 384)
    assert np.abs(binned.mean(axis=(0, 1)) / half.pixels.mean(axis=(0, 1)) - 1).max() < 0.02
    assert np.abs(binned - half.pixels).mean() < 0.03
    # linear output: LibRaw's own gamma-encoded rendering is brighter in the mid tones
    with rawpy.imread(str(path)) as raw:
        encoded = raw.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16) / 65535.0
    assert full.pixels.mean() < encoded.mean()


# -- DNGs from our writer -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def photo(shared_data) -> np.ndarray:
    """The FiveK sample (1620x1080): large enough for its preview to qualify (>= 1000 px)."""
    return np.asarray(Image.open(shared_data / "photos" / "fivek_a1629_input.jpg").convert("RGB"))


@pytest.fixture(scope="module")
def dngs(tmp_path_factory, photo) -> dict:
    folder = tmp_path_factory.mktemp("dng")
    mosaic = dng.synthesize_mosaic(color.srgb_to_linear(photo / 255.0), as_shot_neutral=NEUTRAL)
    return {
        "preview": dng.write_dng(folder / "preview.dng", mosaic, as_shot_neutral=NEUTRAL, preview=photo),
        "bare": dng.write_dng(folder / "bare.dng", mosaic, as_shot_neutral=NEUTRAL),
        "rotated": dng.write_dng(folder / "rotated.dng", mosaic, as_shot_neutral=NEUTRAL, preview=photo,
                                 orientation=6),
    }


def _exiftool(path, *args) -> dict:
    out = subprocess.run(["exiftool", "-j", "-G1", "-n", *args, str(path)], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)[0]


def test_dng_is_valid_for_exiftool(dngs):
    tags = json.loads(subprocess.run(["exiftool", "-j", "-validate", "-warning", "-error", "-a",
                                      str(dngs["preview"])], capture_output=True, text=True).stdout)[0]
    assert tags["Validate"] == "OK", tags
    tags = _exiftool(dngs["preview"])
    assert tags["IFD0:DNGVersion"] == "1 4 0 0"
    assert tags["IFD0:AsShotNeutral"] == "0.5 1 0.7"
    assert tags["IFD0:CalibrationIlluminant1"] == 21
    assert tags["SubIFD:PhotometricInterpretation"] == 32803  # CFA
    assert tags["SubIFD:CFAPattern2"] == "0 1 1 2" and tags["SubIFD:WhiteLevel"] == dng.DEFAULT_WHITE
    assert tags["SubIFD:BlackLevel"] == dng.DEFAULT_BLACK
    matrix = np.array([float(v) for v in tags["IFD0:ColorMatrix1"].split()]).reshape(3, 3)
    assert np.abs(matrix - color.XYZ_TO_SRGB).max() < 1e-5


def test_dng_accepts_metadata_writes(dngs, tmp_path):
    # Lightroom and ExifTool must be able to update the file (a chained SubIFD layout makes ExifTool refuse)
    copy = tmp_path / "edit.dng"
    copy.write_bytes(dngs["bare"].read_bytes())
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-dc:Subject=test", str(copy)], check=True)
    assert _exiftool(copy)["XMP-dc:Subject"] == "test"
    assert decode(copy, "render").pixels.shape == (1080, 1620, 3)


def test_libraw_extracts_our_preview(dngs, photo):
    with rawpy.imread(str(dngs["preview"])) as raw:
        thumb = raw.extract_thumb()
    assert thumb.format == rawpy.ThumbFormat.JPEG
    extracted = np.asarray(Image.open(io.BytesIO(thumb.data)).convert("RGB")).astype(float)
    assert extracted.shape == photo.shape
    assert np.abs(extracted - photo).mean() < 4  # JPEG quality 90, YCbCr 4:2:0
    with rawpy.imread(str(dngs["bare"])) as raw:
        tiny = raw.extract_thumb()  # the IFD0 thumbnail made from the mosaic
    assert tiny.format == rawpy.ThumbFormat.BITMAP and max(tiny.data.shape) == dng.THUMB_EDGE


def test_analysis_uses_the_preview_when_present(dngs, photo):
    image = decode(dngs["preview"])
    assert (image.format, image.kind, image.is_raw) == ("dng", "preview", True)
    assert image.pixels.shape == (1080, 1620, 3) and image.bit_depth == 8
    assert np.abs(image.pixels - color.srgb_to_linear(photo / 255.0)).mean() < 0.01
    small = decode(dngs["preview"], max_edge=512)
    assert small.kind == "preview" and small.pixels.shape == (341, 512, 3)
    assert small.source_size == (1620, 1080) and small.scale == pytest.approx(512 / 1620)


def test_analysis_falls_back_to_half_size_without_a_preview(dngs):
    image = decode(dngs["bare"])
    assert image.kind == "half" and image.pixels.shape == (540, 810, 3) and image.scale == 0.5
    assert image.bit_depth == 14
    assert any(f"only {dng.THUMB_EDGE}x" in n for n in image.notes)
    assert dng.THUMB_EDGE < PREVIEW_MIN_EDGE


def test_render_reproduces_the_photo_the_mosaic_came_from(dngs, photo):
    # The mosaic was recorded through NEUTRAL gains with black 512 / white 16383 and an sRGB colour matrix;
    # a full decode with camera white balance must give the original linear photo back (demosaic error only).
    linear = color.srgb_to_linear(photo / 255.0)
    image = decode(dngs["bare"], "render")
    assert image.kind == "full" and image.pixels.shape == photo.shape and image.scale == 1.0
    assert np.abs(image.pixels - linear).mean() < 0.006
    assert np.abs(image.pixels.mean(axis=(0, 1)) - linear.mean(axis=(0, 1))).max() < 0.002
    half = decode(dngs["bare"])
    assert np.abs(half.pixels - resize_to_edge(image.pixels, 810)).mean() < 0.01


def test_orientation_applies_to_preview_half_and_full(dngs, photo):
    upright = np.rot90(color.srgb_to_linear(photo / 255.0), -1)  # orientation 6: 90° clockwise
    preview = decode(dngs["rotated"])
    full = decode(dngs["rotated"], "render")
    for image in (preview, full):
        assert image.orientation == 6 and image.pixels.shape == (1620, 1080, 3)
        assert image.source_size == (1080, 1620)
        assert np.abs(image.pixels - upright).mean() < 0.01, image.kind


@pytest.mark.parametrize("cfa", ["RGGB", "BGGR", "GRBG", "GBRG"])
def test_every_bayer_layout_decodes_to_the_photo(tmp_path, photo, cfa):
    crop = color.srgb_to_linear(photo[400:656, 600:984] / 255.0)
    path = dng.write_dng(tmp_path / f"{cfa}.dng", dng.synthesize_mosaic(crop, cfa=cfa), cfa=cfa)
    assert np.abs(decode(path, "render").pixels - crop).mean() < 0.01


def test_truncated_dng_is_reported_as_truncated(dngs, tmp_path):
    data = dngs["bare"].read_bytes()
    cut = tmp_path / "cut.dng"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedImageError):
        decode(cut, "render")


def test_writer_validates_its_input(tmp_path):
    mosaic = np.zeros((8, 8), np.uint16)
    for bad in (dict(mosaic_uint16=np.zeros((7, 8), np.uint16)), dict(mosaic_uint16=np.zeros((8, 8), np.float32)),
                dict(mosaic_uint16=mosaic, cfa="RGBB"), dict(mosaic_uint16=mosaic, black=20000),
                dict(mosaic_uint16=mosaic, orientation=9), dict(mosaic_uint16=mosaic, as_shot_neutral=(1, 0, 1)),
                dict(mosaic_uint16=mosaic, preview=np.zeros((8, 8), np.uint8))):
        with pytest.raises(ValueError):
            dng.write_dng(tmp_path / "x.dng", **bad)
    assert not list(tmp_path.iterdir())


def test_writer_replaces_atomically(tmp_path, photo):
    path = tmp_path / "a.dng"
    path.write_bytes(b"old")
    mosaic = dng.synthesize_mosaic(color.srgb_to_linear(photo[:64, :64] / 255.0))
    dng.write_dng(path, mosaic)
    assert [p.name for p in tmp_path.iterdir()] == ["a.dng"]
    assert decode(path, "render").pixels.shape == (64, 64, 3)


@pytest.mark.slow
def test_24_megapixel_dng(tmp_path, photo):
    # The benchmark size: 6000x4000 mosaic with a full-size preview; analysis must take the preview.
    import cv2
    big = cv2.resize(color.srgb_to_linear(photo / 255.0).astype(np.float32), (6000, 4000),
                     interpolation=cv2.INTER_LINEAR)
    preview = cv2.resize(photo, (6000, 4000), interpolation=cv2.INTER_LINEAR)
    path = dng.write_dng(tmp_path / "24mp.dng", dng.synthesize_mosaic(big), preview=preview)
    image = decode(path, max_edge=1024)
    assert image.kind == "preview" and image.pixels.shape == (683, 1024, 3) and image.source_size == (6000, 4000)
    full = decode(path, "render")
    assert full.pixels.shape == (4000, 6000, 3)
    assert np.abs(resize_to_edge(full.pixels, 1024) - image.pixels).mean() < 0.01
