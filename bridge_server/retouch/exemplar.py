""""Match a look": fit a RetouchPlan to an exemplar before/after pair, then apply it to other photos.

MirrorPPR-style exemplar transfer (docs/RESEARCH.md), done with our own vocabulary: the differentiable renderer
develops the "before" with a plan whose global sliders and per-region local sliders are free, and Adam moves
them until the render matches the "after" in CIELAB (mean ΔE76), with a small L1 penalty so that sliders the
pair does not explain stay at 0. Exposure and white balance start from a closed-form estimate (the pair's
per-cone gains, solved in the renderer's own white-balance model), so that large shifts need no long walk; a
fit that still ends far off restarts from the neutral plan. Small values are then dropped, the rest rounded
the way Lightroom shows them and refitted once, so the plan is short and editable. `transfer` applies the
fitted plan to another photo through that photo's OWN regions (its masks, found by vision), dropping region
edits the target lacks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ..core.errors import RetouchError
from ..core.params import GLOBAL_PARAMS, LOCAL_PARAMS
from ..core.plan import RegionEdit, RetouchPlan
from ..core.regions import REGION_BY_KEY
from ..develop import PlanParameters, render
from ..develop.color import MIRED_PER_STEP, REFERENCE_KELVIN, RGB_TO_CONE, TINT_SCALE, cone_gains
from ..imaging.color import REC709_LUMA, delta_e76, rgb_linear_to_lab

STAGE = "exemplar"

# What a pair can teach: global sliders (incremental white balance: the fit works on rendered pixels)...
FIT_GLOBAL: tuple[str, ...] = (
    "Exposure2012", "Contrast2012", "Highlights2012", "Shadows2012", "Whites2012", "Blacks2012",
    "IncrementalTemperature", "IncrementalTint", "Vibrance", "Saturation", "Clarity2012",
)
# ...and per-region local sliders, for the regions present in the pair's masks.
FIT_LOCAL: tuple[str, ...] = ("Exposure2012", "Contrast2012", "Saturation", "Temperature", "Tint")
DEFAULT_REGIONS: tuple[str, ...] = ("subject", "face_skin", "sky", "background")

FIT_EDGE = 256  # the pair is fitted at this long edge (statistics, not detail, carry a look)
MIN_REGION_SHARE = 0.005  # a region covering less of the frame than this is not fitted
# Values below these are dropped ("values that matter"): EV for exposure, slider points for the rest.
DROP_EV = 0.05
DROP_SLIDER = 3.0
LOCAL_PENALTY = 3.0  # L1 weight of a local slider relative to a global one
# The closed-form start reads pixels that neither image clips (every channel below INIT_CLIP) and that are not
# near black (luminance above INIT_DARK, where 8-bit steps and noise dominate the ratio); it needs INIT_MIN of them.
INIT_CLIP = 0.95
INIT_DARK = 0.004
INIT_MIN = 64
INIT_NEUTRAL_SHARE = 0.3  # ...and reads the least saturated 30 % of those
RESTART_DE = 2.0  # a fit ending above this mean ΔE76 is tried again from the neutral plan (the better one wins)


class ExemplarError(RetouchError):
    """The before/after pair cannot be fitted (not the same picture, not images)."""

    code = "exemplar_mismatch"
    http_status = 422


@dataclass
class FitResult:
    """The fitted plan, the loss (mean ΔE76 + penalty) per step, and the mean ΔE76 between the exemplar's
    "after" and the "before" rendered with the final (pruned, rounded) plan, at the fitting size."""

    plan: RetouchPlan
    loss_history: list[float]
    delta_e: float
    baseline_delta_e: float = 0.0  # mean ΔE76 between before and after: how much the pair changed
    steps: int = 0
    converged: bool = False
    size: tuple[int, int] = (0, 0)
    regions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"delta_e": round(self.delta_e, 3), "baseline_delta_e": round(self.baseline_delta_e, 3),
                "steps": self.steps, "converged": self.converged, "size": list(self.size),
                "regions": list(self.regions), "final_loss": round(self.loss_history[-1], 4)
                if self.loss_history else None}


# ---------------------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------------------
def _pixels(image: Any, label: str) -> np.ndarray:
    if hasattr(image, "pixels") and not isinstance(image, (np.ndarray, torch.Tensor)):
        image = image.pixels
    if torch.is_tensor(image):
        image = image.detach().cpu().numpy()
        if image.ndim == 4:
            image = image[0]
        if image.ndim == 3 and image.shape[0] == 3 and image.shape[-1] != 3:
            image = np.moveaxis(image, 0, -1)
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[-1] != 3 or min(arr.shape[:2]) < 8:
        raise ExemplarError(f"the {label} image must be linear RGB of shape (height, width, 3), got "
                            f"{arr.shape}", field=label)
    if not np.issubdtype(arr.dtype, np.floating):
        raise ExemplarError(f"the {label} image must hold linear float pixels, not {arr.dtype}", field=label)
    if not np.isfinite(arr).all():
        raise ExemplarError(f"the {label} image holds NaN or infinite values", field=label)
    return np.ascontiguousarray(np.clip(arr, 0.0, None), dtype=np.float32)


def _resize(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if pixels.shape[:2] == shape:
        return pixels
    import cv2
    shrink = shape[0] < pixels.shape[0]
    return cv2.resize(np.ascontiguousarray(pixels), (shape[1], shape[0]),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def prepare_pair(before: Any, after: Any, size: int = FIT_EDGE) -> tuple[np.ndarray, np.ndarray]:
    """Both images at the fitting size (long edge `size`), the after resized to the before's shape. Different
    sizes are fine; a different picture (aspect ratio off by more than 3 %) is an ExemplarError."""
    b, a = _pixels(before, "before"), _pixels(after, "after")
    rb, ra = b.shape[1] / b.shape[0], a.shape[1] / a.shape[0]
    if abs(math.log(rb / ra)) > 0.03:
        raise ExemplarError(f"the before ({b.shape[1]}x{b.shape[0]}) and after ({a.shape[1]}x{a.shape[0]}) "
                            "do not have the same aspect ratio: an exemplar pair is one photo before and "
                            "after editing (uncropped)", field="after")
    k = min(1.0, size / max(b.shape[:2]))
    shape = (max(8, round(b.shape[0] * k)), max(8, round(b.shape[1] * k)))
    return _resize(b, shape), _resize(a, shape)


WHOLE_FRAME_SHARE = 0.97  # a region this share of the exemplar is fitted as part of the global sliders


def present_regions(masks: Mapping[str, Any] | None, wanted: Sequence[str]) -> list[str]:
    """The wanted regions that the masks hold with real coverage (peak > 0.5, share >= 0.5 %)."""
    out = []
    for key in wanted:
        m = None if masks is None else masks.get(key)
        if m is None or key not in REGION_BY_KEY:
            continue
        arr = np.asarray(m, np.float32)
        if arr.size and float(arr.max()) > 0.5 and float(arr.mean()) >= MIN_REGION_SHARE:
            out.append(key)
    return out


# ---------------------------------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------------------------------
def _scale(name: str) -> float:
    """Normalised units: 1 EV for exposure, 100 slider points for the rest (so one learning rate fits all)."""
    return 1.0 if name == "Exposure2012" else 100.0


def _lab(x: torch.Tensor) -> torch.Tensor:
    return rgb_linear_to_lab(x, axis=1)


class _Fit:
    """Free entries of a PlanParameters vector as one normalised tensor `theta`."""

    def __init__(self, plan: RetouchPlan, free: Sequence[tuple]):
        self.base = PlanParameters.from_plan(plan)
        self.free = [k for k in free if k in self.base._index]
        self.index = torch.tensor([self.base.index(k) for k in self.free], dtype=torch.long)
        names = [k[-1] for k in self.free]
        self.scale = torch.tensor([_scale(n) for n in names], dtype=torch.float32)
        table = [GLOBAL_PARAMS[k[1]] if k[0] == "global" else LOCAL_PARAMS[k[2]] for k in self.free]
        self.lo = torch.tensor([p.lo for p in table], dtype=torch.float32) / self.scale
        self.hi = torch.tensor([p.hi for p in table], dtype=torch.float32) / self.scale
        start = self.base.vector.detach()[self.index] / self.scale
        self.theta = start.clone().requires_grad_(True)
        # local sliders cost more than global ones: a look shared by every region is explained globally
        self.weight = torch.tensor([1.0 if k[0] == "global" else LOCAL_PENALTY for k in self.free])

    def parameters(self, theta: torch.Tensor | None = None) -> PlanParameters:
        theta = self.theta if theta is None else theta
        vector = self.base.vector.detach().index_put((self.index,), theta * self.scale)
        return PlanParameters(self.base.plan, self.base.keys, vector, self.base.absolute_wb, self.base.as_shot)

    def values(self) -> dict[tuple, float]:
        return {k: float(v) for k, v in zip(self.free, (self.theta.detach() * self.scale).tolist())}


def initial_wb_exposure(before: np.ndarray, after: np.ndarray) -> dict[str, float]:
    """Closed-form start for the global Exposure2012, IncrementalTemperature and IncrementalTint of a pair of
    linear (H, W, 3) images of the same size: the median log gain of each Bradford cone from before to after,
    over pixels that neither image clips nor leaves near black (the median shrugs off tone-curve changes and
    local edits), then the three sliders whose gains in the renderer's own model (2^EV times the von Kries
    gains of the assumed light, white keeping its luminance) match those three by Gauss-Newton. Values are
    clamped to the sliders' ranges; {} when too few pixels qualify (a near-black or clipped pair)."""
    b = before.reshape(-1, 3).astype(np.float64)
    a = after.reshape(-1, 3).astype(np.float64)
    luma = np.asarray(REC709_LUMA)
    cb, ca = b @ RGB_TO_CONE.T, a @ RGB_TO_CONE.T
    ok = ((b.max(axis=1) < INIT_CLIP) & (a.max(axis=1) < INIT_CLIP) & (b @ luma > INIT_DARK)
          & (a @ luma > INIT_DARK) & (cb.min(axis=1) > 0) & (ca.min(axis=1) > 0))
    if int(ok.sum()) < INIT_MIN:
        return {}
    # Saturation and Vibrance move colours toward or away from their own grey, not near-greys: the gains are
    # read on the less saturated part of the qualifying pixels (as the before has them)
    sat = 1.0 - b.min(axis=1) / np.maximum(b.max(axis=1), 1e-12)
    ok &= sat <= np.quantile(sat[ok], INIT_NEUTRAL_SHARE)
    target = torch.from_numpy(np.median(np.log(ca[ok]) - np.log(cb[ok]), axis=0))
    ref = torch.tensor(1e6 / REFERENCE_KELVIN, dtype=torch.float64)
    names = ("Exposure2012", "IncrementalTemperature", "IncrementalTint")

    def residual(t: torch.Tensor) -> torch.Tensor:  # t: EV, temperature / 100, tint / 100 (slider units)
        mired, duv = ref - t[1] * (100.0 * MIRED_PER_STEP), t[2] * (100.0 / TINT_SCALE)
        gains = torch.stack(cone_gains(ref, ref * 0.0, mired, duv))
        return gains.log() + t[0] * math.log(2.0) - target

    theta = torch.zeros(3, dtype=torch.float64)
    for _ in range(6):  # three equations, three unknowns, nearly linear: converges in a few steps
        r = residual(theta)
        jac = torch.autograd.functional.jacobian(residual, theta)
        step = torch.linalg.lstsq(jac, -r[:, None]).solution[:, 0]
        if not torch.isfinite(step).all():
            return {}
        theta = theta + step
        if float(step.abs().max()) < 1e-6:
            break
    values = theta * torch.tensor([1.0, 100.0, 100.0], dtype=torch.float64)
    return {n: float(np.clip(float(v), GLOBAL_PARAMS[n].lo, GLOBAL_PARAMS[n].hi)) for n, v in zip(names, values)}


