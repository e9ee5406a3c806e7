"""Colour operations of the renderer: white balance, saturation, vibrance, HSL, tone curves.

Each expectation follows from what the Lightroom control means (LIGHTROOM.md §2-3), measured in CIELAB.
"""
from __future__ import annotations

import numpy as np
import pytest

from bridge_server.core.plan import RetouchPlan
from bridge_server.develop import render
from bridge_server.develop.curves import monotone_spline
from bridge_server.imaging.color import (
    XYZ_TO_SRGB, delta_e76, linear_to_srgb, rgb_linear_to_lab, srgb_to_linear, xy_to_xyz,
)
from bridge_server.imaging.decode import decode


def lab(rgb) -> np.ndarray:
    return rgb_linear_to_lab(np.asarray(rgb, dtype=np.float64))


def develop(pixels, as_shot=None, **values) -> np.ndarray:
    return render(pixels, RetouchPlan.build(values), as_shot=as_shot)


def patches(*srgb8) -> np.ndarray:
    """A row of 8x8 patches from sRGB-encoded 0..255 colours, as linear pixels."""
    enc = np.asarray(srgb8, dtype=np.float32)[None, :, :].repeat(8, 0).repeat(8, 1) / 255.0
    return srgb_to_linear(enc).astype(np.float32)


def patch_lab(pixels: np.ndarray, i: int) -> np.ndarray:
    return lab(pixels[:, 8 * i:8 * i + 8]).reshape(-1, 3).mean(axis=0)


def chroma(lab_values: np.ndarray) -> float:
    return float(np.hypot(lab_values[..., 1], lab_values[..., 2]))


def planck_xy(kelvin: float) -> tuple[float, float]:
    """Chromaticity of a blackbody (Kim et al. 2002 cubic fit, 1667..25000 K): independent of the renderer's
    own (Krystek) locus."""
    t = kelvin
    if t <= 4000:
        x = -0.2661239e9 / t ** 3 - 0.2343589e6 / t ** 2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t ** 3 + 2.1070379e6 / t ** 2 + 0.2226347e3 / t + 0.240390
    if t <= 2222:
        y = -1.1063814 * x ** 3 - 1.34811020 * x ** 2 + 2.18555832 * x - 0.20219683
    elif t <= 4000:
        y = -0.9549476 * x ** 3 - 1.37418593 * x ** 2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x ** 3 - 5.87338670 * x ** 2 + 3.75112997 * x - 0.37001483
    return x, y


def light_patch(kelvin: float, luminance: float = 0.3) -> np.ndarray:
    """How a neutral surface lit by a blackbody at `kelvin` looks in an image balanced for ~6504 K."""
    rgb = XYZ_TO_SRGB @ (xy_to_xyz(*planck_xy(kelvin)) * luminance)
    return np.broadcast_to(rgb.astype(np.float32), (8, 8, 3)).copy()


@pytest.fixture(scope="module")
def portrait(sample_photos) -> np.ndarray:
    return decode(next(p for p in sample_photos if p.name == "portrait_headshot.jpg"), "render").pixels


# -- white balance -------------------------------------------------------------------------------------------
def test_warmer_temperature_raises_b_star_and_cooler_lowers_it():
    grey = patches((128, 128, 128))
    b0 = patch_lab(grey, 0)[2]
    assert patch_lab(develop(grey, IncrementalTemperature=40), 0)[2] > b0 + 5.0
    assert patch_lab(develop(grey, IncrementalTemperature=-40), 0)[2] < b0 - 5.0
    # white balance changes colour, not brightness: a grey keeps its lightness
    assert abs(patch_lab(develop(grey, IncrementalTemperature=40), 0)[0] - patch_lab(grey, 0)[0]) < 0.5


def test_positive_tint_goes_magenta_negative_goes_green():
    grey = patches((128, 128, 128))
    assert patch_lab(develop(grey, IncrementalTint=40), 0)[1] > 3.0
    assert patch_lab(develop(grey, IncrementalTint=-40), 0)[1] < -3.0


def test_raw_temperature_makes_the_chosen_light_neutral():
    # Temperature (raw) names the light in the scene: set to 3200 K, a surface lit by 3200 K light must look
    # like one lit by the as-shot light (6504 K) did, i.e. neutral in that image's sense.
    warm = light_patch(3200.0)
    reference = patch_lab(light_patch(6504.0), 0)
    assert chroma(patch_lab(warm, 0) - reference) > 20  # strongly orange as shot
    corrected = patch_lab(develop(warm, as_shot=(6504.0, 0.0), Temperature=3200, Tint=0), 0)
    assert chroma(corrected - reference) < 1.5
    # and a higher Temperature than the light warms the picture (b* up), a lower one cools it
    grey = light_patch(6504.0)
    b_ref = patch_lab(grey, 0)[2]
    assert patch_lab(develop(grey, as_shot=(6504.0, 0.0), Temperature=9000, Tint=0), 0)[2] > b_ref + 4
    assert patch_lab(develop(grey, as_shot=(6504.0, 0.0), Temperature=4500, Tint=0), 0)[2] < b_ref - 4


