"""The scene descriptor: a fixed-length vector (the key of the style memory) plus readable tags."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# Each slot is normalised to about 0..1 so that distances between scenes weigh the slots alike.
SLOTS = (
    "indoor",          # 0: 1 indoor, 0 outdoor (cues: sky, flash, light colour)
    "light_level",     # 1: median L* / 100
    "key",             # 2: mean L* / 100 (low key .. high key)
    "colour_temp",     # 3: estimated light colour, 2500 K -> 0 .. 10000 K -> 1
    "flash",           # 4: flash likely (faces much brighter than the rest)
    "faces",           # 5: number of faces / 8, capped at 1
    "face_size",       # 6: sqrt of the largest face's share of the frame x 3, capped at 1
    "sky",             # 7: sky share x 2, capped at 1
    "portrait",        # 8: one or two people, large in the frame
    "group",           # 9: three or more people
    "landscape",       # 10: no people, outdoor
    "contrast",        # 11: std of L* / 40
    "colourfulness",   # 12: mean chroma / 40
    "people_share",    # 13: share of the frame covered by people
    "golden_hour",     # 14: warm, low light outdoors
    "busy_background", # 15: fine detail in the background
)
DIM = len(SLOTS)


@dataclass
class SceneDescriptor:
    vector: list[float]
    tags: list[str] = field(default_factory=list)
    cct: float | None = None

    def to_dict(self) -> dict:
        return {"vector": [round(v, 4) for v in self.vector], "slots": list(SLOTS), "tags": list(self.tags),
                "cct": None if self.cct is None else round(self.cct)}


def estimate_cct(linear: np.ndarray) -> float | None:
    """Correlated colour temperature of the light, from the mean of near-neutral bright pixels (McCamy)."""
    from ..imaging.color import rgb_to_xyz
    flat = np.asarray(linear)[::2, ::2].reshape(-1, 3)  # every fourth pixel: plenty for a mean colour
    lum = flat @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    chroma = flat.max(axis=1) - flat.min(axis=1)
    pick = (lum > np.percentile(lum, 50)) & (lum < 0.95) & (chroma < 0.35 * np.maximum(lum, 1e-4) + 0.02)
    if pick.sum() < 100:
        pick = (lum > np.percentile(lum, 50)) & (lum < 0.95)
    if pick.sum() < 10:
        return None
    xyz = np.asarray(rgb_to_xyz(flat[pick].mean(axis=0)))
    total = float(xyz.sum())
    if total <= 0:
        return None
    x, y = xyz[0] / total, xyz[1] / total
    n = (x - 0.3320) / (0.1858 - y)
    cct = 449.0 * n ** 3 + 3525.0 * n ** 2 + 6823.3 * n + 5520.33
    return float(np.clip(cct, 1500.0, 20000.0))


def describe_scene(*, stats: dict, faces: list, masks: dict[str, np.ndarray], linear: np.ndarray,
                   sky_share: float, flash: float) -> SceneDescriptor:
    """Summarise the frame; `stats` are the per-region statistics (with "frame")."""
    frame = stats["frame"]
    n_faces = len(faces)
    h, w = linear.shape[:2]
    face_share = max(((f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) / (h * w) for f in faces), default=0.0)
    people_share = float(masks["subject"].mean()) if n_faces and "subject" in masks else 0.0
    cct = estimate_cct(linear)
    temp_slot = 0.5 if cct is None else float(np.clip((cct - 2500) / 7500, 0, 1))
    indoor = 0.15 if sky_share > 0.03 else float(np.clip(0.45 + 0.4 * flash + (0.2 if (cct or 6500) < 4200 else 0)
                                                         + (0.1 if n_faces else -0.1), 0, 1))
    portrait = 1.0 if 1 <= n_faces <= 2 and face_share > 0.02 else 0.0
    group = 1.0 if n_faces >= 3 else 0.0
    landscape = 1.0 if n_faces == 0 and indoor < 0.5 else 0.0
    golden = float(indoor < 0.5 and cct is not None and cct < 4500 and frame.l_p50 < 65)
    back = stats.get("background")
    busy = float(np.clip((back.noise if back else frame.noise) / 6.0, 0, 1))
    vector = [indoor, frame.l_p50 / 100, frame.lab[0] / 100, temp_slot, float(np.clip(flash, 0, 1)),
              min(n_faces / 8, 1.0), min(math.sqrt(face_share) * 3, 1.0), min(sky_share * 2, 1.0), portrait, group,
              landscape, min(frame.contrast / 40, 1.0), min(frame.chroma / 40, 1.0), people_share, golden, busy]
    tags = ["indoor" if indoor >= 0.5 else "outdoor"]
    tags.append("dark" if frame.l_p50 < 30 else "bright" if frame.l_p50 > 70 else "normal light")
    if cct is not None:
        tags.append("warm light" if cct < 4200 else "cool light" if cct > 7500 else "neutral light")
    if flash > 0.5:
        tags.append("flash")
    tags.append("portrait" if portrait else "group" if group else "landscape" if landscape else "other")
    if sky_share > 0.03:
        tags.append("sky")
    if golden:
        tags.append("golden hour")
    return SceneDescriptor([float(v) for v in vector], tags, cct)