def _optimise(fit: _Fit, x: torch.Tensor, target_lab: torch.Tensor, masks, *, steps: int, lr: float,
              penalty: float, tol: float, patience: int, history: list[float]) -> bool:
    """Adam on fit.theta; returns True when it stopped because the loss no longer improved."""
    if not fit.free or steps <= 0:
        return True
    opt = torch.optim.Adam([fit.theta], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps), eta_min=lr / 10)
    best, since, best_theta = math.inf, 0, fit.theta.detach().clone()
    for _ in range(steps):
        opt.zero_grad()
        out = render(x, fit.parameters(), masks)
        de = delta_e76(_lab(out), target_lab, axis=1).mean()
        loss = de + penalty * (fit.weight * fit.theta.abs()).sum()
        value = float(loss.detach())
        if not math.isfinite(value):
            # not expected (the renderer is finite for finite sliders): back to the best values, smaller steps
            with torch.no_grad():
                fit.theta.copy_(best_theta)
            for group in opt.param_groups:
                group["lr"] *= 0.5
            opt.state.clear()
            since += 1
            if since >= patience:
                break
            continue
        loss.backward()
        grad = fit.theta.grad
        if grad is not None and not torch.isfinite(grad).all():
            # a slider whose gradient is undefined here sits this step out; the others go on (the renderer's
            # backward is finite at black and white, so this is a guard, not a path the fit relies on)
            grad.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
        history.append(value)
        if value < best:
            best_theta = fit.theta.detach().clone()
        if value < best * (1.0 - tol):
            best, since = value, 0
        else:
            best = min(best, value)
            since += 1
            if since >= patience:
                break
        opt.step()
        sched.step()
        with torch.no_grad():
            fit.theta.copy_(torch.maximum(torch.minimum(fit.theta, fit.hi), fit.lo))  # the table's ranges
    with torch.no_grad():
        fit.theta.copy_(best_theta)  # the best values seen (the loss of the last step is not always lowest)
    return since >= patience


