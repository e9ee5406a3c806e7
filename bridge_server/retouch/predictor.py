"""The automatic predictor: a deterministic, explainable per-region `RetouchPlan` from an analysis.

Human-region priority: people are exposed and coloured first; the rest of the frame gets its own, gentler
correction; local edits carry the difference. Every decision adds a note saying why. Targets are documented
constants. Slider values are found by simulating the renderer's own white-balance and exposure model on sampled
pixels (exposure is exact in linear light; white balance uses develop's cone-gain model), so the plan means what
it says in Lightroom units, and planning costs milliseconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.plan import RegionEdit, RetouchPlan

PREDICTOR_VERSION = "auto-1.2"

# The predictor corrects clear faults and leaves a photo that is within the range of well-made photos alone:
# every statistic has a natural band, and only the part outside the band is corrected (to the band's edge). The
# bands were set from the sample photos in ../shared/data and scikit-image/scikit-learn (their originals all fall
# inside, so the predictor leaves them nearly untouched: see bench/quality.py's "identity" row).
# Targets in CIELAB L* (D65). Skin in portraits sits anywhere from L* 35 (low key) to 78 (high key).
FACE_BAND_L = (35.0, 78.0)
FACE_TARGET_L = 58.0  # the middle of the band: where the notes measure faces from
FACE_DAMPING = 0.85
SCENE_BAND_L = (22.0, 72.0)  # a frame without people: median L* (low- and high-key scenes are deliberate)
SCENE_DAMPING = 0.6
WHITE_MIN_L = 78.0  # the brightest tones (99.9th percentile) of a well-exposed photo reach at least this
CLIP_MAX_SHARE = 0.05  # more pixels than this at white: the photo is over-exposed
SKY_MAX_L = 94.0  # a sky brighter than this (median) or clipped on CLIP_MAX_SHARE is blown
SKY_TARGET_L = 80.0
SKIN_HUE_DEG = 55.0  # hue angle of skin in a*b*: 42-67 deg on our sample portraits
SKIN_HUE_TOLERANCE = 14.0
WB_NATURAL_AB = (0.5, 3.5)  # the usual a*/b* of the tones that are grey in reality: a touch warm
WB_NATURAL_RADIUS = 6.0  # casts within this distance of the usual are the light's character, not a fault
WB_KEEP = 0.2  # leave this share of the excess cast
WB_KEEP_SKIN_RIGHT = 0.75  # ... but this much when skin disagrees that the light is off
WB_LIMIT = (25.0, 20.0)  # the most an automatic white balance moves temperature / tint
WB_LIMIT_AGREED = (50.0, 30.0)  # ... when grey tones and skin agree on the cast
GREY_MAX_CHROMA = 18.0  # tones this close to grey (a*b* distance) may be grey in reality
NEUTRAL_MIN_SHARE = 0.02
PEOPLE_SHARE_OF_GLOBAL = 0.4  # how much of the people's exposure change the whole frame follows (harmony)
MAX_GLOBAL_EV = 1.5
MAX_LOCAL_EV = 1.5
HIGHLIGHT_CLIP_L = 98.0
SUBJECT_GAP_L = 25.0  # people darker than their surroundings (median L*) by more than this are backlit
SUBJECT_DAMPING = 0.8
BACKGROUND_GAP_L = 25.0  # a background this much brighter than the faces outshines them
MIN_REGION_SHARE = 0.004  # regions smaller than this share of the frame get no edit


@dataclass
class Sample:
    """Linear pixels drawn from one region (at most a few thousand) and the region's share of the frame."""

    pixels: np.ndarray  # (N, 3)
    share: float
    confidence: float


def _lab(pixels: np.ndarray) -> np.ndarray:
    """CIELAB (N, 3) of linear pixels (N, 3), clipped to the displayable range like the renderer's output."""
    import cv2
    clipped = np.clip(pixels, 0.0, 1.0).astype(np.float32).reshape(-1, 1, 3)
    return cv2.cvtColor(clipped, cv2.COLOR_LRGB2Lab).reshape(-1, 3)