def test_raw_white_balance_at_the_as_shot_values_changes_nothing(portrait):
    out = develop(portrait, as_shot=(5100.0, 7.0), Temperature=5100, Tint=7)
    assert delta_e76(lab(out), lab(portrait)).mean() < 0.05


# -- saturation and vibrance ----------------------------------------------------------------------------------
def test_saturation_minus_100_gives_neutral_output(portrait):
    out = lab(develop(portrait, Saturation=-100))
    assert np.abs(out[..., 1:]).max() < 0.5
    # monochrome keeps each pixel's lightness
    assert np.abs(out[..., 0] - lab(portrait)[..., 0]).max() < 0.5


def test_saturation_plus_raises_chroma(portrait):
    c0 = np.hypot(*lab(portrait)[..., 1:].transpose(2, 0, 1)).mean()
    c1 = np.hypot(*lab(develop(portrait, Saturation=40))[..., 1:].transpose(2, 0, 1)).mean()
    assert c1 > c0 * 1.2


def test_vibrance_moves_muted_colours_more_than_saturated_ones_and_skin_least():
    # muted teal, saturated teal, muted blue, saturated red, skin (a typical light skin tone)
    chart = patches((118, 140, 138), (0, 160, 150), (120, 128, 150), (220, 30, 30), (224, 172, 140))
    out = develop(chart, Vibrance=60)
    gain = [chroma(patch_lab(out, i)) / chroma(patch_lab(chart, i)) - 1.0 for i in range(5)]
    muted_teal, saturated_teal, muted_blue, saturated_red, skin = gain
    assert muted_teal > 2 * saturated_teal and muted_blue > 2 * saturated_red
    assert skin < 0.5 * min(muted_teal, muted_blue)
    assert min(gain) >= 0.0


# -- HSL -----------------------------------------------------------------------------------------------------
def test_hsl_acts_on_its_own_colour_band_only():
    chart = patches((40, 80, 200), (200, 40, 40), (60, 160, 60))  # blue, red, green
    base = [patch_lab(chart, i) for i in range(3)]
    desat = develop(chart, SaturationAdjustmentBlue=-100)
    assert chroma(patch_lab(desat, 0)) < 0.25 * chroma(base[0])
    assert delta_e76(patch_lab(desat, 1), base[1]) < 0.5 and delta_e76(patch_lab(desat, 2), base[2]) < 0.5
    darker = develop(chart, LuminanceAdjustmentBlue=-60)
    assert patch_lab(darker, 0)[0] < base[0][0] - 5.0 and delta_e76(patch_lab(darker, 1), base[1]) < 0.5
    turned = develop(chart, HueAdjustmentRed=100)  # red toward orange: its CIELAB hue angle grows
    hue = lambda v: np.degrees(np.arctan2(v[2], v[1]))  # noqa: E731
    assert hue(patch_lab(turned, 1)) > hue(base[1]) + 5.0
    assert delta_e76(patch_lab(turned, 0), base[0]) < 0.5


# -- tone curves ---------------------------------------------------------------------------------------------
def encoded(value8: int) -> np.ndarray:
    return srgb_to_linear(np.full((4, 4, 3), value8 / 255.0, dtype=np.float32)).astype(np.float32)


def test_point_curve_maps_encoded_values_like_lightroom_draws_it():
    # Lightroom's curve axes are encoded 0..255 values: the point (128, 96) takes 128 grey to 96.
    out = develop(encoded(128), ToneCurvePV2012=[[0, 0], [128, 96], [255, 255]], ToneCurveName2012="Custom")
    assert abs(float(linear_to_srgb(out).mean()) * 255 - 96) < 1.0
    assert develop(encoded(0), ToneCurvePV2012=[[0, 0], [128, 96], [255, 255]]).max() < 1e-6


def test_channel_curve_changes_only_its_channel():
    grey = encoded(100)
    out = linear_to_srgb(develop(grey, ToneCurvePV2012Red=[[0, 0], [100, 140], [255, 255]])) * 255
    assert abs(out[..., 0].mean() - 140) < 1.0
    assert abs(out[..., 1].mean() - 100) < 0.5 and abs(out[..., 2].mean() - 100) < 0.5


def test_parametric_highlights_brighten_bright_tones_and_keep_the_ends():
    ramp = np.concatenate([encoded(v) for v in (0, 30, 200, 255)], axis=1)
    out = linear_to_srgb(develop(ramp, ParametricHighlights=100)) * 255
    levels = out[0, ::4, 0]
    assert levels[2] > 205 and abs(levels[1] - 30) < 1.0
    assert levels[0] < 0.5 and levels[3] > 254.5


def test_monotone_spline_passes_through_the_points_and_never_overshoots():
    points = [(0, 0), (60, 10), (64, 200), (255, 255)]  # a steep step that a natural spline would overshoot
    x = np.array([p[0] for p in points]) / 255
    np.testing.assert_allclose(monotone_spline(points, x) * 255, [p[1] for p in points], atol=1e-9)
    dense = monotone_spline(points, np.linspace(0, 1, 2001))
    assert np.all(np.diff(dense) >= -1e-12) and dense.min() >= 0 and dense.max() <= 1