def _rounded(name: str, value: float, local: bool) -> float | None:
    """Lightroom's display rounding; None when the value is too small to matter."""
    if name == "Exposure2012":
        v = round(value, 2)
        return v if abs(v) >= DROP_EV else None
    v = float(round(value))
    return v if abs(v) >= DROP_SLIDER else None


def _plan_from(values: Mapping[tuple, float], regions: Sequence[str]) -> tuple[RetouchPlan, list[tuple]]:
    """A plan holding the values that matter (rounded), and the keys kept (for the refit)."""
    glob: dict[str, float] = {}
    local: dict[int, dict[str, float]] = {}
    kept: list[tuple] = []
    for key, value in values.items():
        if key[0] == "global":
            v = _rounded(key[1], value, False)
            if v is not None:
                glob[key[1]] = v
                kept.append(key)
        elif key[0] == "local":
            v = _rounded(key[2], value, True)
            if v is not None:
                local.setdefault(key[1], {})[key[2]] = v
                kept.append(key)
    edits = [RegionEdit(region=regions[i], values=vals) for i, vals in sorted(local.items())]
    return RetouchPlan.build(glob, edits), kept


def fit_plan(before_linear: Any, after_linear: Any, masks: Mapping[str, Any] | None = None, *,
             regions: Sequence[str] = DEFAULT_REGIONS, steps: int = 150, size: int = FIT_EDGE,
             lr: float = 0.02, penalty: float = 0.05, refine_steps: int | None = None, tol: float = 2e-3,
             patience: int = 15) -> FitResult:
    """Fit a RetouchPlan so that render(before, plan, masks) ≈ after.

    before_linear/after_linear: linear Rec.709 float (H, W, 3) arrays (or DecodedImages); the after is resized
    to the before (the same photo, any size). masks: region key -> (H', W') array 0..1 for the before, any
    resolution. Global sliders FIT_GLOBAL and, for each of `regions` present in the masks, the local sliders
    FIT_LOCAL are fitted with Adam (mean ΔE76 in CIELAB + `penalty` x L1 of the sliders in normalised units:
    EV, or slider/100), clamped to the table's ranges, at long edge `size`, stopping early once the loss
    improves by less than `tol` (relative) for `patience` steps. The global exposure and white balance start
    at `initial_wb_exposure` (the rest at 0); if that fit ends above RESTART_DE mean ΔE76 it is run again from
    the neutral plan and the better one kept. Values that do not matter (|exposure| < 0.05 EV, other sliders
    < 3) are dropped, the rest rounded like Lightroom and refitted (`refine_steps`, default steps // 3) and
    rounded again. Black pixels need no special care: the renderer's gradients are finite at 0.
    """
    b, a = prepare_pair(before_linear, after_linear, size)
    a = np.clip(a, 0.0, 1.0)
    x = torch.from_numpy(b).permute(2, 0, 1)[None].contiguous()
    target_lab = _lab(torch.from_numpy(a).permute(2, 0, 1)[None])
    # A region covering (nearly) the whole exemplar is the same as the global sliders there; fitted apart it
    # would take part of the global look and hand it, on transfer, only to the target's region.
    keys = [k for k in present_regions(masks, regions) if float(np.mean(masks[k])) < WHOLE_FRAME_SHARE]
    use_masks = {k: np.asarray(masks[k], np.float32) for k in keys} if keys else None
    free = [("global", n) for n in FIT_GLOBAL] + [("local", i, n) for i in range(len(keys)) for n in FIT_LOCAL]

    def attempt(start_values: Mapping[str, float]) -> tuple[_Fit, bool, list[float], float]:
        start = RetouchPlan.build({n: float(start_values.get(n, 0.0)) for n in FIT_GLOBAL},
                                  [RegionEdit(region=k, values={n: 0.0 for n in FIT_LOCAL}) for k in keys])
        fit, trace = _Fit(start, free), []
        stopped = _optimise(fit, x, target_lab, use_masks, steps=steps, lr=lr, penalty=penalty, tol=tol,
                            patience=patience, history=trace)
        with torch.no_grad():
            de = float(delta_e76(_lab(render(x, fit.parameters(), use_masks)), target_lab, axis=1).mean())
        return fit, stopped, trace, de if math.isfinite(de) else math.inf

    # exposure and white balance start where the pair's per-cone gains put them; a fit that still ends far
    # off (a local minimum the estimate led into) is tried once more from the neutral plan
    init = initial_wb_exposure(b, a)
    fit, converged, history, de = attempt(init)
    total = len(history)
    if de > RESTART_DE and init:
        other = attempt({})
        total += len(other[2])
        if other[3] < de:
            fit, converged, history, de = other
    plan, kept = _plan_from(fit.values(), keys)

    # refit the values that matter, with the dropped ones held at 0 (they no longer absorb any of the look)
    refine = steps // 3 if refine_steps is None else refine_steps
    if kept and refine > 0:
        values = fit.values()
        seed = RetouchPlan.build({n: values[("global", n)] for n in FIT_GLOBAL if ("global", n) in kept},
                                 [RegionEdit(region=k, values={n: values[("local", i, n)] for n in FIT_LOCAL
                                                                if ("local", i, n) in kept})
                                  for i, k in enumerate(keys)])
        # the seed plan keeps every region edit (possibly empty) so the local keys keep their indices
        refit = _Fit(seed, kept)
        before_refine = len(history)
        _optimise(refit, x, target_lab, use_masks, steps=refine, lr=lr / 3, penalty=penalty, tol=tol,
                  patience=patience, history=history)
        total += len(history) - before_refine
        refined = refit.values()
        plan, _ = _plan_from({**{k: 0.0 for k in free}, **refined}, keys)

    with torch.no_grad():
        out = render(x, plan, use_masks)
        final = float(delta_e76(_lab(out), target_lab, axis=1).mean())
        baseline = float(delta_e76(_lab(x.clamp(0, 1)), target_lab, axis=1).mean())
    plan.provenance[STAGE] = {"fit_delta_e": round(final, 3), "baseline_delta_e": round(baseline, 3),
                              "regions_fitted": keys, "steps": total}
    return FitResult(plan=plan, loss_history=history, delta_e=final, baseline_delta_e=baseline,
                     steps=total, converged=converged, size=tuple(b.shape[:2]), regions=keys)


