"""Local corrections: masks from geometry (radial, linear, brush) and AI-region arrays, their combination
(add, subtract, intersect, MaskValue, inverted, amount), and local sliders acting like the global ones inside
the mask and not at all outside it (LIGHTROOM.md §4)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from bridge_server.core.plan import RetouchPlan
from bridge_server.develop import render
from bridge_server.imaging.color import delta_e76, rgb_linear_to_lab
from bridge_server.imaging.decode import decode

SIZE = 200


def lab(rgb) -> np.ndarray:
    return rgb_linear_to_lab(np.asarray(rgb, dtype=np.float64))


def textured(size: int = SIZE, seed: int = 3) -> np.ndarray:
    """Mid tones with some colour and texture (so that "unchanged" is a strict check)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 0.35, (size, size, 3)).astype(np.float32)


def radial(top=0.25, left=0.25, bottom=0.75, right=0.75, feather=50, flipped=True, angle=0, **mask):
    return {"kind": "radial", "geometry": {"top": top, "left": left, "bottom": bottom, "right": right,
                                           "feather": feather, "flipped": flipped, "angle": angle}, **mask}


def with_edit(pixels, values, masks=None, region="radial", region_masks=None, amount=1.0, **global_values):
    edit = {"region": region, "values": values, "amount": amount}
    if masks is not None:
        edit["masks"] = masks
    return render(pixels, RetouchPlan.build(global_values, regions=[edit]), region_masks)


def ellipse_radius(size: int, top=0.25, left=0.25, bottom=0.75, right=0.75) -> np.ndarray:
    """Ellipse-normalised radius of each pixel centre (1 on the ellipse)."""
    y = (np.arange(size) + 0.5) / size
    yy, xx = np.meshgrid(y, y, indexing="ij")
    return np.hypot((xx - (left + right) / 2) / ((right - left) / 2), (yy - (top + bottom) / 2) / ((bottom - top) / 2))


def test_local_exposure_applies_inside_the_mask_and_nowhere_beyond_its_feather():
    pixels = textured()
    out = with_edit(pixels, {"Exposure2012": 1.0}, [radial(feather=50)])
    rho = ellipse_radius(SIZE)
    inside, outside = rho < 0.45, rho > 1.02  # feather 50: full effect up to half the radius
    np.testing.assert_allclose(out[inside], 2 * pixels[inside], rtol=1e-4)  # +1 EV where the mask is 1
    np.testing.assert_allclose(out[outside], pixels[outside], atol=1e-6)  # untouched outside
    between = (rho > 0.55) & (rho < 0.95)
    gain = out[between].mean(axis=-1) / pixels[between].mean(axis=-1)
    assert np.all((gain > 1.0) & (gain < 2.0))  # the feather blends


def test_local_edit_on_a_large_image_stays_within_its_mask(sample_photos):
    # a 2400 px photo: masks live on the coarse working grid, so allow its cell size beyond the feather
    photo = decode(next(p for p in sample_photos if p.name == "fivek_a1629_input.jpg"), "render").pixels
    pixels = np.ascontiguousarray(np.tile(photo, (2, 2, 1))[:1600, :2400])
    out = with_edit(pixels, {"Exposure2012": -1.0, "Saturation": 50, "Contrast2012": 40},
                    [radial(0.3, 0.3, 0.7, 0.7, feather=30)])
    h, w = pixels.shape[:2]
    yy, xx = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
    rho_px = np.hypot((xx - 0.5) * w / (0.2 * w), (yy - 0.5) * h / (0.2 * h))
    far = rho_px > 1.0 + 8.0 / (0.2 * h)  # 8 px (two working-grid cells) beyond the ellipse
    assert np.abs(out[far] - pixels[far]).max() < 1e-6
    assert delta_e76(lab(out), lab(pixels))[rho_px < 0.6].mean() > 5.0


@pytest.mark.parametrize("flipped, inverted, effect_inside", [
    (True, False, True),  # Lightroom's default radial: the effect is inside the ellipse
    (False, False, False),  # an unflipped (legacy) radial acts outside
    (True, True, False),  # the mask's Invert flips it again
    (False, True, True),
])
def test_radial_flipped_and_inverted_choose_inside_or_outside(flipped, inverted, effect_inside):
    pixels = textured()
    out = with_edit(pixels, {"Exposure2012": 1.0}, [radial(feather=20, flipped=flipped, inverted=inverted)])
    rho = ellipse_radius(SIZE)
    centre, corner = rho < 0.5, rho > 1.2
    brighter = out.mean(axis=-1) > pixels.mean(axis=-1) * 1.5
    assert brighter[centre].all() == effect_inside
    assert brighter[corner].all() == (not effect_inside)
    assert not brighter[centre if not effect_inside else corner].any()


