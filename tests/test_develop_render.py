"""The renderer's entry points: one pass vs tiles, input forms, `PlanParameters`, gradients."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bridge_server.core.plan import RetouchPlan
from bridge_server.develop import PlanParameters, render, render_tiled
from bridge_server.imaging.color import linear_to_srgb
from bridge_server.imaging.decode import decode

CODE = 1.0 / 65535.0  # one 16-bit code value


def everything_plan() -> RetouchPlan:
    """Every rendered stage at once, with local edits of each kind and heal spots."""
    return RetouchPlan.build(
        {"Exposure2012": 0.3, "Contrast2012": 25, "Highlights2012": -50, "Shadows2012": 40, "Whites2012": 15,
         "Blacks2012": -10, "Texture": 30, "Clarity2012": 25, "Dehaze": 15, "Vibrance": 30, "Saturation": 10,
         "IncrementalTemperature": 8, "IncrementalTint": -4, "HueAdjustmentOrange": 10,
         "SaturationAdjustmentBlue": -30, "LuminanceAdjustmentGreen": 20, "ParametricLights": 20,
         "ToneCurvePV2012": [[0, 0], [70, 60], [190, 200], [255, 255]], "ToneCurveName2012": "Custom",
         "ToneCurvePV2012Blue": [[0, 0], [128, 120], [255, 255]]},
        regions=[
            {"region": "subject", "values": {"Exposure2012": 0.4, "Shadows2012": 30, "Clarity2012": -20}},
            {"region": "radial", "values": {"Exposure2012": -0.5, "Temperature": 15, "Saturation": -20},
             "masks": [{"kind": "radial", "inverted": True,
                        "geometry": {"top": 0.1, "left": 0.2, "bottom": 0.9, "right": 0.8, "feather": 60}}]},
            {"region": "linear", "values": {"Highlights2012": -40, "Dehaze": 20},
             "masks": [{"kind": "linear", "geometry": {"zero_x": 0.5, "zero_y": 0.55, "full_x": 0.5, "full_y": 0.0}},
                       {"kind": "radial", "mode": "subtract",
                        "geometry": {"top": 0.0, "left": 0.4, "bottom": 0.3, "right": 0.6, "feather": 30}}]},
        ],
        spots=[{"x": 0.5, "y": 0.5, "size_x": 0.03, "source_x": 0.6, "source_y": 0.45},
               {"x": 0.26, "y": 0.34, "size_x": 0.02}])


def subject_mask(h: int, w: int) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:h // 2, 0:w // 2] / np.array([h // 2, w // 2])[:, None, None]
    return {"subject": ((xx - 0.5) ** 2 / 0.08 + (yy - 0.55) ** 2 / 0.15 < 1).astype(np.float32)}


@pytest.fixture(scope="module")
def photo(sample_photos) -> np.ndarray:
    return decode(next(p for p in sample_photos if p.name == "portrait_headshot.jpg"), "render").pixels


def test_tiled_and_single_pass_renders_agree(photo):
    plan, masks = everything_plan(), subject_mask(*photo.shape[:2])
    single = render(photo, plan, masks)
    tiled = render_tiled(photo, plan, masks, tile=160, compile=False)  # tiles cut through spots and masks
    assert np.abs(tiled - single).max() < 0.5 * CODE
    assert np.array_equal(np.round(tiled * 65535), np.round(single * 65535))


def test_tiled_render_of_a_large_image_equals_the_single_pass(photo):
    # 1200 x 1695: a working grid coarser than the pixels, so tiles read upsampled statistics
    big = np.ascontiguousarray(np.tile(photo, (2, 3, 1))[:1200])
    plan, masks = everything_plan(), subject_mask(*big.shape[:2])
    single = render(big, plan, masks)
    tiled = render_tiled(big, plan, masks, tile=512, compile=False)
    assert np.abs(tiled - single).max() < 0.5 * CODE


@pytest.mark.slow
def test_compiled_tiles_match_eager_tiles(photo):
    # >= 4 MP: render_tiled compiles its tile function (torch.compile); the fused code must agree
    big = np.ascontiguousarray(np.tile(photo, (3, 4, 1))[:2048, :2048])
    plan, masks = everything_plan(), subject_mask(2048, 2048)
    eager = render_tiled(big, plan, masks, tile=1024, compile=False)
    fused = render_tiled(big, plan, masks, tile=1024, compile=True)
    assert np.abs(fused - eager).max() < 1.0 * CODE


def test_input_forms_give_the_same_result(photo):
    plan = everything_plan()
    small = np.ascontiguousarray(photo[:120, :100])
    masks = subject_mask(120, 100)
    reference = render(small, plan, masks)
    chw = torch.from_numpy(small).permute(2, 0, 1).contiguous()
    out = render(chw, plan, masks)
    assert isinstance(out, torch.Tensor) and out.shape == (3, 120, 100)
    np.testing.assert_allclose(out.permute(1, 2, 0).numpy(), reference, atol=1e-6)
    batch = torch.stack([chw, chw * 0.7])  # images in a batch are developed independently
    out = render(batch, plan, masks)
    assert out.shape == (2, 3, 120, 100)
    np.testing.assert_allclose(out[0].permute(1, 2, 0).numpy(), reference, atol=1e-6)
    np.testing.assert_allclose(out[1].permute(1, 2, 0).numpy(), render(small * 0.7, plan, masks), atol=1e-6)
    decoded = type("Decoded", (), {"pixels": small})()  # what imaging.decode returns: an object with .pixels
    np.testing.assert_allclose(render(decoded, plan, masks), reference, atol=1e-6)
    np.testing.assert_allclose(render_tiled(chw, plan, masks, tile=64, compile=False).permute(1, 2, 0).numpy(),
                               reference, atol=1e-6)


def test_srgb_output_is_the_encoded_linear_output(photo):
    plan = everything_plan()
    small = np.ascontiguousarray(photo[:64, :64])
    masks = subject_mask(64, 64)
    encoded = linear_to_srgb(render(small, plan, masks))
    np.testing.assert_allclose(render(small, plan, masks, srgb=True), encoded, atol=2e-6)
    np.testing.assert_allclose(render_tiled(small, plan, masks, srgb=True, tile=64, compile=False), encoded, atol=2e-6)


def test_plan_parameters_hold_every_slider_and_round_trip():
    plan = everything_plan()
    params = PlanParameters.from_plan(plan)
    assert params.global_value("Highlights2012").item() == -50
    assert params.global_value("Saturation").item() == 10
    assert params.global_value("ParametricShadowSplit").item() == 25  # the table's default
    assert params.local_values("Exposure2012").tolist() == pytest.approx([0.4, -0.5, 0.0])
    assert params.amounts().tolist() == [1.0, 1.0, 1.0]
    back = params.to_plan()
    assert back.global_ == {**plan.global_, **{k: v for k, v in back.global_.items() if k not in plan.global_}}
    assert [r.values for r in back.regions] == [
        {**r.values, **{k: v for k, v in b.values.items() if k not in r.values}}
        for r, b in zip(plan.regions, back.regions)]
    with torch.no_grad():
        params.vector[params.index(("global", "Exposure2012"))] = 1.25
    assert params.to_plan().global_["Exposure2012"] == 1.25


def test_raw_plans_get_absolute_white_balance_parameters():
    params = PlanParameters.from_plan(RetouchPlan.build({"Exposure2012": 0.2}), as_shot=(5200.0, 4.0))
    assert params.absolute_wb and params.global_value("Temperature").item() == 5200
    assert ("global", "IncrementalTemperature") not in params.keys


def gradient_plan() -> RetouchPlan:
    """Every continuous slider away from zero and from the kinks of clamps, two local edits."""
    g = {"Exposure2012": 0.2, "Contrast2012": 20, "Highlights2012": -30, "Shadows2012": 25, "Whites2012": 10,
         "Blacks2012": -10, "Texture": 20, "Clarity2012": 15, "Dehaze": 10, "Vibrance": 20, "Saturation": 10,
         "IncrementalTemperature": 6, "IncrementalTint": -5, "ParametricShadows": 10, "ParametricDarks": -10,
         "ParametricLights": 12, "ParametricHighlights": -8, "ParametricShadowSplit": 30,
         "ParametricMidtoneSplit": 55, "ParametricHighlightSplit": 70}
    for i, band in enumerate(("Red", "Orange", "Yellow", "Green", "Aqua", "Blue", "Purple", "Magenta")):
        g |= {f"HueAdjustment{band}": 5 + i, f"SaturationAdjustment{band}": -6 + i, f"LuminanceAdjustment{band}": 4 - i}
    local = {"Exposure2012": 0.3, "Contrast2012": 10, "Highlights2012": -10, "Shadows2012": 10, "Whites2012": 5,
             "Blacks2012": -5, "Texture": 10, "Clarity2012": -10, "Dehaze": 5, "Saturation": 10, "Temperature": 8,
             "Tint": 6}
    return RetouchPlan.build(g, regions=[
        {"region": "radial", "values": local, "amount": 0.8,
         "masks": [{"kind": "radial", "geometry": {"top": 0.1, "left": 0.1, "bottom": 0.8, "right": 0.9,
                                                    "feather": 80}}]},
        {"region": "linear", "values": {k: -v for k, v in local.items()}, "amount": 0.6,
         "masks": [{"kind": "linear", "geometry": {"zero_x": 0.0, "zero_y": 0.0, "full_x": 1.0, "full_y": 1.0}}]},
    ])


def test_gradients_match_finite_differences_for_every_continuous_parameter():
    torch.manual_seed(0)
    pixels = (torch.rand(1, 3, 14, 12, dtype=torch.float64) * 0.5 + 0.06)
    params = PlanParameters.from_plan(gradient_plan(), dtype=torch.float64, requires_grad=True)
    weights = torch.rand(1, 3, 14, 12, dtype=torch.float64)

    def loss(p: PlanParameters) -> torch.Tensor:
        return (render(pixels, p) * weights).sum()

    loss(params).backward()
    analytic = params.vector.grad.clone()
    assert torch.isfinite(analytic).all(), [k for k, a in zip(params.keys, analytic) if not torch.isfinite(a)]
    numeric = torch.zeros_like(analytic)
    base = params.vector.detach().clone()
    with torch.no_grad():
        for i, key in enumerate(params.keys):
            # small steps (1e-4 EV or slider points): the tone-curve tables are piecewise linear, and a step
            # of 1e-2 points straddles one of their nodes at some pixel (seen for the local Saturation, whose
            # gradient was NaN before black-safe sqrt, so that this went unnoticed)
            step = 1e-4
            values = []
            for sign in (1.0, -1.0):
                v = base.clone()
                v[i] += sign * step
                values.append(loss(PlanParameters(params.plan, params.keys, v, params.absolute_wb, params.as_shot)))
            numeric[i] = (values[0] - values[1]) / (2 * step)
    bad = [(key, float(a), float(n)) for key, a, n in zip(params.keys, analytic, numeric)
           if abs(a - n) > 1e-6 + 2e-3 * abs(n)]
    assert not bad, bad
    silent = [key for key, a in zip(params.keys, analytic) if a == 0.0]
    assert not silent, f"parameters without any effect on the render: {silent}"

def black_and_white_pixels(dtype: torch.dtype) -> torch.Tensor:
    """Random colours with exact zeros: a black block, a channel at 0 (saturated colours), exact greys, exact
    white (1.0) and values above it."""
    torch.manual_seed(1)
    px = torch.rand(1, 3, 16, 12, dtype=dtype) * 0.6 + 0.05
    px[..., :5, :4] = 0.0  # pure black
    px[:, 2, 5:8, :] = 0.0  # no blue
    px[:, 0, 8, :] = 0.0  # no red
    px[:, :2, 9, :6] = 0.0  # pure blue
    px[..., 10, :] = 0.3  # neutral grey
    px[..., 11:13, 6:] = 1.0  # white
    px[:, 1, 13, :] = 1.0  # a channel at exactly 1
    px[..., 14, :] = 1.5  # above white
    return px


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradients_are_finite_at_black_and_white(dtype):
    pixels = black_and_white_pixels(dtype)
    weights = torch.rand(1, 3, 16, 12, dtype=dtype)
    h, w = pixels.shape[-2:]
    masks = {"subject": np.pad(np.ones((h // 2, w // 2), np.float32), ((0, h // 2), (w // 4, w // 4)))}
    neutral = RetouchPlan.build({}, [{"region": "subject", "values": {"Exposure2012": 0.0, "Saturation": 0.0,
                                                                       "Temperature": 0.0}}])
    for plan in (gradient_plan(), neutral):  # sliders away from 0, and all at 0 (where a fit starts)
        params = PlanParameters.from_plan(plan, dtype=dtype, requires_grad=True)
        out = render(pixels, params, masks)
        assert torch.isfinite(out).all()
        (out * weights).sum().backward()
        grad = params.vector.grad
        bad = [key for key, g in zip(params.keys, grad) if not torch.isfinite(g)]
        assert not bad, bad
        assert grad.abs().max() < 1e4  # finite and of a sensible size, not a huge stand-in for infinity
    # the safe forms give the plain forward values
    x = pixels.clone().requires_grad_(True)
    with torch.no_grad():
        reference = render(pixels, gradient_plan())
    np.testing.assert_allclose(render(x, PlanParameters.from_plan(gradient_plan(), dtype=dtype)).detach(),
                               reference, atol=1e-6)


def test_black_safe_sqrt_and_atan2():
    from bridge_server.develop.ops import safe_atan2, safe_sqrt
    x = torch.tensor([0.0, 1e-30, 1e-12, 0.25, 4.0], dtype=torch.float64, requires_grad=True)
    y = safe_sqrt(x)
    assert torch.equal(y.detach(), x.detach().sqrt())
    y.sum().backward()
    assert x.grad[0] == 0 and torch.isfinite(x.grad).all()
    np.testing.assert_allclose(x.grad[1:], 0.5 / x.detach()[1:].sqrt())
    a = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64, requires_grad=True)
    t = safe_atan2(b, a)
    assert torch.equal(t.detach(), torch.atan2(b.detach(), a.detach()))
    t.sum().backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all() and a.grad[0] == b.grad[0] == 0