# ---------------------------------------------------------------------------------------------------------
# transfer
# ---------------------------------------------------------------------------------------------------------
def transfer(plan: RetouchPlan, target_analysis: Any = None, *, exemplar: Mapping[str, Any] | None = None,
             is_raw: bool = False) -> RetouchPlan:
    """The fitted plan for another photo: globals as fitted; each region edit through the target's OWN region
    (its mask, found by vision and recomputed by Lightroom), dropped with a note when the target lacks that
    region. `target_analysis`: an Analysis (or anything with `.masks`, or a masks dict); None keeps every
    edit. Provenance gets {"exemplar": ...}; notes say what was matched."""
    out = plan.copy()
    masks = getattr(target_analysis, "masks", target_analysis)
    kept: list[RegionEdit] = []
    for edit in out.regions:
        if masks is not None and REGION_BY_KEY[edit.region].kind == "ai" and not present_regions(
                masks, [edit.region]):
            out.add_note(STAGE, f"the exemplar's {edit.region} edit is left out: this photo has no "
                                f"{edit.region.replace('_', ' ')}", region=edit.region)
            continue
        kept.append(edit)
    out.regions = kept
    if is_raw and any(k in out.global_ for k in ("IncrementalTemperature", "IncrementalTint")):
        moved = {k: out.global_.pop(k) for k in ("IncrementalTemperature", "IncrementalTint") if k in out.global_}
        out.add_note(STAGE, "the exemplar's white-balance shift (" + ", ".join(f"{k} {v:+g}" for k, v in
                     moved.items()) + ") is left out: it is relative to a rendered file and this photo is raw")
    glob = ", ".join(f"{k} {v:+g}" for k, v in out.changed_globals().items())
    local = "; ".join(f"{e.region}: " + ", ".join(f"{k} {v:+g}" for k, v in e.values.items())
                      for e in out.regions)
    out.add_note(STAGE, "matched the exemplar's look" + (f" (global {glob})" if glob else "")
                 + (f"; per region, through this photo's own masks: {local}" if local else ""))
    prov = dict(out.provenance.get(STAGE) or {})
    prov.update(dict(exemplar or {}))
    out.provenance[STAGE] = prov
    return out.validate()


__all__ = ["ExemplarError", "FitResult", "fit_plan", "initial_wb_exposure", "transfer", "prepare_pair",
           "present_regions", "FIT_GLOBAL", "FIT_LOCAL", "DEFAULT_REGIONS"]
