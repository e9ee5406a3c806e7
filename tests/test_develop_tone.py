"""Tone operations of the renderer, each checked against what the Lightroom slider means (LIGHTROOM.md §2).

Real photos from ../shared/data and synthetic charts; differences are measured in CIELAB (ΔE76).
"""
from __future__ import annotations

import numpy as np
import pytest

from bridge_server.core.plan import RetouchPlan
from bridge_server.develop import render
from bridge_server.imaging.color import delta_e76, rgb_linear_to_lab
from bridge_server.imaging.decode import decode

MID_GREY = 0.184  # linear luminance of L* 50


def lab(rgb) -> np.ndarray:
    return rgb_linear_to_lab(np.asarray(rgb, dtype=np.float64))


def develop(pixels, **values) -> np.ndarray:
    return render(pixels, RetouchPlan.build(values))


def grey(value: float, size: int = 16) -> np.ndarray:
    return np.full((size, size, 3), value, dtype=np.float32)


@pytest.fixture(scope="module")
def photos(sample_photos) -> dict[str, np.ndarray]:
    return {p.name: decode(p, "render").pixels for p in sample_photos}


def test_identity_plan_reproduces_every_sample_photo(photos):
    for name, pixels in photos.items():
        out = develop(pixels)
        assert out.shape == pixels.shape and out.dtype == np.float32
        assert delta_e76(lab(out), lab(pixels)).mean() < 0.5, name


def test_plus_one_ev_doubles_linear_light():
    # Exposure is a gain on linear light: +1 EV is one stop, twice the light (and -1 EV half of it).
    values = np.array([0.02, 0.09, MID_GREY, 0.3, 0.45], dtype=np.float32)
    chart = np.repeat(values[None, :, None], 3, axis=2).repeat(8, axis=0)
    np.testing.assert_allclose(develop(chart, Exposure2012=1.0), 2 * chart, rtol=1e-4)
    np.testing.assert_allclose(develop(chart, Exposure2012=-1.0), 0.5 * chart, rtol=1e-4)
    np.testing.assert_allclose(develop(grey(MID_GREY), Exposure2012=0.5), grey(MID_GREY * 2 ** 0.5), rtol=1e-4)


def test_highlights_minus_100_lowers_the_bright_percentiles_and_leaves_shadows(photos):
    # Highlights targets the bright tones, below the white point; shadows (L* < 30) must not move (< 1 ΔE).
    for name in ("portrait_headshot.jpg", "family_indoor_group.jpg", "three_men_closeup.jpg"):
        before = lab(photos[name])
        after = lab(develop(photos[name], Highlights2012=-100))
        for q in (90, 95):
            assert np.percentile(after[..., 0], q) < np.percentile(before[..., 0], q) - 3.0, (name, q)
        shadows = before[..., 0] < 30
        moved = delta_e76(before, after)[shadows]
        assert moved.mean() < 1.0 and np.percentile(moved, 99) < 1.0, name


def test_highlights_keep_the_white_point():
    # White is the Whites slider's business: Highlights -100 leaves pure white (nearly) white.
    assert lab(develop(grey(1.0), Highlights2012=-100))[..., 0].min() > 99.0


def test_shadows_plus_100_lifts_dark_tones_and_leaves_highlights(photos):
    pixels = photos["portrait_headshot.jpg"]
    before = lab(pixels)
    after = lab(develop(pixels, Shadows2012=100))
    dark = before[..., 0] < 25
    assert np.median(after[..., 0][dark] - before[..., 0][dark]) > 5.0
    bright = before[..., 0] > 80
    assert delta_e76(before, after)[bright].mean() < 1.0
    # a black pixel stays black: Shadows lifts dark tones, the black point is the Blacks slider's
    assert develop(grey(0.0), Shadows2012=100).max() == 0.0


def test_whites_and_blacks_move_the_ends_not_the_middle():
    chart = np.repeat(np.array([0.0, 0.005, MID_GREY, 0.8, 1.0], np.float32)[None, :, None], 3, 2).repeat(4, 0)
    base = lab(chart)[0, :, 0]
    whites = lab(develop(chart, Whites2012=50))[0, :, 0]
    blacks = lab(develop(chart, Blacks2012=-50))[0, :, 0]
    assert whites[3] > base[3] + 3.0 and abs(whites[2] - base[2]) < 1.0
    assert blacks[1] < base[1] - 2.0 and abs(blacks[2] - base[2]) < 1.0
    lifted = lab(develop(chart, Blacks2012=50))[0, :, 0]
    assert lifted[0] > 2.0  # +Blacks lifts black itself (the black point)


