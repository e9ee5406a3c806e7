"""Colour conversions: published reference values, inverses, numpy/torch agreement, torch gradients."""
from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch

from bridge_server.imaging import color


# -- transfer curves ------------------------------------------------------------------------------------------
def test_srgb_half_is_linear_0_2140():
    # IEC 61966-2-1: ((0.5 + 0.055) / 1.055) ** 2.4 = 0.214041
    assert float(color.srgb_to_linear(np.float64(0.5))) == pytest.approx(0.214041, abs=1e-6)


def test_srgb_curve_linear_segment_and_end_points():
    assert float(color.srgb_to_linear(np.float64(0.0))) == 0.0
    assert float(color.srgb_to_linear(np.float64(1.0))) == pytest.approx(1.0, abs=1e-12)
    # below the 0.04045 knee the curve is the straight line x / 12.92
    assert float(color.srgb_to_linear(np.float64(0.02))) == pytest.approx(0.02 / 12.92, abs=1e-12)
    assert float(color.linear_to_srgb(np.float64(0.002))) == pytest.approx(0.002 * 12.92, abs=1e-12)


def test_adobe_rgb_is_pure_gamma_563_over_256():
    assert float(color.adobe_rgb_to_linear(np.float64(0.5))) == pytest.approx(0.5 ** (563 / 256), abs=1e-12)


def test_prophoto_curve_has_romm_toe_and_is_continuous():
    # ROMM: E' = 16 E below E = 1/512, E^(1/1.8) above; both give 1/32 at the joint
    below = float(color.linear_to_prophoto(np.float64(1 / 512 - 1e-12)))
    above = float(color.linear_to_prophoto(np.float64(1 / 512 + 1e-12)))
    assert below == pytest.approx(1 / 32, abs=1e-9) and above == pytest.approx(1 / 32, abs=1e-9)
    assert float(color.linear_to_prophoto(np.float64(0.001))) == pytest.approx(0.016, abs=1e-12)
    assert float(color.prophoto_to_linear(np.float64(0.5))) == pytest.approx(0.5 ** 1.8, abs=1e-12)


@pytest.mark.parametrize("space", color.SPACES)
def test_transfer_curves_invert_each_other(space):
    x = np.concatenate([np.linspace(0, 0.05, 501), np.linspace(0.05, 1, 501)])
    back = color.decode_transfer(color.encode_transfer(x, space), space)
    assert np.abs(back - x).max() < 1e-12


# -- matrices -------------------------------------------------------------------------------------------------
def test_srgb_to_xyz_matches_the_published_iec_matrix():
    published = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    assert np.abs(color.SRGB_TO_XYZ - published).max() < 1e-4


def test_d50_adapted_colorants_match_the_common_icc_profiles():
    # rXYZ/gXYZ/bXYZ of the widespread sRGB IEC61966-2.1 (Bradford) and ProPhoto RGB profiles
    srgb = np.array([[0.4361, 0.3851, 0.1431], [0.2225, 0.7169, 0.0606], [0.0139, 0.0971, 0.7141]])
    prophoto = np.array([[0.7977, 0.1352, 0.0313], [0.2880, 0.7119, 0.0001], [0.0, 0.0, 0.8249]])
    assert np.abs(color.rgb_to_xyz_d50_matrix("srgb") - srgb).max() < 5e-4
    assert np.abs(color.rgb_to_xyz_d50_matrix("prophoto") - prophoto).max() < 1e-4


@pytest.mark.parametrize("space", color.SPACES)
def test_white_stays_white_in_every_space(space):
    # Bradford adaptation maps D65 white onto the D50 white, so RGB (1, 1, 1) is white in every space
    assert np.abs(color.convert_linear(np.ones(3), space) - 1).max() < 1e-9


