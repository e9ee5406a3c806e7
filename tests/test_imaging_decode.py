"""Decoding real photos and files written here: shapes, linear light, bit depth, ICC, orientation."""
from __future__ import annotations

import io
import os
import subprocess

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps

from bridge_server.core.errors import NotFoundError, PermissionDeniedError, TruncatedImageError, \
    UnsupportedFormatError
from bridge_server.imaging import color, icc
from bridge_server.imaging.decode import apply_orientation, decode, decode_bytes, resize_to_edge


def _pillow_linear(path) -> np.ndarray:
    """Reference: Pillow's 8-bit RGB through the sRGB curve (what decode must give for sRGB files)."""
    rgb = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    return color.srgb_to_linear(rgb / 255.0)


# -- the sample photos ----------------------------------------------------------------------------------------
def test_every_sample_photo_decodes(sample_photos):
    assert len(sample_photos) >= 5
    for path in sample_photos:
        image = decode(path)
        with Image.open(path) as im:
            width, height = ImageOps.exif_transpose(im).size
        assert image.pixels.shape == (height, width, 3), path.name
        assert image.pixels.dtype == np.float32 and image.pixels.flags.c_contiguous
        assert np.isfinite(image.pixels).all()
        assert image.pixels.min() >= 0 and image.pixels.max() <= 1
        assert image.pixels.std() > 0.01, f"{path.name} decoded to a flat image"
        assert (image.kind, image.is_raw, image.scale, image.source_size) == ("image", False, 1.0,
                                                                              (width, height))
        assert image.format == path.suffix.lower().lstrip(".").replace("jpg", "jpeg")
        assert image.bit_depth == 8 and not image.notes


def test_sample_photos_are_linear_light_srgb(sample_photos):
    # Untagged and sRGB-tagged photos (the headshot's compact "c2" profile is sRGB too) take the exact sRGB
    # curve: equal to Pillow's pixels through srgb_to_linear, hence linear light, not the encoded values.
    for path in sample_photos:
        image = decode(path)
        assert np.abs(image.pixels - _pillow_linear(path)).max() < 1e-6, path.name
        encoded_mean = np.asarray(Image.open(path).convert("RGB")).mean() / 255
        assert image.pixels.mean() < encoded_mean  # linearising darkens mid tones


def test_max_edge_gives_an_area_averaged_working_image(shared_data):
    path = shared_data / "photos" / "fivek_a1629_input.jpg"
    full = decode(path)
    small = decode(path, max_edge=400)
    assert small.pixels.shape == (267, 400, 3)
    assert small.source_size == (1620, 1080) and small.scale == pytest.approx(400 / 1620)
    # JPEG DCT scaling plus an area resize stays close to an area resize of the full decode
    reference = resize_to_edge(full.pixels, 400)
    assert np.abs(small.pixels - reference).mean() < 0.004
    assert decode(path, max_edge=5000).pixels.shape == full.pixels.shape  # never upscales


