"""`analyse`: find the people, their faces and skin, the sky and the background, measure them, describe the scene."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..imaging.color import linear_to_srgb8
from ..imaging.decode import resize_to_edge
from .scene import SceneDescriptor, describe_scene
from .sky import detect_sky
from .skin import body_skin
from .stats import RegionMeasure, RegionStats, lab_image

WORKING_EDGE = 1024  # the models see the photo at this size (small faces in groups need it)
MEASURE_EDGE = 512  # masks, statistics and the returned working image: plenty for tones and colours


@dataclass
class Analysis:
    """What vision saw in one photo. Masks are float32 HxW in 0..1 at the working image's size."""

    working: np.ndarray  # linear light, long edge <= MEASURE_EDGE; masks and face boxes are at this size
    masks: dict[str, np.ndarray]
    confidence: dict[str, float]
    faces: list[Any]
    people: list[dict]  # per person instance: index, box (normalised x0, y0, x1, y1), face box
    stats: dict[str, RegionStats]
    scene: SceneDescriptor
    notes: list[str] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    source_size: tuple[int, int] | None = None

    def describe(self) -> dict:
        """A JSON-friendly summary (for --explain and the API)."""
        return {"regions": {k: {"share": round(float(m.mean()), 4), "confidence": self.confidence.get(k)}
                            for k, m in self.masks.items()},
                "faces": len(self.faces), "people": self.people, "scene": self.scene.to_dict(),
                "stats": {k: v.to_dict() for k, v in self.stats.items()}, "notes": self.notes,
                "fallbacks": self.fallbacks}


def _flash_likelihood(stats: dict[str, RegionStats]) -> float:
    """Flash: faces much brighter than a dark background."""
    face, back = stats.get("face_skin"), stats.get("background")
    if face is None or back is None:
        return 0.0
    gap = face.l_p50 - back.l_p50
    return float(np.clip((gap - 10) / 25, 0, 1) * (1.0 if back.l_p50 < 45 else 0.5))


def analyse(image, *, use_models: bool = True, max_edge: int = WORKING_EDGE) -> Analysis:
    """Analyse a DecodedImage or a linear HxWx3 array at a working size of about `max_edge` pixels."""
    from . import face_parts, faces as face_mod, landmarks, people
    times: dict[str, float] = {}
    start = time.perf_counter()
    pixels = image.pixels if hasattr(image, "pixels") else np.asarray(image, np.float32)
    source_size = getattr(image, "source_size", (pixels.shape[1], pixels.shape[0]))
    working = np.ascontiguousarray(resize_to_edge(pixels, max_edge), dtype=np.float32)
    h, w = working.shape[:2]
    srgb = linear_to_srgb8(working)
    notes: list[str] = list(getattr(image, "notes", []) or [])
    fallbacks: list[str] = []
    times["prepare"] = time.perf_counter() - start

    t = time.perf_counter()
    found, face_notes = face_mod.detect_faces(srgb, use_models=use_models)
    if found and all(f.source != "haar" for f in found):
        landmarks.add_landmarks(srgb, found, use_models=use_models)
    fallbacks += [n for n in face_notes if "fallback" in n.lower()]
    notes += [n for n in face_notes if "fallback" not in n.lower()]
    times["faces"] = time.perf_counter() - t

    t = time.perf_counter()
    scale = min(1.0, MEASURE_EDGE / max(h, w))
    measure = np.ascontiguousarray(resize_to_edge(working, MEASURE_EDGE), dtype=np.float32)
    mh, mw = measure.shape[:2]
    lab = lab_image(measure)
    masks: dict[str, np.ndarray] = {}
    confidence: dict[str, float] = {}
    person_list: list[dict] = []
    person, person_conf, person_notes = people.person_mask(srgb, found, use_models=use_models, out_size=(mw, mh))
    fallbacks += [n for n in person_notes if "fallback" in n.lower()]
    if found and person is not None and person.max() > 0.5:
        masks["subject"] = _fit(person, (mh, mw))
        confidence["subject"] = person_conf
        instances = people.person_instances(masks["subject"], [_scaled_face(f, scale) for f in found])
        for index, (mask_i, box_i) in enumerate(instances):
            masks[f"person:{index}"] = _fit(mask_i, (mh, mw))
            confidence[f"person:{index}"] = person_conf
            face_box = [round(float(v) * scale, 1) for v in found[index].box] if index < len(found) else None
            person_list.append({"index": index, "box": [round(float(v), 4) for v in box_i], "face_box": face_box})
        parts, part_conf = face_parts.face_part_masks(found, (h, w))
        masks.update({k: _fit(v, (mh, mw)) for k, v in parts.items() if k in REGION_KEYS})
        confidence.update({k: v for k, v in part_conf.items() if k in REGION_KEYS})
    found = [_scaled_face(f, scale) for f in found]
    times["people"] = time.perf_counter() - t

    t = time.perf_counter()
    subject = masks.get("subject")
    if "face_skin" in masks and subject is not None:
        face_area = np.clip(masks["face_skin"] + masks.get("eyes", 0) + masks.get("lips", 0)
                            + masks.get("eyebrows", 0), 0, 1)
        skin, skin_conf = body_skin(lab, subject, masks["face_skin"], _dilate(face_area, max(mh, mw) // 60))
        if skin.max() > 0.5:
            masks["body_skin"] = skin
            confidence["body_skin"] = skin_conf
    background = 1.0 - subject if subject is not None else np.ones((mh, mw), np.float32)
    masks["background"] = background.astype(np.float32)
    confidence["background"] = confidence.get("subject", 0.9)
    measure_lab = RegionMeasure(lab)
    flash = _flash_likelihood(measure_lab.stats({k: masks[k] for k in ("face_skin", "background") if k in masks}))
    sky = detect_sky(lab, subject, indoor_cues=max(flash, 0.6 if found else 0.0))
    notes += sky.notes
    if sky.kind != "none":
        masks["sky"] = sky.mask
        confidence["sky"] = sky.confidence
        notes.append(f"sky found ({sky.kind}, {100 * float(sky.mask.mean()):.0f} % of the frame)")
    times["sky"] = time.perf_counter() - t

    t = time.perf_counter()
    stats = measure_lab.stats(masks)
    scene = describe_scene(stats=stats, faces=found, masks=masks, linear=measure,
                           sky_share=float(masks["sky"].mean()) if "sky" in masks else 0.0, flash=flash)
    times["stats"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - start
    return Analysis(measure, masks, confidence, found, person_list, stats, scene, notes, fallbacks, times,
                    tuple(source_size))


REGION_KEYS = {"face_skin", "eyes", "lips", "eyebrows"}


def _fit(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A mask at the measuring size (area-averaged, so soft edges stay soft)."""
    import cv2
    mask = np.asarray(mask, np.float32)
    if mask.shape == shape:
        return mask
    return cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def _scaled_face(face, scale: float):
    """The face with its box, keypoints and landmarks in measuring-size pixels."""
    import dataclasses
    if scale == 1.0:
        return face
    changes = {"box": tuple(float(v) * scale for v in face.box), "keypoints": np.asarray(face.keypoints) * scale}
    if face.landmarks is not None:
        changes["landmarks"] = np.asarray(face.landmarks) * scale
    return dataclasses.replace(face, **changes)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    import cv2
    radius = max(1, int(radius))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.float32), kernel)
