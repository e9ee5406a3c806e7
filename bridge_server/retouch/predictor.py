"""The automatic predictor: a deterministic, explainable per-region `RetouchPlan` from an analysis.

Human-region priority: people are exposed and coloured first; the rest of the frame gets its own, gentler
correction; local edits carry the difference. Every decision adds a note saying why. Measured targets are
documented constants; each slider value is found by measuring our own renderer's response on the working image
(a few small renders), so the plan means the same in Lightroom units whatever the photo.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.plan import RegionEdit, RetouchPlan
from ..imaging.color import rgb_linear_to_lab

PREDICTOR_VERSION = "auto-1.0"

# Targets, in CIELAB L* (D65, sRGB) unless stated. Skin of well-exposed portraits sits around L* 60-70;
# a frame without people is keyed to a mid-grey median; a clear sky reads around L* 75-85.
FACE_TARGET_L = 64.0
FACE_DEADBAND_EV = 0.12
SCENE_TARGET_L = 50.0
SCENE_DAMPING = 0.6  # scenes may be low or high key on purpose: move them only part of the way
SKY_MAX_L = 86.0
SKY_TARGET_L = 80.0
SKIN_HUE_DEG = 56.0  # typical hue angle of skin in a*b*
SKIN_HUE_TOLERANCE = 8.0
MAX_GLOBAL_EV = 1.5
MAX_LOCAL_EV = 1.5
HIGHLIGHT_CLIP_L = 98.0
MIN_REGION_SHARE = 0.004  # regions smaller than this share of the frame get no edit


@dataclass
class RegionMeasure:
    """What the predictor needs to know of one region (L* percentiles, mean Lab, share)."""

    share: float
    l_median: float
    l_p99: float
    l_p01: float
    lab: tuple[float, float, float]
    clipped: float
    confidence: float


def measure(lab: np.ndarray, mask: np.ndarray | None, confidence: float = 1.0) -> RegionMeasure | None:
    """Weighted statistics of a region of an L*a*b* image, or None if the region is (almost) empty."""
    if mask is None:
        weights = np.ones(lab.shape[:2], np.float32)
    else:
        weights = np.clip(mask.astype(np.float32), 0, 1)
    share = float(weights.mean())
    if share < MIN_REGION_SHARE:
        return None
    sel = weights > 0.5
    if sel.sum() < 16:
        sel = weights > weights.max() * 0.5
    light = lab[..., 0][sel]
    mean = [float((lab[..., c] * weights).sum() / weights.sum()) for c in range(3)]
    p01, p50, p99 = np.percentile(light, [1, 50, 99])
    return RegionMeasure(share, float(p50), float(p99), float(p01), (mean[0], mean[1], mean[2]),
                         float((light >= HIGHLIGHT_CLIP_L).mean()), confidence)


def _patch(image: np.ndarray, select: np.ndarray, side: int = 48) -> np.ndarray:
    """Selected pixels laid out as a small square image (repeated to fill it), for quick trial renders."""
    pixels = image[select]
    if len(pixels) == 0:
        pixels = image.reshape(-1, 3)
    step = max(1, len(pixels) // (side * side))
    picked = pixels[::step][: side * side]
    reps = int(np.ceil(side * side / len(picked)))
    return np.ascontiguousarray(np.tile(picked, (reps, 1))[: side * side].reshape(side, side, 3), dtype=np.float32)


def _lab(linear: np.ndarray) -> np.ndarray:
    return np.asarray(rgb_linear_to_lab(np.clip(linear, 0, 1)), dtype=np.float32)


def _ev_between(l_from: float, l_to: float) -> float:
    """Exposure (EV) that moves a tone from L* l_from to L* l_to, in linear light."""
    def y(l_star: float) -> float:
        l_star = min(max(l_star, 1.0), 100.0)
        return ((l_star + 16) / 116) ** 3 if l_star > 8 else l_star / 903.3
    return math.log2(y(l_to) / y(l_from))


class Predictor:
    """Propose a plan for one analysed photo; `render` is our renderer (pixels, plan, masks) -> pixels."""

    def __init__(self, render_fn=None, *, working_edge: int = 384):
        if render_fn is None:
            from ..develop import render as render_fn
        self.render = render_fn
        self.working_edge = working_edge

    def predict(self, analysis, *, is_raw: bool = False) -> RetouchPlan:
        image, masks = self._small(analysis)
        conf = dict(getattr(analysis, "confidence", {}) or {})
        plan = RetouchPlan(provenance={"predictor": PREDICTOR_VERSION})
        for note in getattr(analysis, "fallbacks", []) or []:
            plan.add_note("vision", f"fallback: {note}")
        lab = _lab(image)
        faces = measure(lab, masks.get("face_skin"), conf.get("face_skin", 1.0))
        subject = measure(lab, masks.get("subject"), conf.get("subject", 1.0))
        background = measure(lab, masks.get("background"), conf.get("background", 1.0))
        sky = measure(lab, masks.get("sky"), conf.get("sky", 1.0))
        whole = measure(lab, None)

        self._white_balance(plan, image, masks, lab, faces, is_raw)
        lab = _lab(self.render(image, plan, masks))
        faces = measure(lab, masks.get("face_skin"), conf.get("face_skin", 1.0)) if faces else None
        background = measure(lab, masks.get("background"), conf.get("background", 1.0)) if background else None
        whole = measure(lab, None)
        self._exposure(plan, faces, subject, background, whole)
        self._tone(plan, image, masks)
        self._skin(plan, image, masks, conf)
        self._sky(plan, image, masks, sky)
        self._background(plan, image, masks, faces, background)
        self._presence(plan, _lab(self.render(image, plan, masks)))
        return plan.validate()

    # -- working image --------------------------------------------------------------------------------------
    def _small(self, analysis) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The analysis working image and masks at a small size: the plan is decided there, quickly."""
        import cv2
        image = np.asarray(analysis.working, dtype=np.float32)
        h, w = image.shape[:2]
        scale = min(1.0, self.working_edge / max(h, w))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        if scale < 1.0:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        masks = {k: cv2.resize(np.asarray(m, np.float32), size, interpolation=cv2.INTER_AREA) if scale < 1.0
                 else np.asarray(m, np.float32) for k, m in analysis.masks.items()}
        return np.ascontiguousarray(image), masks

    # -- global decisions -----------------------------------------------------------------------------------
    def _white_balance(self, plan, image, masks, lab, faces, is_raw) -> None:
        """Neutralise a colour cast: grey-world on near-neutral pixels, checked against skin when present."""
        exclude = np.zeros(image.shape[:2], np.float32)
        for key in ("face_skin", "body_skin", "sky"):
            if key in masks:
                exclude = np.maximum(exclude, masks[key])
        chroma = np.hypot(lab[..., 1], lab[..., 2])
        candidates = (exclude < 0.3) & (lab[..., 0] > 15) & (lab[..., 0] < 95) & (chroma < 30)
        if candidates.sum() < 200:
            return
        cast_a = float(np.median(lab[..., 1][candidates]))
        cast_b = float(np.median(lab[..., 2][candidates]))
        if faces is not None:
            # Skin has a known hue; its a*/b* balance tells a warm light from a warm cast.
            hue = math.degrees(math.atan2(faces.lab[2], faces.lab[1]))
            if abs(hue - SKIN_HUE_DEG) < SKIN_HUE_TOLERANCE:
                cast_b *= 0.5
        if math.hypot(cast_a, cast_b) < 2.0:
            return
        temp_key, tint_key = ("Temperature", "Tint") if is_raw else ("IncrementalTemperature", "IncrementalTint")
        temp, tint = self._solve_wb(image, masks, candidates, plan, temp_key, tint_key)
        temp, tint = 0.8 * temp, 0.8 * tint  # leave a little of the light's character
        if abs(temp) < 2 and abs(tint) < 2:
            return
        plan.global_[temp_key] = round(temp)
        plan.global_[tint_key] = round(tint)
        plan.add_note("predictor", f"colour cast a* {cast_a:+.1f}, b* {cast_b:+.1f} on neutral tones: "
                                   f"white balance {temp:+.0f} / tint {tint:+.0f}", param=temp_key)

    def _solve_wb(self, image, masks, candidates, plan, temp_key, tint_key) -> tuple[float, float]:
        """Find the temperature/tint that make the near-neutral pixels neutral, by measuring our renderer."""
        patch = _patch(image, candidates)
        if temp_key == "Temperature":
            return 0.0, 0.0  # raw files: absolute Kelvin needs the as-shot value; left to Lightroom's As Shot

        def cast(temp: float, tint: float) -> tuple[float, float]:
            trial = plan.copy()
            trial.global_[temp_key] = temp
            trial.global_[tint_key] = tint
            out = _lab(self.render(patch, trial, {}))
            return float(np.median(out[..., 1])), float(np.median(out[..., 2]))

        temp = tint = 0.0
        for _ in range(4):  # Newton steps on a 2x2 Jacobian measured by finite differences
            a0, b0 = cast(temp, tint)
            if math.hypot(a0, b0) < 0.5:
                break
            a1, b1 = cast(temp + 5, tint)
            a2, b2 = cast(temp, tint + 5)
            jac = np.array([[(a1 - a0) / 5, (a2 - a0) / 5], [(b1 - b0) / 5, (b2 - b0) / 5]])
            try:
                step = np.linalg.solve(jac, [-a0, -b0])
            except np.linalg.LinAlgError:
                break
            temp = float(np.clip(temp + step[0], -100, 100))
            tint = float(np.clip(tint + step[1], -100, 100))
        return temp, tint

    def _exposure(self, plan, faces, subject, background, whole) -> None:
        """Bring faces to the target (human priority); the rest of the frame gets a damped scene exposure."""
        scene_ev = SCENE_DAMPING * _ev_between(whole.l_median, SCENE_TARGET_L)
        if background is not None and background.share > 0.2:
            scene_ev = SCENE_DAMPING * _ev_between(background.l_median, SCENE_TARGET_L)
        headroom = _ev_between(max(whole.l_p99, 1.0), HIGHLIGHT_CLIP_L + 1.5)
        if faces is None:
            ev = float(np.clip(scene_ev, -MAX_GLOBAL_EV, MAX_GLOBAL_EV))
            ev = min(ev, max(headroom, 0.0)) if ev > 0 else ev
            if abs(ev) >= FACE_DEADBAND_EV:
                plan.global_["Exposure2012"] = round(ev, 2)
                plan.add_note("predictor", f"scene median L* {whole.l_median:.0f} vs {SCENE_TARGET_L:.0f}: "
                                           f"exposure {ev:+.2f} EV", param="Exposure2012")
            return
        face_ev = float(np.clip(_ev_between(faces.l_median, FACE_TARGET_L), -MAX_GLOBAL_EV - MAX_LOCAL_EV,
                                MAX_GLOBAL_EV + MAX_LOCAL_EV))
        # People weigh more the more of the frame they fill; the rest of the frame pulls toward its own key.
        people_weight = float(np.clip(0.55 + 2.0 * (subject.share if subject else 0.0), 0.55, 0.9))
        global_ev = people_weight * face_ev + (1 - people_weight) * scene_ev
        if global_ev > 0:
            global_ev = min(global_ev, max(headroom, 0.0) + 0.15)
        global_ev = float(np.clip(global_ev, -MAX_GLOBAL_EV, MAX_GLOBAL_EV))
        if abs(global_ev) >= FACE_DEADBAND_EV:
            plan.global_["Exposure2012"] = round(global_ev, 2)
            plan.add_note("predictor", f"faces {abs(face_ev):.1f} EV {'under' if face_ev > 0 else 'over'} target "
                                       f"(L* {faces.l_median:.0f} vs {FACE_TARGET_L:.0f}): exposure "
                                       f"{global_ev:+.2f} EV", param="Exposure2012")
        else:
            global_ev = 0.0
        rest = face_ev - global_ev
        if abs(rest) >= 0.2 and subject is not None:
            local = float(np.clip(rest * min(1.0, subject.confidence), -MAX_LOCAL_EV, MAX_LOCAL_EV))
            edit = _edit(plan, "subject", subject.confidence)
            edit.values["Exposure2012"] = round(local, 2)
            if local > 0:
                edit.values["Shadows2012"] = round(min(30.0, 20 * local))
            why = "backlit subject lifted" if local > 0 else "subject brighter than the scene: held back"
            plan.add_note("predictor", f"{why}: people {local:+.2f} EV on top of the global exposure",
                          region="subject", param="Exposure2012")

    def _tone(self, plan, image, masks) -> None:
        """Highlights, shadows, whites, blacks and contrast from the histogram after exposure."""
        lab = _lab(self.render(image, plan, masks))
        light = lab[..., 0]
        p005, p05, p50, p95, p995 = np.percentile(light, [0.5, 5, 50, 95, 99.5])
        clipped = float((light >= HIGHLIGHT_CLIP_L).mean())
        deep = float((light <= 12).mean())
        if clipped > 0.01 or p95 > 92:
            value = -round(min(70.0, 15 + 1200 * clipped + 3 * max(0.0, p95 - 90)))
            plan.global_["Highlights2012"] = value
            plan.add_note("predictor", f"{clipped * 100:.1f} % of pixels near clipping: highlights {value}",
                          param="Highlights2012")
        if deep > 0.08 or p05 < 8:
            value = round(min(50.0, 10 + 150 * deep))
            plan.global_["Shadows2012"] = value
            plan.add_note("predictor", f"{deep * 100:.0f} % of pixels in deep shadow: shadows +{value}",
                          param="Shadows2012")
        if p995 < 90:
            value = round(min(40.0, 1.5 * (95 - p995)))
            plan.global_["Whites2012"] = value
            plan.add_note("predictor", f"brightest tones reach only L* {p995:.0f}: whites +{value}",
                          param="Whites2012")
        if p005 > 8:
            value = -round(min(30.0, 1.5 * (p005 - 3)))
            plan.global_["Blacks2012"] = value
            plan.add_note("predictor", f"darkest tones at L* {p005:.0f} look washed out: blacks {value}",
                          param="Blacks2012")
        spread = float(np.std(light))
        if spread < 18 and 20 < p50 < 80:
            value = round(min(35.0, 2.0 * (22 - spread)))
            plan.global_["Contrast2012"] = value
            plan.add_note("predictor", f"flat tones (L* spread {spread:.0f}): contrast +{value}", param="Contrast2012")

    def _presence(self, plan, lab) -> None:
        """A little vibrance for muted photos (vibrance protects skin and saturated colours)."""
        chroma = float(np.median(np.hypot(lab[..., 1], lab[..., 2])))
        if chroma < 12:
            value = round(min(25.0, 2.0 * (14 - chroma)))
            plan.global_["Vibrance"] = value
            plan.add_note("predictor", f"muted colours (median chroma {chroma:.0f}): vibrance +{value}",
                          param="Vibrance")

    # -- regions --------------------------------------------------------------------------------------------
    def _skin(self, plan, image, masks, conf) -> None:
        """Correct a colour cast that sits on skin only, with a local temperature/tint edit."""
        mask = masks.get("face_skin")
        if mask is None or mask.mean() < MIN_REGION_SHARE / 4:
            return
        lab = _lab(self.render(image, plan, masks))
        skin = measure(lab, mask)
        if skin is None:
            return
        hue = math.degrees(math.atan2(skin.lab[2], skin.lab[1]))
        if abs(hue - SKIN_HUE_DEG) <= SKIN_HUE_TOLERANCE:
            return
        sel = mask > 0.5
        patch = _patch(image, sel)
        ones = {"face_skin": np.ones(patch.shape[:2], np.float32), "body_skin": np.ones(patch.shape[:2], np.float32)}
        chroma = max(math.hypot(skin.lab[1], skin.lab[2]), 12.0)
        target = (chroma * math.cos(math.radians(SKIN_HUE_DEG)), chroma * math.sin(math.radians(SKIN_HUE_DEG)))

        def skin_ab(temp: float, tint: float) -> np.ndarray:
            trial = plan.copy()
            trial.regions.append(RegionEdit("face_skin", {"Temperature": temp, "Tint": tint}))
            out = _lab(self.render(patch, trial, ones))
            return np.array([out[..., 1].mean(), out[..., 2].mean()])

        temp = tint = 0.0
        for _ in range(3):
            ab = skin_ab(temp, tint)
            err = np.array(target) - ab
            if np.hypot(*err) < 1.0:
                break
            d_temp = (skin_ab(temp + 10, tint) - ab) / 10
            d_tint = (skin_ab(temp, tint + 10) - ab) / 10
            try:
                step = np.linalg.solve(np.stack([d_temp, d_tint], axis=1), err)
            except np.linalg.LinAlgError:
                break
            temp, tint = float(np.clip(temp + step[0], -60, 60)), float(np.clip(tint + step[1], -60, 60))
        confidence = conf.get("face_skin", 1.0)
        temp, tint = temp * confidence, tint * confidence
        if abs(temp) < 3 and abs(tint) < 3:
            return
        for key in ("face_skin", "body_skin"):
            if key in masks and masks[key].mean() >= MIN_REGION_SHARE / 4:
                edit = _edit(plan, key, confidence)
                edit.values["Temperature"] = round(temp)
                edit.values["Tint"] = round(tint)
        plan.add_note("predictor", f"skin hue {hue:.0f}° vs {SKIN_HUE_DEG:.0f}° expected: skin temperature "
                                   f"{temp:+.0f}, tint {tint:+.0f}", region="face_skin", param="Temperature")

    def _sky(self, plan, image, masks, sky_before) -> None:
        """Recover a bright or clipped sky with a local exposure/highlights edit."""
        mask = masks.get("sky")
        if mask is None or sky_before is None or sky_before.share < 0.02:
            return
        lab = _lab(self.render(image, plan, masks))
        sky = measure(lab, mask)
        if sky is None or (sky.l_median <= SKY_MAX_L and sky.clipped < 0.02):
            return
        ev = float(np.clip(_ev_between(sky.l_median, SKY_TARGET_L), -MAX_LOCAL_EV, 0.0)) * sky.confidence
        edit = _edit(plan, "sky", sky_before.confidence)
        edit.values["Exposure2012"] = round(ev, 2)
        edit.values["Highlights2012"] = -round(min(80.0, 30 + 400 * sky.clipped))
        edit.values["Saturation"] = 10
        plan.add_note("predictor", f"sky clipped on {sky.clipped * 100:.0f} % of its pixels (median L* "
                                   f"{sky.l_median:.0f}): sky {ev:+.2f} EV, highlights "
                                   f"{edit.values['Highlights2012']}", region="sky", param="Highlights2012")

    def _background(self, plan, image, masks, faces, background) -> None:
        """Calm a background that outshines the people (human-region priority)."""
        if faces is None or background is None or background.share < 0.15:
            return
        lab = _lab(self.render(image, plan, masks))
        face = measure(lab, masks.get("face_skin"))
        back = measure(lab, masks.get("background"))
        if face is None or back is None:
            return
        gap = back.l_median - face.l_median
        if gap > 8:
            ev = -round(min(0.5, 0.02 * gap), 2)
            edit = _edit(plan, "background", background.confidence)
            edit.values["Exposure2012"] = ev
            edit.values["Clarity2012"] = -10
            plan.add_note("predictor", f"background L* {back.l_median:.0f} outshines the faces (L* "
                                       f"{face.l_median:.0f}): background {ev:+.2f} EV, clarity -10",
                          region="background", param="Exposure2012")


def _edit(plan: RetouchPlan, region: str, confidence: float) -> RegionEdit:
    """Our edit for a region (created once); uncertain regions are damped through the amount."""
    for edit in plan.regions:
        if edit.region == region:
            return edit
    edit = RegionEdit(region=region, values={}, amount=round(float(np.clip(confidence, 0.3, 1.0)), 2),
                      name=None, confidence=round(float(confidence), 2))
    plan.regions.append(edit)
    return edit


_DEFAULT: Predictor | None = None


def predict(analysis, *, is_raw: bool = False) -> RetouchPlan:
    """The automatic plan for an analysed photo (module-level convenience over one shared Predictor)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Predictor()
    return _DEFAULT.predict(analysis, is_raw=is_raw)