@pytest.mark.parametrize("space", ["adobe_rgb", "prophoto"])
def test_convert_linear_round_trip_and_wider_gamut(space):
    rgb = np.random.default_rng(1).random((50, 3))
    there = color.convert_linear(rgb, space)
    assert np.abs(color.convert_linear(there, "srgb", space) - rgb).max() < 1e-9
    # sRGB green lies inside both wider gamuts, between their red and green primaries
    green = color.convert_linear(np.array([0.0, 1.0, 0.0]), space)
    assert np.all(green > -1e-9) and np.all(green < 1) and green[0] > 0.05
    assert np.allclose(color.srgb_to_space_matrix(space) @ color.space_to_srgb_matrix(space), np.eye(3))


# -- CIELAB ---------------------------------------------------------------------------------------------------
def test_d65_white_is_l100_and_neutral():
    assert np.abs(color.rgb_linear_to_lab(np.ones(3)) - [100, 0, 0]).max() < 1e-9
    assert np.abs(color.rgb_linear_to_lab(np.zeros(3))).max() < 1e-9


def test_lab_of_srgb_primaries_matches_reference_values():
    # CIELAB (D65) of the sRGB primaries as published by common colour calculators
    expected = {(1, 0, 0): (53.24, 80.09, 67.20), (0, 1, 0): (87.73, -86.18, 83.18),
                (0, 0, 1): (32.30, 79.19, -107.86)}
    for rgb, lab in expected.items():
        assert np.abs(color.rgb_linear_to_lab(np.array(rgb, float)) - lab).max() < 0.02


def test_mid_grey_lightness():
    # sRGB 0.5 -> Y 0.21404 -> L* = 116 * Y^(1/3) - 16 = 53.39; greys have no chroma
    lab = color.rgb_linear_to_lab(np.full(3, float(color.srgb_to_linear(np.float64(0.5)))))
    assert lab[0] == pytest.approx(53.39, abs=0.01)
    assert abs(lab[1]) < 1e-9 and abs(lab[2]) < 1e-9


def test_lab_round_trip_including_dark_colours():
    rgb = np.random.default_rng(2).random((200, 3)) ** 3  # many values below the CIE linear segment
    back = color.lab_to_rgb_linear(color.rgb_linear_to_lab(rgb))
    assert np.abs(back - rgb).max() < 1e-9
    xyz = color.rgb_to_xyz(rgb)
    assert np.abs(color.lab_to_xyz(color.xyz_to_lab(xyz, white="D50"), white="D50") - xyz).max() < 1e-9


def test_luminance_is_the_y_of_xyz():
    rgb = np.random.default_rng(3).random((10, 3))
    assert np.allclose(color.luminance(rgb), color.rgb_to_xyz(rgb)[:, 1], atol=1e-4)
    assert float(color.luminance(np.array([1.0, 0, 0]))) == pytest.approx(0.2126)
    assert float(color.luminance(np.ones(3))) == pytest.approx(1.0)


def test_delta_e76():
    lab = np.random.default_rng(4).random((5, 3)) * 50
    assert np.all(color.delta_e76(lab, lab) == 0)
    assert float(color.delta_e76(np.array([50.0, 0, 0]), np.array([53.0, 4.0, 0]))) == pytest.approx(5.0)


# -- HSV ------------------------------------------------------------------------------------------------------
def test_hsv_matches_colorsys_and_inverts():
    rgb = np.random.default_rng(5).random((100, 3))
    hsv = color.rgb_to_hsv(rgb)
    reference = np.array([colorsys.rgb_to_hsv(*px) for px in rgb])
    assert np.abs(hsv - reference).max() < 1e-12
    assert np.abs(color.hsv_to_rgb(hsv) - rgb).max() < 1e-12
    assert np.allclose(color.rgb_to_hsv(np.array([0.0, 1.0, 0.0])), [1 / 3, 1, 1])
    assert color.rgb_to_hsv(np.full(3, 0.4))[1] == 0  # grey has no saturation


# -- dtypes, axes, torch --------------------------------------------------------------------------------------
def test_numpy_float32_stays_float32():
    x = np.random.default_rng(6).random((4, 4, 3)).astype(np.float32)
    for fn in (color.srgb_to_linear, color.rgb_linear_to_lab, color.rgb_to_hsv):
        assert fn(x).dtype == np.float32
    assert color.luminance(x).shape == (4, 4)