# -- PNG, WebP, TIFF variants ---------------------------------------------------------------------------------
def _gradient16(h=64, w=96) -> np.ndarray:
    """A 16-bit image with far more than 256 distinct levels per channel."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 65535 // (w - 1), y * 65535 // (h - 1), (x * y * 7) % 65536], -1).astype(np.uint16)


def test_png_16_bit_keeps_its_precision(tmp_path):
    data = _gradient16()
    path = tmp_path / "deep.png"
    path.write_bytes(imagecodecs.png_encode(data))
    image = decode(path)
    assert image.bit_depth == 16
    assert np.abs(image.pixels - color.srgb_to_linear(data / 65535.0)).max() < 1e-6
    assert len(np.unique(image.pixels[..., 0])) > 90  # 96 columns, 96 levels: not reduced to 8 bits


def test_grey_palette_and_alpha_pngs_become_rgb(tmp_path, shared_data):
    source = Image.open(shared_data / "photos" / "three_men_closeup.jpg")
    rgb = decode(shared_data / "photos" / "three_men_closeup.jpg").pixels
    for mode in ("L", "RGBA", "P", "LA"):
        path = tmp_path / f"{mode}.png"
        source.convert(mode).save(path)
        image = decode(path)
        assert image.pixels.shape == rgb.shape, mode
        if mode in ("L", "LA"):
            assert np.array_equal(image.pixels[..., 0], image.pixels[..., 2])
        if mode == "RGBA":
            assert np.abs(image.pixels - rgb).max() < 1e-6  # alpha dropped, colour untouched


def test_lossless_webp(tmp_path, shared_data):
    path = tmp_path / "photo.webp"
    Image.open(shared_data / "photos" / "three_men_closeup.jpg").save(path, lossless=True)
    image = decode(path)
    assert image.format == "webp"
    assert np.abs(image.pixels - decode(shared_data / "photos" / "three_men_closeup.jpg").pixels).max() < 1e-6


def test_tiff_8_16_bit_planar_grey_and_float(tmp_path):
    data16 = _gradient16()
    tifffile.imwrite(tmp_path / "rgb8.tif", (data16 >> 8).astype(np.uint8), photometric="rgb")
    tifffile.imwrite(tmp_path / "rgb16.tif", data16, photometric="rgb", compression="zlib")
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(data16, -1, 0), photometric="rgb",
                     planarconfig="separate")
    tifffile.imwrite(tmp_path / "grey.tif", data16[..., 0], photometric="minisblack")
    linear = np.random.default_rng(0).random((32, 48, 3)).astype(np.float32) * 4  # HDR values above 1
    tifffile.imwrite(tmp_path / "float.tif", linear, photometric="rgb")
    expected16 = color.srgb_to_linear(data16 / 65535.0)

    rgb8 = decode(tmp_path / "rgb8.tif")
    assert rgb8.bit_depth == 8
    assert np.abs(rgb8.pixels - color.srgb_to_linear((data16 >> 8) / 255.0)).max() < 1e-6
    for name in ("rgb16", "planar"):
        image = decode(tmp_path / f"{name}.tif")
        assert image.bit_depth == 16 and np.abs(image.pixels - expected16).max() < 1e-6, name
    grey = decode(tmp_path / "grey.tif")
    assert np.abs(grey.pixels - expected16[..., :1]).max() < 1e-6
    floats = decode(tmp_path / "float.tif")
    assert floats.bit_depth == 32 and np.array_equal(floats.pixels, linear)  # float without profile: linear
    assert "linear" in floats.profile


@pytest.mark.parametrize("space", ["adobe_rgb", "prophoto"])
def test_embedded_wide_gamut_profiles_are_converted_to_srgb(tmp_path, space):
    # Encode known linear sRGB colours into the wide space (8-bit) with our profile: decode must undo it.
    linear = color.srgb_to_linear(np.random.default_rng(1).random((40, 60, 3)))
    encoded = color.encode_transfer(np.clip(color.convert_linear(linear, space), 0, 1), space)
    path = tmp_path / f"{space}.jpg"
    Image.fromarray(np.round(encoded * 255).astype(np.uint8)).save(
        path, quality=100, subsampling=0, icc_profile=icc.build_profile(space))
    image = decode(path)
    assert image.profile == icc.DESCRIPTIONS[space]
    assert np.abs(image.pixels - linear).mean() < 0.006
    naive = color.srgb_to_linear(np.asarray(Image.open(path)) / 255.0)  # reading it as if it were sRGB
    assert np.abs(naive - linear).mean() > 3 * np.abs(image.pixels - linear).mean()


def test_cmyk_jpeg_without_profile_is_converted_with_a_note(tmp_path, shared_data):
    path = tmp_path / "cmyk.jpg"
    Image.open(shared_data / "photos" / "three_men_closeup.jpg").convert("CMYK").save(path, quality=95)
    image = decode(path)
    reference = decode(shared_data / "photos" / "three_men_closeup.jpg").pixels
    assert image.pixels.shape == reference.shape
    assert np.abs(image.pixels - reference).mean() < 0.02
    assert any("CMYK" in n for n in image.notes)


def test_decode_bytes_matches_decode_and_refuses_raws(shared_data):
    path = shared_data / "photos" / "portrait_headshot.jpg"
    from_bytes = decode_bytes(path.read_bytes(), "upload.jpg", max_edge=256)
    from_file = decode(path, max_edge=256)
    assert from_bytes.path == "upload.jpg"
    assert np.array_equal(from_bytes.pixels, from_file.pixels)
    with pytest.raises(UnsupportedFormatError):
        decode_bytes((shared_data / "raw" / "kodak_dc50.kdc").read_bytes(), "camera.kdc")
    with pytest.raises(TruncatedImageError):
        decode_bytes(b"", "empty.jpg")


def test_decode_bytes_reads_8_and_16_bit_pngs(shared_data):
    png8 = (shared_data / "photos" / "bride_flowers_ppr10k.png").read_bytes()
    assert np.array_equal(decode_bytes(png8, "a.png").pixels,
                          decode(shared_data / "photos" / "bride_flowers_ppr10k.png").pixels)
    data = _gradient16()
    deep = decode_bytes(imagecodecs.png_encode(data), "deep.png")
    assert deep.bit_depth == 16 and np.abs(deep.pixels - color.srgb_to_linear(data / 65535.0)).max() < 1e-6


# -- orientation ----------------------------------------------------------------------------------------------
def test_apply_orientation_matches_pillow_for_all_eight_values():
    stored = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)
    for orientation in range(1, 9):
        im = Image.fromarray(stored)
        exif = im.getexif()
        exif[0x0112] = orientation
        buffer = io.BytesIO()
        im.save(buffer, format="PNG", exif=exif.tobytes())
        expected = np.asarray(ImageOps.exif_transpose(Image.open(buffer)))
        assert np.array_equal(apply_orientation(stored, orientation), expected), orientation


def _marked_landscape(path, **save) -> None:
    """A 96x64 grey JPEG with a red block in its stored top-left corner."""
    pixels = np.full((64, 96, 3), 128, np.uint8)
    pixels[:16, :16] = (255, 0, 0)
    Image.fromarray(pixels).save(path, quality=95, **save)


def _red_corner(pixels: np.ndarray) -> str:
    h, w = pixels.shape[:2]
    corners = {"top-left": pixels[:8, :8], "top-right": pixels[:8, w - 8:],
               "bottom-left": pixels[h - 8:, :8], "bottom-right": pixels[h - 8:, w - 8:]}
    return max(corners, key=lambda k: corners[k][..., 0].mean() - corners[k][..., 1].mean())


def test_exif_orientation_6_from_pillow_rotates_clockwise(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rot6.jpg"
    _marked_landscape(path, exif=exif.tobytes())
    image = decode(path)
    assert image.orientation == 6
    assert image.pixels.shape == (96, 64, 3) and image.source_size == (64, 96)
    assert _red_corner(image.pixels) == "top-right"  # 90° clockwise: the top-left corner goes top-right


def test_exif_orientation_8_from_exiftool_rotates_counter_clockwise(tmp_path):
    path = tmp_path / "rot8.jpg"
    _marked_landscape(path)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-Orientation#=8", str(path)], check=True)
    image = decode(path, max_edge=48)
    assert image.orientation == 8 and image.pixels.shape == (48, 32, 3)
    assert _red_corner(image.pixels) == "bottom-left"


def test_tiff_orientation_tag_is_applied(tmp_path):
    pixels = np.full((64, 96, 3), 128, np.uint8)
    pixels[:16, :16] = (255, 0, 0)
    path = tmp_path / "rot3.tif"
    tifffile.imwrite(path, pixels, photometric="rgb", extratags=[(274, "H", 1, 3, True)])
    image = decode(path)
    assert image.orientation == 3 and _red_corner(image.pixels) == "bottom-right"


# -- files that are not there ---------------------------------------------------------------------------------
def test_missing_file_and_folder(tmp_path):
    with pytest.raises(NotFoundError) as missing:
        decode(tmp_path / "nope.jpg")
    assert missing.value.path == str(tmp_path / "nope.jpg") and missing.value.code == "not_found"
    with pytest.raises(NotFoundError):
        decode(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file(tmp_path, shared_data):
    path = tmp_path / "locked.jpg"
    path.write_bytes((shared_data / "photos" / "three_men_closeup.jpg").read_bytes())
    path.chmod(0)
    try:
        with pytest.raises(PermissionDeniedError) as err:
            decode(path)
        assert err.value.code == "permission_denied"
    finally:
        path.chmod(0o600)


def test_bad_arguments_are_programming_errors(shared_data):
    with pytest.raises(ValueError):
        decode(shared_data / "photos" / "three_men_closeup.jpg", purpose="print")
    with pytest.raises(ValueError):
        decode(shared_data / "photos" / "three_men_closeup.jpg", max_edge=0)


def test_palette_and_cmyk_tiffs_go_through_pillow(tmp_path, shared_data):
    source = Image.open(shared_data / "photos" / "three_men_closeup.jpg")
    reference = decode(shared_data / "photos" / "three_men_closeup.jpg").pixels
    source.convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(tmp_path / "palette.tif")
    source.convert("CMYK").save(tmp_path / "cmyk.tif", compression="tiff_lzw")
    for name, tolerance in (("palette.tif", 0.02), ("cmyk.tif", 0.02)):
        image = decode(tmp_path / name)
        assert image.format == "tiff" and image.pixels.shape == reference.shape, name
        assert np.abs(image.pixels - reference).mean() < tolerance, name
