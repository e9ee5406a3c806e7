"""Several good candidates for one photo (DiffRetouch's diversity): the predicted plan and a few styles on top.

Each variant is the predicted plan plus a small attribute recipe (brightness, contrast, colourfulness,
temperature in [-1, 1], applied with `apply_attributes`), rendered to a small preview with our renderer. Variants
must be distinct (pairwise mean ΔE76 between previews above MIN_DISTINCT_DE; a recipe that lands too close to an
earlier one is pushed further once, then dropped) and sane (no blown highlights beyond the natural plan's plus a
small margin; a recipe that clips is softened).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from ..core.plan import RetouchPlan
from .attributes import apply_attributes

PREVIEW_EDGE = 256
MIN_DISTINCT_DE = 3.0
CLIP_MARGIN = 0.02  # share of the frame that may newly read as blown (L* >= 98)
CLIP_L = 98.0

# name -> (description, {target: {attribute: value}})
RECIPES: dict[str, tuple[str, dict[str, dict[str, float]]]] = {
    "natural": ("the predicted retouch as it is", {}),
    "bright_airy": ("bright and airy: lighter, softer contrast, gentle colour",
                    {"global": {"brightness": 0.35, "contrast": -0.2, "colourfulness": -0.1, "temperature": 0.05}}),
    "warm": ("warm: golden tones, a little more colour",
             {"global": {"temperature": 0.5, "colourfulness": 0.15}}),
    "moody": ("contrasty and moody: darker, punchier, muted colour",
              {"global": {"brightness": -0.3, "contrast": 0.45, "colourfulness": -0.25}}),
    "clean_cool": ("clean and cool: crisp, slightly cool, clear colour",
                   {"global": {"temperature": -0.45, "contrast": 0.15, "colourfulness": 0.1}}),
}
ORDER = ("natural", "bright_airy", "warm", "moody", "clean_cool")


@dataclass
class Variant:
    name: str
    plan: RetouchPlan
    preview_jpeg_bytes: bytes
    description: str
    preview_linear: np.ndarray | None = None  # the preview before JPEG encoding (linear), for measuring

    def to_dict(self, *, settings: dict) -> dict:
        """JSON form; `settings` is the plan's Lightroom table (made by the emit stage, not here)."""
        import base64
        return {"name": self.name, "description": self.description, "plan": self.plan.to_dict(),
                "settings": settings, "preview": base64.b64encode(self.preview_jpeg_bytes).decode("ascii")}


def _scaled_recipe(recipe: dict[str, dict[str, float]], factor: float) -> dict[str, dict[str, float]]:
    return {t: {k: max(-1.0, min(1.0, v * factor)) for k, v in vals.items()} for t, vals in recipe.items()}


def _jpeg(linear: np.ndarray) -> bytes:
    from PIL import Image

    from ..imaging.encode import to_srgb8
    buffer = io.BytesIO()
    Image.fromarray(to_srgb8(linear)).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _small(analysis) -> np.ndarray:
    from ..imaging.decode import resize_to_edge
    return np.ascontiguousarray(resize_to_edge(np.asarray(analysis.working, np.float32), PREVIEW_EDGE),
                                dtype=np.float32)


def mean_de(lab_a: np.ndarray, lab_b: np.ndarray) -> float:
    return float(np.mean(np.sqrt(((lab_a - lab_b) ** 2).sum(-1))))


def clipped(lab: np.ndarray) -> float:
    return float((lab[..., 0] >= CLIP_L).mean())


def variants(analysis, base_plan: RetouchPlan, *, n: int = 4, is_raw: bool,
             names: tuple[str, ...] = ORDER) -> list[Variant]:
    """3 to 5 distinct, sane candidates: the base plan ("natural") and styles built on it, with previews."""
    from ..develop.renderer import render
    from ..vision.stats import lab_image
    n = max(3, min(5, int(n)))
    small = _small(analysis)

    def develop(plan: RetouchPlan):
        linear = render(small, plan, analysis.masks)
        return linear, lab_image(linear)

    out: list[Variant] = []
    labs: list[np.ndarray] = []
    base_clip = None
    for name in names:
        if len(out) >= n:
            break
        description, recipe = RECIPES[name]
        for attempt, factor in enumerate((1.0, 1.6) if recipe else (1.0,)):
            plan = base_plan.copy()
            if recipe:
                plan = apply_attributes(plan, _scaled_recipe(recipe, factor), is_raw=is_raw, stage="variant")
            linear, lab = develop(plan)
            if base_clip is None:
                base_clip = clipped(lab)
            soften = 1.0
            while clipped(lab) > base_clip + CLIP_MARGIN and soften > 0.3 and recipe:
                soften *= 0.6  # blown highlights: the recipe is softened until they are back
                plan = apply_attributes(base_plan.copy(), _scaled_recipe(recipe, factor * soften), is_raw=is_raw,
                                        stage="variant")
                linear, lab = develop(plan)
            if clipped(lab) > base_clip + CLIP_MARGIN:
                break
            nearest = min((mean_de(lab, other) for other in labs), default=float("inf"))
            if nearest >= MIN_DISTINCT_DE:
                plan.add_note("variant", f"variant '{name}': {description}"
                              + (f" (pushed x{factor:g} to stand apart)" if attempt else "")
                              + (f" (softened x{soften:.2f}: highlights)" if soften < 1.0 else ""))
                plan.provenance["variant"] = name
                out.append(Variant(name, plan, _jpeg(linear), description, linear))
                labs.append(lab)
                break
    return out