def test_contrast_widens_the_lightness_spread_around_mid_grey(photos):
    pixels = photos["three_people_outdoor.jpg"]
    spread = lab(pixels)[..., 0].std()
    assert lab(develop(pixels, Contrast2012=50))[..., 0].std() > spread + 1.0
    assert lab(develop(pixels, Contrast2012=-50))[..., 0].std() < spread - 1.0
    # the S-curve turns about mid-grey: L* 50 itself stays put
    assert abs(lab(develop(grey(MID_GREY), Contrast2012=100))[..., 0].mean() - 50.0) < 0.3


def step_edge_with_texture(size: int = 256, seed: int = 0) -> np.ndarray:
    """A hard vertical edge between two textured flats (L* about 35 and 70)."""
    rng = np.random.default_rng(seed)
    lightness = np.where(np.arange(size) < size // 2, 35.0, 70.0)[None, :].repeat(size, 0)
    lightness = lightness + rng.normal(0.0, 1.5, (size, size))  # fine texture, about 1.5 L*
    y = np.where(lightness > 8, ((lightness + 16) / 116) ** 3, lightness / 903.3)
    return np.repeat(y[..., None], 3, axis=2).astype(np.float32)


def texture_spread(light: np.ndarray) -> float:
    """Spread of the texture (L*) on both flats, away from the edge and the borders."""
    size = light.shape[1]
    left, right = light[:, 16:size // 2 - 40], light[:, size // 2 + 40:-16]
    return float(np.std(np.r_[(left - left.mean()).ravel(), (right - right.mean()).ravel()]))


def rims(light: np.ndarray) -> tuple[float, float]:
    """Halo at the edge, from the column means (the texture averages out): how far the 12 px next to the edge
    overshoot the bright flat, and undershoot the dark flat (L*)."""
    size = light.shape[1]
    cols = light.mean(axis=0)
    bright, dark = cols[size // 2 + 40:-16].mean(), cols[16:size // 2 - 40].mean()
    return float(cols[size // 2:size // 2 + 12].max() - bright), float(dark - cols[size // 2 - 12:size // 2].min())


def test_clarity_raises_local_contrast_without_halos_at_a_hard_edge():
    chart = step_edge_with_texture()
    light = lab(develop(chart, Clarity2012=100))[..., 0]
    assert texture_spread(light) > texture_spread(lab(chart)[..., 0]) * 1.25  # detail is amplified...
    # ...but no bright or dark rim along the edge (an unsharp mask of this strength would leave several L*)
    over, under = rims(light)
    assert over < 1.0 and under < 1.0


def test_texture_amplifies_fine_detail_and_minus_texture_smooths_it():
    chart = step_edge_with_texture()
    spread = texture_spread(lab(chart)[..., 0])
    assert texture_spread(lab(develop(chart, Texture=100))[..., 0]) > spread * 1.3
    assert texture_spread(lab(develop(chart, Texture=-100))[..., 0]) < spread * 0.8


def hazy_scene(size: int = 128, seed: int = 1):
    """A colourful scene J seen through haze: I = J t + A (1 - t), transmission falling from bottom to top."""
    rng = np.random.default_rng(seed)
    blocks = rng.uniform(0.02, 0.6, (8, 8, 3))
    scene = np.kron(blocks, np.ones((size // 8, size // 8, 1)))
    t = np.linspace(0.35, 0.9, size)[:, None, None]
    airlight = np.array([0.85, 0.88, 0.9])
    return (scene * t + airlight * (1 - t)).astype(np.float32), scene


def test_dehaze_removes_haze_toward_the_scene_and_minus_dehaze_adds_it():
    hazy, scene = hazy_scene()
    error_before = delta_e76(lab(hazy), lab(scene)).mean()
    dehazed = develop(hazy, Dehaze=60)
    assert delta_e76(lab(dehazed), lab(scene)).mean() < error_before * 0.8
    # less haze: more contrast and more colour; more haze: less of both
    chroma = lambda x: np.hypot(lab(x)[..., 1], lab(x)[..., 2]).mean()  # noqa: E731
    assert chroma(dehazed) > chroma(hazy) and lab(dehazed)[..., 0].std() > lab(hazy)[..., 0].std()
    veiled = develop(hazy, Dehaze=-60)
    assert chroma(veiled) < chroma(hazy) and lab(veiled)[..., 0].std() < lab(hazy)[..., 0].std()