def _y_from_l(l_star: float) -> float:
    l_star = min(max(l_star, 0.5), 100.0)
    return ((l_star + 16) / 116) ** 3 if l_star > 8 else l_star / 903.3


def ev_between(l_from: float, l_to: float) -> float:
    """Exposure (EV) that moves a tone from L* l_from to L* l_to, in linear light."""
    return math.log2(_y_from_l(l_to) / _y_from_l(l_from))


def wb_matrix(temperature: float, tint: float) -> np.ndarray:
    """The renderer's linear-RGB matrix for a relative white balance (IncrementalTemperature/Tint units)."""
    import torch
    from ..develop.color import MIRED_PER_STEP, REFERENCE_KELVIN, TINT_SCALE, cone_gains
    from ..develop.color import wb_matrix as cone_matrix
    t = torch.tensor
    ref = 1e6 / REFERENCE_KELVIN
    gains = cone_gains(t(ref, dtype=torch.float64), t(0.0, dtype=torch.float64),
                       t(ref - temperature * MIRED_PER_STEP, dtype=torch.float64),
                       t(tint / TINT_SCALE, dtype=torch.float64))
    return cone_matrix(torch.stack(gains)).numpy()


def simulate(pixels: np.ndarray, temperature: float = 0.0, tint: float = 0.0, ev: float = 0.0) -> np.ndarray:
    """Pixels after white balance and exposure, as the renderer applies them (before tone sliders)."""
    out = pixels @ wb_matrix(temperature, tint).T if (temperature or tint) else pixels
    return out * (2.0 ** ev)


def solve_white_balance(pixels: np.ndarray, target_ab: tuple[float, float], *, start=(0.0, 0.0), ev: float = 0.0,
                        limit: float = 100.0) -> tuple[float, float]:
    """Temperature/tint moving the median a*/b* of `pixels` to `target_ab` (Newton steps, measured Jacobian)."""
    temp, tint = start

    def ab(tp: float, tn: float) -> np.ndarray:
        lab = _lab(simulate(pixels, tp, tn, ev))
        return np.array([np.median(lab[:, 1]), np.median(lab[:, 2])])

    for _ in range(5):
        now = ab(temp, tint)
        err = np.asarray(target_ab) - now
        if np.hypot(*err) < 0.3:
            break
        jac = np.stack([(ab(temp + 5, tint) - now) / 5, (ab(temp, tint + 5) - now) / 5], axis=1)
        try:
            step = np.linalg.solve(jac, err)
        except np.linalg.LinAlgError:
            break
        temp = float(np.clip(temp + step[0], -limit, limit))
        tint = float(np.clip(tint + step[1], -limit, limit))
    return temp - start[0], tint - start[1]