def test_radial_angle_turns_the_ellipse():
    pixels = textured()
    wide = radial(0.4, 0.1, 0.6, 0.9, feather=10)  # a horizontal band-like ellipse
    turned = radial(0.4, 0.1, 0.6, 0.9, feather=10, angle=90)
    gain = lambda out: out.mean(-1) / pixels.mean(-1)  # noqa: E731
    flat = gain(with_edit(pixels, {"Exposure2012": 1.0}, [wide]))
    upright = gain(with_edit(pixels, {"Exposure2012": 1.0}, [turned]))
    assert flat[SIZE // 2, 30] > 1.9 and flat[30, SIZE // 2] < 1.01
    assert upright[30, SIZE // 2] > 1.9 and upright[SIZE // 2, 30] < 1.01


def test_linear_gradient_goes_from_no_effect_to_full_effect():
    pixels = np.full((SIZE, SIZE, 3), 0.2, np.float32)
    mask = {"kind": "linear", "geometry": {"zero_x": 0.5, "zero_y": 0.2, "full_x": 0.5, "full_y": 0.6}}
    gain = with_edit(pixels, {"Exposure2012": 1.0}, [mask])[:, SIZE // 2, 0] / 0.2
    rows = (np.arange(SIZE) + 0.5) / SIZE
    np.testing.assert_allclose(gain[rows < 0.2], 1.0, atol=1e-5)
    np.testing.assert_allclose(gain[rows > 0.6], 2.0, rtol=1e-5)
    assert np.all(np.diff(gain) >= -1e-6)


def test_subtract_removes_a_component_and_intersect_keeps_only_the_overlap():
    pixels = textured()
    a = radial(0.3, 0.1, 0.7, 0.6, feather=5)  # left disc
    b = radial(0.3, 0.4, 0.7, 0.9, feather=5)  # right disc, overlapping the left one in the middle
    rho_a = ellipse_radius(SIZE, 0.3, 0.1, 0.7, 0.6)
    rho_b = ellipse_radius(SIZE, 0.3, 0.4, 0.7, 0.9)
    only_a, both, only_b = (rho_a < 0.9) & (rho_b > 1.1), (rho_a < 0.9) & (rho_b < 0.9), (rho_b < 0.9) & (rho_a > 1.1)

    def brighter(masks):
        return with_edit(pixels, {"Exposure2012": 1.0}, masks).mean(-1) > pixels.mean(-1) * 1.5

    union = brighter([a, b])
    assert union[only_a].all() and union[both].all() and union[only_b].all()
    minus = brighter([a, dict(b, mode="subtract")])
    assert minus[only_a].all() and not minus[both].any() and not minus[only_b].any()
    overlap = brighter([a, dict(b, mode="intersect")])
    assert overlap[both].all() and not overlap[only_a].any() and not overlap[only_b].any()


def test_mask_value_and_amount_scale_the_effect():
    pixels = np.full((64, 64, 3), 0.1, np.float32)
    full = radial(0.0, 0.0, 1.0, 1.0, feather=1)
    centre = (slice(28, 36), slice(28, 36))
    half_value = with_edit(pixels, {"Exposure2012": 1.0}, [dict(full, value=0.5)])
    half_amount = with_edit(pixels, {"Exposure2012": 1.0}, [full], amount=0.5)
    np.testing.assert_allclose(half_value[centre], 0.1 * 2 ** 0.5, rtol=1e-4)  # half the EV
    np.testing.assert_allclose(half_amount[centre], 0.1 * 2 ** 0.5, rtol=1e-4)


def test_ai_region_masks_come_from_arrays_at_any_resolution():
    pixels = textured()
    sky = np.zeros((50, 50), np.float32)
    sky[:20] = 1.0  # the top 40% at a quarter of the image's resolution
    out = with_edit(pixels, {"Exposure2012": 1.0}, region="sky", region_masks={"sky": sky})
    np.testing.assert_allclose(out[:70], 2 * pixels[:70], rtol=1e-4)
    np.testing.assert_allclose(out[90:], pixels[90:], atol=1e-6)
    person = np.zeros((SIZE, SIZE), np.float32)
    person[:, 120:] = 1.0
    plan = RetouchPlan.build({}, regions=[{"region": "person", "person": 1, "values": {"Exposure2012": 1.0}}])
    out = render(pixels, plan, {"person:0": 1 - person, "person:1": person})
    np.testing.assert_allclose(out[:, 130:], 2 * pixels[:, 130:], rtol=1e-4)
    np.testing.assert_allclose(out[:, :110], pixels[:, :110], atol=1e-6)


def test_missing_ai_mask_warns_and_changes_nothing():
    pixels = textured()
    with pytest.warns(UserWarning, match="no mask for region 'sky'"):
        out = with_edit(pixels, {"Exposure2012": 1.0}, region="sky", region_masks={})
    np.testing.assert_allclose(out, pixels, atol=1e-6)


def test_brush_dabs_paint_the_effect_where_they_are():
    pixels = np.full((SIZE, SIZE, 3), 0.1, np.float32)
    brush = {"kind": "brush", "geometry": {"radius": 0.05, "flow": 1.0, "center_weight": 0.5,
                                           "dabs": [[0.25, 0.25], [0.3, 0.25], [0.35, 0.25]]}}
    gain = with_edit(pixels, {"Exposure2012": 1.0}, [brush])[..., 0] / 0.1
    assert gain[50, 60] > 1.95  # on the stroke
    assert abs(gain[150, 150] - 1.0) < 1e-5 and abs(gain[50, 120] - 1.0) < 1e-5  # far from it


def test_local_sliders_act_like_the_global_ones_inside_a_full_mask(sample_photos):
    # "Local sliders act like the global ones restricted to the mask": a mask covering everything must give
    # what the global sliders give.
    pixels = decode(next(p for p in sample_photos if p.name == "three_men_closeup.jpg"), "render").pixels
    everywhere = {"subject": np.ones(pixels.shape[:2], np.float32)}
    pairs = [({"Exposure2012": 0.5}, {"Exposure2012": 0.5}),
             ({"Contrast2012": 40, "Highlights2012": -50, "Shadows2012": 40}, {"Contrast2012": 40, "Highlights2012": -50, "Shadows2012": 40}),
             ({"Whites2012": 30, "Blacks2012": -30}, {"Whites2012": 30, "Blacks2012": -30}),
             ({"Clarity2012": 50, "Texture": 40, "Dehaze": 30}, {"Clarity2012": 50, "Texture": 40, "Dehaze": 30}),
             ({"Saturation": -60}, {"Saturation": -60}),
             ({"Temperature": 30, "Tint": -20}, {"IncrementalTemperature": 30, "IncrementalTint": -20})]
    for local, global_values in pairs:
        a = with_edit(pixels, local, region="subject", region_masks=everywhere)
        b = render(pixels, RetouchPlan.build(global_values))
        assert delta_e76(lab(a), lab(b)).mean() < 0.1, local
        assert delta_e76(lab(a), lab(pixels)).mean() > 1.0, local


def test_a_local_edit_leaves_pixels_outside_its_mask_unchanged_for_every_slider():
    pixels = textured()
    values = {"Exposure2012": 0.7, "Contrast2012": 50, "Highlights2012": -60, "Shadows2012": 60,
              "Whites2012": 40, "Blacks2012": -40, "Texture": 60, "Clarity2012": 60, "Dehaze": 40,
              "Saturation": 70, "Temperature": 40, "Tint": 30}
    out = with_edit(pixels, values, [radial(0.3, 0.3, 0.7, 0.7, feather=20)])
    outside = ellipse_radius(SIZE, 0.3, 0.3, 0.7, 0.7) > 1.05
    np.testing.assert_allclose(out[outside], pixels[outside], atol=1e-5)
    assert delta_e76(lab(out), lab(pixels))[ellipse_radius(SIZE, 0.3, 0.3, 0.7, 0.7) < 0.7].mean() > 5.0


def test_inactive_edits_are_not_rendered():
    pixels = textured()
    plan = RetouchPlan.build({}, regions=[{"region": "radial", "values": {"Exposure2012": 1.0}, "active": False,
                                           "masks": [radial()]}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(render(pixels, plan), pixels, atol=1e-6)