def test_channel_axis_argument_for_nchw():
    x = np.random.default_rng(7).random((2, 3, 4, 5))  # N C H W
    hwc = np.moveaxis(x, 1, -1)
    assert np.allclose(np.moveaxis(color.rgb_linear_to_lab(x, axis=1), 1, -1), color.rgb_linear_to_lab(hwc))
    assert np.allclose(color.luminance(x, axis=1), color.luminance(hwc))


FUNCTIONS = [color.srgb_to_linear, color.linear_to_srgb, color.linear_to_adobe_rgb, color.linear_to_prophoto,
             color.prophoto_to_linear, color.rgb_to_xyz, color.rgb_linear_to_lab, color.luminance,
             color.rgb_to_hsv, lambda x: color.convert_linear(x, "prophoto"),
             lambda x: color.lab_to_rgb_linear(color.rgb_linear_to_lab(x))]


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_torch_agrees_with_numpy(fn):
    x = np.random.default_rng(8).random((6, 7, 3))
    out = fn(torch.from_numpy(x))
    assert isinstance(out, torch.Tensor)
    assert np.abs(out.numpy() - fn(x)).max() < 1e-10


def test_torch_keeps_dtype_and_nchw_axis():
    x = torch.rand(2, 3, 8, 8)
    lab = color.rgb_linear_to_lab(x, axis=1)
    assert lab.dtype == torch.float32 and lab.shape == x.shape
    assert color.luminance(x, axis=1).shape == (2, 8, 8)


def test_torch_gradients_are_finite_at_zero_and_at_the_knees():
    # zero, the sRGB knees, the CIELAB linear segment: places where a naive pow/sqrt gives inf or NaN
    values = [0.0, 1e-6, 0.0031308, 0.04045, 0.008856 ** 3, 0.5, 1.0]
    x = torch.tensor([[v, v, v] for v in values], dtype=torch.float64, requires_grad=True)
    total = (color.linear_to_srgb(x).sum() + color.srgb_to_linear(x).sum() + color.rgb_linear_to_lab(x).sum()
             + color.linear_to_adobe_rgb(x).sum() + color.linear_to_prophoto(x).sum()
             + color.rgb_to_hsv(x).sum() + color.delta_e76(color.rgb_linear_to_lab(x),
                                                          color.rgb_linear_to_lab(x.detach())).sum())
    total.backward()
    assert torch.isfinite(x.grad).all()


def test_delta_e_gradient_of_identical_colours_is_zero():
    lab = torch.tensor([[50.0, 10.0, -5.0]], dtype=torch.float64, requires_grad=True)
    color.delta_e76(lab, lab.detach()).sum().backward()
    assert torch.equal(lab.grad, torch.zeros_like(lab))


def test_torch_gradcheck_of_lab_and_srgb():
    x = (torch.rand(4, 3, dtype=torch.float64) * 0.8 + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(color.rgb_linear_to_lab, (x,))
    assert torch.autograd.gradcheck(color.linear_to_srgb, (x,))
    assert torch.autograd.gradcheck(lambda t: color.lab_to_rgb_linear(t * 50), (x,))


def test_wrong_channel_count_and_space_are_refused():
    with pytest.raises(ValueError):
        color.rgb_to_xyz(np.zeros((4, 4)))
    with pytest.raises(ValueError):
        color.encode_transfer(np.zeros(3), "cmyk")


@pytest.mark.parametrize("space", color.SPACES)
def test_large_float32_images_take_the_fast_path_with_the_same_results(space):
    # Above 65536 values numpy float32 input goes through OpenCV's pow: it must match float64 numpy closely
    # (a 16-bit code step is 1.5e-5).
    x = np.random.default_rng(9).random((300, 400, 3)).astype(np.float32)
    encoded = color.encode_transfer(x, space)
    assert encoded.dtype == np.float32 and encoded.shape == x.shape
    assert np.abs(encoded - color.encode_transfer(x.astype(np.float64), space)).max() < 1e-6
    assert np.abs(color.decode_transfer(encoded, space) - x).max() < 2e-6