class Predictor:
    """Propose a plan for one analysed photo."""

    def __init__(self, *, samples: int = 4000, seed: int = 0):
        self.samples = samples
        self.seed = seed

    def _sample(self, image: np.ndarray, mask: np.ndarray | None, confidence: float = 1.0) -> Sample | None:
        weights = np.ones(image.shape[:2], np.float32) if mask is None else np.asarray(mask, np.float32)
        share = float(weights.mean())
        if share < MIN_REGION_SHARE:
            return None
        inside = np.flatnonzero(weights.ravel() > 0.5)
        if inside.size < 16:
            inside = np.flatnonzero(weights.ravel() > 0.5 * weights.max())
        if inside.size > self.samples:
            inside = np.random.default_rng(self.seed).choice(inside, self.samples, replace=False)
        return Sample(image.reshape(-1, 3)[inside].astype(np.float64), share, confidence)

    def predict(self, analysis, *, is_raw: bool = False) -> RetouchPlan:
        image = np.asarray(analysis.working, np.float32)
        masks = analysis.masks
        conf = dict(getattr(analysis, "confidence", {}) or {})
        plan = RetouchPlan(provenance={"predictor": PREDICTOR_VERSION})
        for note in getattr(analysis, "fallbacks", []) or []:
            plan.add_note("vision", f"fallback: {note}")
        get = lambda key: self._sample(image, masks.get(key), conf.get(key, 1.0)) if key in masks else None  # noqa: E731
        frame = self._sample(image, None)
        faces, subject, background, sky = get("face_skin"), get("subject"), get("background"), get("sky")
        neutral = self._neutral_sample(image, masks)

        temp, tint = self._white_balance(plan, neutral, faces, is_raw)
        # White-point and clipping cues are read without the sky, which gets its own recovery.
        ground = self._sample(image, 1.0 - masks["sky"]) if sky is not None else frame
        ev = self._exposure(plan, ground or frame, faces, subject, background, temp, tint)
        self._tone(plan, frame, temp, tint, ev)
        if faces is not None:
            self._skin(plan, faces, masks, conf, temp, tint, ev)
        if sky is not None:
            self._sky(plan, sky, temp, tint, ev)
        if faces is not None and background is not None:
            self._background(plan, faces, background, temp, tint, ev)
        self._presence(plan, frame, temp, tint, ev)
        return plan.validate()

    def _neutral_sample(self, image: np.ndarray, masks: dict) -> Sample | None:
        """Pixels that may be grey in reality: everything but skin and sky (greys are picked from these)."""
        exclude = np.zeros(image.shape[:2], np.float32)
        for key in ("face_skin", "body_skin", "sky"):
            if key in masks:
                exclude = np.maximum(exclude, masks[key])
        return self._sample(image, (exclude < 0.3).astype(np.float32))

    # -- global -------------------------------------------------------------------------------------------------
    def _white_balance(self, plan, pool: Sample | None, faces: Sample | None, is_raw: bool) -> tuple[float, float]:
        """Neutralise a colour cast of the tones that are grey in reality, trusting skin to tell a warm light
        from a cast. Grey tones are found iteratively: near-grey after the previous correction."""
        if pool is None:
            return self._white_balance_from_skin(plan, faces, is_raw)
        # Tones near grey as the photo stands. (Searching again after a trial correction drifts toward the most
        # strongly coloured tones; one pass is the robust measure.)
        lab = _lab(pool.pixels)
        pick = grey_tones(lab)
        if pick.mean() < NEUTRAL_MIN_SHARE:
            return self._white_balance_from_skin(plan, faces, is_raw)
        greys = pool.pixels[pick]
        grey_lab = _lab(greys)  # the tones found grey, as they are in the photo
        cast_a, cast_b = float(np.median(grey_lab[:, 1])), float(np.median(grey_lab[:, 2]))
        # Only the part of the cast beyond the natural band is a fault; it is moved to the band's edge.
        off_a, off_b = cast_a - WB_NATURAL_AB[0], cast_b - WB_NATURAL_AB[1]
        distance = math.hypot(off_a, off_b)
        if distance <= WB_NATURAL_RADIUS:
            return 0.0, 0.0
        if is_raw:
            plan.add_note("predictor", f"colour cast a* {cast_a:+.1f}, b* {cast_b:+.1f}: left to Lightroom's As Shot "
                                       "white balance (raw files need the camera's as-shot value)")
            return 0.0, 0.0

        def correction(keep: float, limit: tuple[float, float]) -> tuple[int, int]:
            move = (1 - keep) * (distance - WB_NATURAL_RADIUS) / distance
            d_temp, d_tint = solve_white_balance(greys, (cast_a - move * off_a, cast_b - move * off_b))
            return (round(float(np.clip(d_temp, -limit[0], limit[0]))),
                    round(float(np.clip(d_tint, -limit[1], limit[1]))))

        # Skin is the second witness. In its band: much of the "cast" is the scene's real colour. Out of its band
        # and the correction brings it back: both agree on a cast of the light, which gets the full correction.
        # Out of its band the other way: the skin's cast is its own (a local edit handles it).
        hue = skin_colour(faces.pixels)[2] if faces is not None else None
        if hue is None:
            temp, tint = correction(WB_KEEP, WB_LIMIT)
        elif abs(hue - SKIN_HUE_DEG) < SKIN_HUE_TOLERANCE:
            temp, tint = correction(WB_KEEP_SKIN_RIGHT, WB_LIMIT)
        else:
            temp, tint = correction(WB_KEEP, WB_LIMIT)
            after = skin_colour(simulate(faces.pixels, temp, tint))[2]
            agreed = abs(after - SKIN_HUE_DEG) < abs(hue - SKIN_HUE_DEG) - 3
            temp, tint = correction(WB_KEEP, WB_LIMIT_AGREED) if agreed else correction(WB_KEEP_SKIN_RIGHT, WB_LIMIT)
        return _set_white_balance(plan, temp, tint, f"colour cast a* {cast_a:+.1f}, b* {cast_b:+.1f} on neutral "
                                                    "tones, beyond the usual warmth")

    def _white_balance_from_skin(self, plan, faces: Sample | None, is_raw: bool) -> tuple[float, float]:
        """Without grey tones to measure, skin is the colour reference: bring its hue back into the skin band."""
        if faces is None or is_raw or faces.confidence < 0.5:
            return 0.0, 0.0
        a, b, hue = skin_colour(faces.pixels)
        if abs(hue - SKIN_HUE_DEG) <= SKIN_HUE_TOLERANCE:
            return 0.0, 0.0
        chroma = max(math.hypot(a, b), 12.0)
        aim = math.radians(SKIN_HUE_DEG + math.copysign(SKIN_HUE_TOLERANCE / 2, hue - SKIN_HUE_DEG))
        d_temp, d_tint = solve_white_balance(faces.pixels, (chroma * math.cos(aim), chroma * math.sin(aim)))
        temp = round(float(np.clip(0.8 * d_temp, -WB_LIMIT[0], WB_LIMIT[0])))
        tint = round(float(np.clip(0.8 * d_tint, -WB_LIMIT[1], WB_LIMIT[1])))
        return _set_white_balance(plan, temp, tint, f"few grey tones to measure; skin hue {hue:.0f}° vs "
                                                    f"{SKIN_HUE_DEG:.0f}° expected")

    def _exposure(self, plan, frame: Sample, faces, subject, background, temp, tint) -> float:
        """Bring faces into their band (human priority); the rest of the frame gets a damped scene exposure.
        Two cues beyond the medians: nothing near white means under-exposed, many pixels at white over-exposed."""
        frame_l = _lab(simulate(frame.pixels, temp, tint))[:, 0]
        key = background if background is not None and background.share > 0.2 else frame
        key_l = float(np.median(_lab(simulate(key.pixels, temp, tint))[:, 0]))
        white_l = float(np.percentile(frame_l, 99.9))
        clipped = float((frame_l >= 99.0).mean())
        lift = ev_between(max(white_l, 1.0), WHITE_MIN_L) if white_l < WHITE_MIN_L else 0.0
        pull = -min(1.0, 0.3 + 4.0 * (clipped - CLIP_MAX_SHARE)) if clipped > CLIP_MAX_SHARE else 0.0
        scene_ev = SCENE_DAMPING * _to_band(key_l, SCENE_BAND_L)
        headroom = ev_between(max(float(np.percentile(frame_l, 99)), 1.0), HIGHLIGHT_CLIP_L + 1.0)
        if faces is None:
            ev = scene_ev
            if lift > 0:
                ev = max(ev, lift)
            if pull < 0:
                ev = min(ev, pull)
            ev = float(np.clip(ev, -MAX_GLOBAL_EV, MAX_GLOBAL_EV))
            if ev > 0:
                ev = min(ev, max(headroom, 0.0) + 0.2)
            if abs(ev) >= 0.1:
                plan.global_["Exposure2012"] = round(ev, 2)
                why = f"brightest tones reach only L* {white_l:.0f}" if lift > 0 and ev > 0 else \
                    f"{clipped * 100:.0f} % of pixels at white" if pull < 0 and ev < 0 else \
                    f"frame median L* {key_l:.0f} outside {SCENE_BAND_L[0]:.0f}-{SCENE_BAND_L[1]:.0f}"
                plan.add_note("predictor", f"{why}: exposure {ev:+.2f} EV", param="Exposure2012")
                return ev
            return 0.0
        face_l = float(np.median(_lab(simulate(faces.pixels, temp, tint))[:, 0]))
        face_ev = FACE_DAMPING * _to_band(face_l, FACE_BAND_L)
        if lift > 0 and face_l < FACE_TARGET_L:
            face_ev = max(face_ev, min(lift, ev_between(face_l, FACE_TARGET_L)))
        if pull < 0 and face_l > FACE_TARGET_L:
            face_ev = min(face_ev, max(pull, ev_between(face_l, FACE_TARGET_L)))
        face_ev = float(np.clip(face_ev, -MAX_GLOBAL_EV - MAX_LOCAL_EV, MAX_GLOBAL_EV + MAX_LOCAL_EV))
        miss = FACE_TARGET_L - face_l
        # Human-region priority: the people get their full correction; the frame follows only part of it
        # (so people and scene stay in harmony), plus the scene's own, damped correction.
        global_ev = scene_ev + PEOPLE_SHARE_OF_GLOBAL * (face_ev - scene_ev)
        if subject is None or subject.share > 0.6 or (face_ev > 0 and lift > 0) or (face_ev < 0 and pull < 0):
            global_ev = face_ev  # the people are the frame, or the whole frame is off: one global move
        if global_ev > 0:
            global_ev = min(global_ev, max(headroom, 0.0) + 0.3)
        global_ev = float(np.clip(global_ev, -MAX_GLOBAL_EV, MAX_GLOBAL_EV))
        if abs(global_ev) < 0.1:
            global_ev = 0.0
        else:
            plan.global_["Exposure2012"] = round(global_ev, 2)
            plan.add_note("predictor", f"faces {abs(ev_between(face_l, FACE_TARGET_L)):.1f} EV "
                                       f"{'under' if miss > 0 else 'over'} target (L* {face_l:.0f} vs "
                                       f"{FACE_TARGET_L:.0f}, usual {FACE_BAND_L[0]:.0f}-{FACE_BAND_L[1]:.0f}; "
                                       f"brightest tones L* {white_l:.0f}, {clipped * 100:.0f} % at white): "
                                       f"exposure {global_ev:+.2f} EV", param="Exposure2012")
        rest = face_ev - global_ev
        if subject is not None and background is not None and background.share > 0.2 and rest <= 0.0:
            # Backlight: people far darker than their surroundings get lifted toward them (the gap beyond the
            # usual is closed), even when their faces alone would pass.
            people_l = float(np.median(_lab(simulate(subject.pixels, temp, tint, global_ev))[:, 0]))
            around_l = float(np.median(_lab(simulate(background.pixels, temp, tint, global_ev))[:, 0]))
            if around_l - people_l > SUBJECT_GAP_L:
                lift = SUBJECT_DAMPING * ev_between(people_l, around_l - SUBJECT_GAP_L)
                lift = min(lift, max(0.0, ev_between(face_l, FACE_BAND_L[1])) if face_l < FACE_BAND_L[1] else 0.0)
                if lift > rest:
                    rest = lift
        if abs(rest) >= 0.15 and subject is not None:
            local = float(np.clip(rest, -MAX_LOCAL_EV, MAX_LOCAL_EV))
            edit = _edit(plan, "subject", subject.confidence)
            edit.values["Exposure2012"] = round(local, 2)
            why = "subject darker than the scene: people lifted" if local > 0 else \
                "subject brighter than the scene: people held back"
            plan.add_note("predictor", f"{why} {local:+.2f} EV on top of the global exposure",
                          region="subject", param="Exposure2012")
        return global_ev

    def _tone(self, plan, frame: Sample, temp, tint, ev) -> None:
        """Highlights, shadows, whites, blacks and contrast from the histogram after exposure."""
        light = _lab(simulate(frame.pixels, temp, tint, ev))[:, 0]
        p005, p05, p50, p95, p995 = np.percentile(light, [0.5, 5, 50, 95, 99.5])
        clipped = float((light >= HIGHLIGHT_CLIP_L).mean())
        deep = float((light <= 10).mean())
        if clipped > CLIP_MAX_SHARE or p95 > 98:
            value = -round(min(60.0, 10 + 800 * clipped + 3 * max(0.0, p95 - 90)))
            plan.global_["Highlights2012"] = value
            plan.add_note("predictor", f"{clipped * 100:.1f} % of pixels near clipping: highlights {value}",
                          param="Highlights2012")
        if deep > 0.3:
            value = round(min(40.0, 100 * (deep - 0.2)))
            plan.global_["Shadows2012"] = value
            plan.add_note("predictor", f"{deep * 100:.0f} % of pixels in deep shadow: shadows +{value}",
                          param="Shadows2012")
        if p995 < 70:
            value = round(min(30.0, 1.2 * (80 - p995)))
            plan.global_["Whites2012"] = value
            plan.add_note("predictor", f"brightest tones reach only L* {p995:.0f}: whites +{value}",
                          param="Whites2012")
        if p005 > 14:
            value = -round(min(25.0, 1.2 * (p005 - 8)))
            plan.global_["Blacks2012"] = value
            plan.add_note("predictor", f"darkest tones at L* {p005:.0f} look washed out: blacks {value}",
                          param="Blacks2012")
        spread = float(np.std(light))
        if spread < 13 and 25 < p50 < 75:
            value = round(min(35.0, 2.5 * (17 - spread)))
            plan.global_["Contrast2012"] = value
            plan.add_note("predictor", f"flat tones (L* spread {spread:.0f}): contrast +{value}", param="Contrast2012")

    def _presence(self, plan, frame: Sample, temp, tint, ev) -> None:
        """A little vibrance for muted photos (vibrance protects skin and already saturated colours)."""
        lab = _lab(simulate(frame.pixels, temp, tint, ev))
        chroma = float(np.median(np.hypot(lab[:, 1], lab[:, 2])))
        if chroma < 6:
            value = round(min(20.0, 2.0 * (8 - chroma)))
            plan.global_["Vibrance"] = value
            plan.add_note("predictor", f"muted colours (median chroma {chroma:.0f}): vibrance +{value}",
                          param="Vibrance")

    # -- regions -------------------------------------------------------------------------------------------------
    def _skin(self, plan, faces: Sample, masks, conf, temp, tint, ev) -> None:
        """A colour cast on skin alone gets a local temperature/tint edit that brings its hue back."""
        a, b, hue = skin_colour(simulate(faces.pixels, temp, tint, ev))
        if abs(hue - SKIN_HUE_DEG) <= SKIN_HUE_TOLERANCE:
            return
        chroma = max(math.hypot(a, b), 12.0)
        aim = SKIN_HUE_DEG + math.copysign(SKIN_HUE_TOLERANCE / 2, hue - SKIN_HUE_DEG)
        target = (chroma * math.cos(math.radians(aim)), chroma * math.sin(math.radians(aim)))
        d_temp, d_tint = solve_white_balance(faces.pixels, target, start=(temp, tint), ev=ev, limit=160)
        confidence = faces.confidence
        d_temp, d_tint = float(np.clip(d_temp * confidence, -60, 60)), float(np.clip(d_tint * confidence, -60, 60))
        if abs(d_temp) < 4 and abs(d_tint) < 4:
            return
        for key in ("face_skin", "body_skin"):
            if key in masks and float(np.mean(masks[key])) >= MIN_REGION_SHARE / 4:
                edit = _edit(plan, key, conf.get(key, confidence))
                edit.values["Temperature"] = round(d_temp)
                edit.values["Tint"] = round(d_tint)
        for edit in plan.regions:
            if edit.region in ("face_skin", "body_skin"):
                plan.add_note("predictor", f"skin hue {hue:.0f}° vs {SKIN_HUE_DEG:.0f}° expected: skin temperature "
                                           f"{d_temp:+.0f}, tint {d_tint:+.0f}", region=edit.region,
                              param="Temperature")

    def _sky(self, plan, sky: Sample, temp, tint, ev) -> None:
        """Recover a bright or clipped sky with a local exposure/highlights edit."""
        light = _lab(simulate(sky.pixels, temp, tint, ev))[:, 0]
        median, clipped = float(np.median(light)), float((light >= HIGHLIGHT_CLIP_L).mean())
        if median <= SKY_MAX_L and clipped < CLIP_MAX_SHARE:
            return
        local = float(np.clip(ev_between(median, SKY_TARGET_L), -MAX_LOCAL_EV, 0.0))
        edit = _edit(plan, "sky", sky.confidence)
        edit.values["Exposure2012"] = round(local, 2)
        edit.values["Highlights2012"] = -round(min(70.0, 25 + 300 * clipped))
        edit.values["Saturation"] = 8
        plan.add_note("predictor", f"sky clipped on {clipped * 100:.0f} % of its pixels (median L* {median:.0f}): "
                                   f"sky {local:+.2f} EV, highlights {edit.values['Highlights2012']}",
                      region="sky", param="Highlights2012")

    def _background(self, plan, faces: Sample, background: Sample, temp, tint, ev) -> None:
        """Calm a background that outshines the people (human-region priority)."""
        if background.share < 0.15:
            return
        subject_ev = next((e.values.get("Exposure2012", 0.0) for e in plan.regions if e.region == "subject"), 0.0)
        face_l = float(np.median(_lab(simulate(faces.pixels, temp, tint, ev + subject_ev))[:, 0]))
        back_l = float(np.median(_lab(simulate(background.pixels, temp, tint, ev))[:, 0]))
        gap = back_l - face_l
        if gap > BACKGROUND_GAP_L:
            local = -round(min(0.5, 0.015 * gap), 2)
            edit = _edit(plan, "background", background.confidence)
            edit.values["Exposure2012"] = local
            edit.values["Clarity2012"] = -10
            plan.add_note("predictor", f"background L* {back_l:.0f} outshines the faces (L* {face_l:.0f}): "
                                       f"background {local:+.2f} EV, clarity -10", region="background",
                          param="Exposure2012")


