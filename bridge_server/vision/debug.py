"""Mask overlays as PNG files, for a person to check what vision found."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..imaging.color import linear_to_srgb
from ..imaging.atomic import atomic_path

COLOURS = {"subject": (255, 64, 64), "face_skin": (255, 200, 0), "body_skin": (255, 140, 0), "sky": (40, 140, 255),
           "background": (40, 200, 120), "eyes": (200, 0, 255), "lips": (255, 0, 140), "eyebrows": (120, 60, 0)}


def overlay(working: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int], alpha: float = 0.55) -> np.ndarray:
    """The working image (sRGB) with the mask painted over it in a colour."""
    base = np.clip(np.asarray(linear_to_srgb(np.clip(working, 0, 1))), 0, 1)
    tint = np.asarray(colour, np.float32) / 255.0
    weight = (alpha * np.clip(mask, 0, 1))[..., None]
    return np.clip((base * (1 - weight) + tint * weight) * 255 + 0.5, 0, 255).astype(np.uint8)


def save_mask_overlays(analysis, directory: Path, stem: str = "photo") -> list[Path]:
    """One PNG per region: `<stem>.<region>.png`. Returns the files written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for index, (name, mask) in enumerate(sorted(analysis.masks.items())):
        colour = COLOURS.get(name.split(":")[0], ((index * 67) % 255, (index * 131) % 255, 200))
        path = directory / f"{stem}.{name.replace(':', '-')}.png"
        from PIL import Image
        with atomic_path(path) as tmp:
            Image.fromarray(overlay(analysis.working, mask, colour)).save(tmp, format="PNG")
        written.append(path)
    return written
