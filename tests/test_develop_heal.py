"""Heal and clone spots: a heal removes a blemish with the source's texture and the destination's tone; a
clone copies the source as it is (LIGHTROOM.md §5)."""
from __future__ import annotations

import numpy as np

from bridge_server.core.plan import RetouchPlan
from bridge_server.develop import render

H, W = 160, 240


def skin_like(seed: int = 5, ramp: bool = False) -> np.ndarray:
    """Fine random texture (std 0.02) on a flat tone, or on a left-to-right brightness ramp."""
    rng = np.random.default_rng(seed)
    base = np.linspace(0.15, 0.45, W)[None, :, None] if ramp else 0.3
    tone = np.broadcast_to(base, (H, W, 1)) * np.array([1.0, 0.8, 0.7])
    return (tone + rng.normal(0.0, 0.02, (H, W, 1))).astype(np.float32)


def add_blemish(pixels: np.ndarray, cy: int, cx: int, radius: float = 7.0) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    dark = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (radius / 2) ** 2))
    return (pixels * (1 - 0.6 * dark[..., None])).astype(np.float32)


def disc(cy: int, cx: int, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2


def spot(cy, cx, radius_px, sy=None, sx=None, **extra) -> dict:
    out = {"x": (cx + 0.5) / W, "y": (cy + 0.5) / H, "size_x": radius_px / W, **extra}
    if sy is not None:
        out.update(source_x=(sx + 0.5) / W, source_y=(sy + 0.5) / H)
    return out


def heal(pixels, *spots) -> np.ndarray:
    return render(pixels, RetouchPlan.build({}, spots=list(spots)))


def test_heal_removes_a_blemish_and_keeps_the_texture():
    clean = skin_like()
    spotted = add_blemish(clean, 60, 70)
    healed = heal(spotted, spot(60, 70, 12, sy=110, sx=170))
    core = disc(60, 70, 5)
    surround = disc(60, 70, 20) & ~disc(60, 70, 14)
    assert spotted[core].mean() < healed[surround].mean() - 0.05  # the blemish was there...
    assert abs(healed[core].mean() - healed[surround].mean()) < 0.01  # ...and is gone
    # texture kept: a blur or a fill would leave the healed core nearly flat
    assert healed[core].std(axis=0).mean() > 0.7 * clean[surround].std(axis=0).mean()
    # pixels away from the spot are untouched
    far = ~disc(60, 70, 20)
    np.testing.assert_allclose(healed[far], spotted[far], atol=1e-6)


def test_heal_matches_the_destination_tone_where_clone_copies_the_source_tone():
    clean = skin_like(ramp=True)  # the source (right) is much brighter than the destination (left)
    spotted = add_blemish(clean, 80, 60)
    core = disc(80, 60, 5)
    ring = disc(80, 60, 20) & ~disc(80, 60, 15)
    healed = heal(spotted, spot(80, 60, 12, sy=80, sx=180))
    cloned = heal(spotted, spot(80, 60, 12, sy=80, sx=180, kind="clone"))
    assert abs(healed[core].mean() - clean[core].mean()) < 0.01
    assert cloned[core].mean() > clean[core].mean() + 0.1  # a clone brings the bright source along
    np.testing.assert_allclose(cloned[core], spotted[disc(80, 180, 5)], atol=1e-6)
    assert abs(healed[ring].mean() - spotted[ring].mean()) < 1e-3


def test_heal_without_a_source_chooses_one_nearby():
    spotted = add_blemish(skin_like(), 80, 120)
    healed = heal(spotted, spot(80, 120, 12))
    core, surround = disc(80, 120, 5), disc(80, 120, 20) & ~disc(80, 120, 14)
    assert abs(healed[core].mean() - healed[surround].mean()) < 0.01


def test_opacity_blends_the_heal():
    spotted = add_blemish(skin_like(), 60, 70)
    full = heal(spotted, spot(60, 70, 12, sy=110, sx=170))
    half = heal(spotted, spot(60, 70, 12, sy=110, sx=170, opacity=0.5))
    core = disc(60, 70, 3)
    np.testing.assert_allclose(half[core], 0.5 * (full[core] + spotted[core]), atol=1e-5)