def skin_colour(pixels: np.ndarray) -> tuple[float, float, float]:
    """Median a*, b* of skin pixels and their hue angle (degrees)."""
    lab = _lab(pixels)
    a, b = float(np.median(lab[:, 1])), float(np.median(lab[:, 2]))
    return a, b, math.degrees(math.atan2(b, a))


def grey_tones(lab: np.ndarray) -> np.ndarray:
    """Which pixels (CIELAB rows) are near grey and well exposed: the ones that may be grey in reality."""
    return (np.hypot(lab[:, 1], lab[:, 2]) < GREY_MAX_CHROMA) & (lab[:, 0] > 15) & (lab[:, 0] < 95)


def _set_white_balance(plan: RetouchPlan, temp: int, tint: int, why: str) -> tuple[float, float]:
    """Write a relative white balance with its reason; moves under 3 units each are not worth an edit."""
    if abs(temp) < 3 and abs(tint) < 3:
        return 0.0, 0.0
    plan.global_["IncrementalTemperature"] = temp
    plan.global_["IncrementalTint"] = tint
    plan.add_note("predictor", f"{why}: temperature {temp:+d}, tint {tint:+d}", param="IncrementalTemperature")
    return float(temp), float(tint)


def _to_band(value: float, band: tuple[float, float]) -> float:
    """Exposure (EV) that brings an L* value to the nearest edge of a band; 0 inside it."""
    low, high = band
    if value < low:
        return ev_between(value, low)
    if value > high:
        return ev_between(value, high)
    return 0.0


def _edit(plan: RetouchPlan, region: str, confidence: float) -> RegionEdit:
    """Our edit for a region (created once); uncertain regions are damped through the amount."""
    for edit in plan.regions:
        if edit.region == region:
            return edit
    edit = RegionEdit(region=region, values={}, amount=round(float(np.clip(confidence, 0.3, 1.0)), 2),
                      confidence=round(float(confidence), 2))
    plan.regions.append(edit)
    return edit


_DEFAULT = Predictor()


def predict(analysis, *, is_raw: bool = False) -> RetouchPlan:
    """The automatic plan for an analysed photo."""
    return _DEFAULT.predict(analysis, is_raw=is_raw)
