"""Our ICC v2 profiles, checked by LittleCMS (Pillow ImageCms) and ExifTool, and our profile reader."""
from __future__ import annotations

import io
import json
import struct
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageCms

from bridge_server.imaging import color, icc


def _lcms(data: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(data))


@pytest.mark.parametrize("space", color.SPACES)
def test_littlecms_loads_profile_with_right_description_and_colorants(space):
    data = icc.build_profile(space)
    assert struct.unpack(">I", data[:4])[0] == len(data)  # the header's size field is the real size
    profile = _lcms(data)
    assert ImageCms.getProfileDescription(profile).strip() == icc.DESCRIPTIONS[space]
    core = profile.profile
    assert core.version == pytest.approx(2.1)
    assert core.xcolor_space.strip() == "RGB" and core.connection_space.strip() == "XYZ"
    expected = color.rgb_to_xyz_d50_matrix(space)
    for i, colorant in enumerate((core.red_colorant, core.green_colorant, core.blue_colorant)):
        assert np.abs(np.array(colorant[0]) - expected[:, i]).max() < 2 / 65536  # s15Fixed16 rounding
    assert np.abs(np.array(core.media_white_point[0]) - icc.NATIVE_WHITE[space]).max() < 2 / 65536


@pytest.mark.parametrize("space", color.SPACES)
def test_littlecms_conversion_agrees_with_our_colour_math(space):
    # An independent CMM interpreting our profile must do what color.py does: decode the curve, apply the
    # matrix to sRGB, clip, encode. A 16^3 cube of 8-bit codes (in and out of the sRGB gamut).
    levels = np.linspace(0, 255, 16).round().astype(np.uint8)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 1, 3)
    converted = ImageCms.profileToProfile(Image.fromarray(cube, "RGB"), _lcms(icc.build_profile(space)),
                                          ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
                                          renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    linear = color.decode_transfer(cube / 255.0, space) @ color.space_to_srgb_matrix(space).T
    ours = np.round(color.linear_to_srgb(np.clip(linear, 0, 1)) * 255)
    assert np.abs(np.asarray(converted).astype(int) - ours).max() <= 1


@pytest.mark.parametrize("space", color.SPACES)
def test_exiftool_reads_the_profile(tmp_path, space):
    path = tmp_path / f"{space}.icc"
    path.write_bytes(icc.build_profile(space))
    tags = json.loads(subprocess.run(["exiftool", "-j", "-G1", "-n", str(path)], capture_output=True,
                                     check=True, text=True).stdout)[0]
    assert tags["ICC_Profile:ProfileDescription"] == icc.DESCRIPTIONS[space]
    assert tags["ICC-header:ProfileClass"] == "mntr"
    assert tags["ICC-header:ColorSpaceData"].strip() == "RGB"
    assert tags["ICC-header:ProfileFileSignature"] == "acsp"
    assert tags["ICC-header:ProfileVersion"] == 528  # 2.1.0 as ExifTool's numeric value (0x0210)
    red = [float(v) for v in str(tags["ICC_Profile:RedMatrixColumn"]).split()]
    assert np.abs(np.array(red) - color.rgb_to_xyz_d50_matrix(space)[:, 0]).max() < 1e-4
    assert "ExifTool:Warning" not in tags and "ExifTool:Error" not in tags


def test_adobe_rgb_curve_is_stored_as_exact_gamma():
    info = icc.parse_profile(icc.build_profile("adobe_rgb"))
    assert info.curves[0].kind == "gamma" and info.curves[0].gamma == 563 / 256


@pytest.mark.parametrize("space", color.SPACES)
def test_reader_reads_our_profiles_back(space):
    info = icc.parse_profile(icc.build_profile(space))
    assert info.description == icc.DESCRIPTIONS[space] and info.is_matrix_rgb and info.version == (2, 1)
    assert np.abs(info.to_xyz_d50 - color.rgb_to_xyz_d50_matrix(space)).max() < 2 / 65536
    x = np.linspace(0, 1, 1001)
    assert np.abs(info.curves[0](x) - color.decode_transfer(x, space)).max() < 2e-4  # 1024-entry table
    assert icc.is_srgb(info) == (space == "srgb")


def test_reader_recognises_the_srgb_profiles_embedded_in_sample_photos(shared_data):
    data = Image.open(shared_data / "photos" / "fivek_a1629_input.jpg").info["icc_profile"]
    info = icc.parse_profile(data)
    assert info.description == "sRGB IEC61966-2.1" and icc.is_srgb(info)


def _para_curve(function: int, params: list[float]) -> bytes:
    return b"para" + b"\0" * 4 + struct.pack(">HH", function, 0) + b"".join(
        struct.pack(">i", round(p * 65536)) for p in params)


def test_reader_evaluates_v4_parametric_curves(tmp_path):
    # sRGB written as parametric function 3 (how v4 profiles store it): (a x + b)^g above d, c x below
    params = [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045]
    base = bytearray(icc.build_profile("srgb"))
    count = struct.unpack_from(">I", base, 128)[0]
    curve = _para_curve(3, params)
    offset = len(base)
    for i in range(count):
        sig = bytes(base[132 + 12 * i:136 + 12 * i])
        if sig in (b"rTRC", b"gTRC", b"bTRC"):
            struct.pack_into(">II", base, 136 + 12 * i, offset, len(curve))
    data = bytes(base) + curve
    data = struct.pack(">I", len(data)) + data[4:]
    info = icc.parse_profile(data)
    x = np.linspace(0, 1, 257)
    assert info.curves[0].kind == "para"
    assert np.abs(info.curves[0](x) - color.srgb_to_linear(x)).max() < 1e-4  # s15Fixed16 parameters
    assert icc.is_srgb(info)
    ImageCms.ImageCmsProfile(io.BytesIO(data))  # and LittleCMS accepts the edited profile


def test_reader_rejects_what_is_not_a_profile():
    with pytest.raises(ValueError):
        icc.parse_profile(b"\0" * 200)
    broken = bytearray(icc.build_profile("srgb"))
    struct.pack_into(">I", broken, 128, 500)  # a tag count running far past the end
    with pytest.raises(ValueError):
        icc.parse_profile(bytes(broken))


def test_profiles_are_deterministic():
    assert icc.build_profile("prophoto") == icc.build_profile("prophoto") == icc.profile_bytes("prophoto")


def test_unknown_space_is_refused():
    with pytest.raises(ValueError):
        icc.build_profile("display_p3")


def _profile(colour_space: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """A hand-assembled ICC profile (header, tag table, 4-byte aligned data) for reader tests."""
    offset, table, body = 128 + 4 + 12 * len(tags), b"", b""
    for sig, data in tags:
        table += struct.pack(">4sII", sig, offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + bytes([4, 0x30, 0, 0]) + b"mntr" + colour_space + b"XYZ "
              + b"\0" * 12 + b"acsp").ljust(128, b"\0")
    return header + struct.pack(">I", len(tags)) + table + body


def test_reader_reads_v4_mluc_descriptions():
    text = "Display P3 — test".encode("utf-16-be")
    mluc = b"mluc" + b"\0" * 4 + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(text), 28) + text
    info = icc.parse_profile(_profile(b"RGB ", [(b"desc", mluc)]))
    assert info.description == "Display P3 — test" and info.version == (4, 3)
    assert not info.is_matrix_rgb  # no colorants: decode leaves such a profile to LittleCMS


def test_grey_profile_curve_is_applied_to_grey_images(tmp_path):
    from bridge_server.imaging.decode import decode
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(1.8 * 256))  # gamma 1.8 (u8Fixed8: 1.80078)
    profile = _profile(b"GRAY", [(b"desc", b"desc" + b"\0" * 4 + struct.pack(">I", 5) + b"grey\0"),
                                 (b"kTRC", curve)])
    levels = np.tile(np.arange(256, dtype=np.uint8), (4, 1))
    path = tmp_path / "grey.png"
    Image.fromarray(levels, "L").save(path, icc_profile=profile)
    image = decode(path)
    expected = (np.arange(256) / 255.0) ** (round(1.8 * 256) / 256)
    assert image.profile == "grey"
    assert np.abs(image.pixels[0, :, 1] - expected).max() < 1e-6
    assert np.array_equal(image.pixels[..., 0], image.pixels[..., 2])
