"""The region vocabulary: what a local edit applies to, and how Lightroom names it.

AI regions map to Lightroom's `Mask/Image` definitions (MaskSubType, MaskSubCategoryID) as found in
Adobe-made presets; geometric regions map to gradient, radial and brush components. Lightroom computes AI
masks itself from these definitions; our own masks (vision) only measure regions and render outside it.
"""
from __future__ import annotations

from dataclasses import dataclass

AI = "ai"
GEOMETRY = "geometry"


@dataclass(frozen=True)
class Region:
    key: str
    label: str
    kind: str  # AI or GEOMETRY
    what: str  # crs:What of the mask component
    subtype: int | None = None
    subcategory: int | None = None
    human: bool = False  # part of a person: gets human-region priority
    writable: bool = True  # False: the Lightroom code is not confirmed, so we never write it
    help: str = ""


REGIONS: tuple[Region, ...] = (
    Region("subject", "Subject", AI, "Mask/Image", 1, None, human=True,
           help="Lightroom's Select Subject; for portraits, the people"),
    Region("sky", "Sky", AI, "Mask/Image", 2),
    Region("background", "Background", AI, "Mask/Image", 0, 22),
    Region("face_skin", "Face skin", AI, "Mask/Image", 3, 2, human=True),
    Region("eyes", "Iris and pupil", AI, "Mask/Image", 3, 3, human=True),
    Region("body_skin", "Body skin", AI, "Mask/Image", 3, 4, human=True),
    Region("hair", "Hair", AI, "Mask/Image", 3, 5, human=True),
    Region("lips", "Lips", AI, "Mask/Image", 3, 6, human=True),
    Region("eye_sclera", "Eye sclera", AI, "Mask/Image", 3, 8, human=True),
    Region("eyebrows", "Eyebrows", AI, "Mask/Image", 3, 9, human=True),
    Region("clothes", "Clothes", AI, "Mask/Image", 3, 11, human=True),
    Region("teeth", "Teeth", AI, "Mask/Image", 3, 12, human=True),
    Region("architecture", "Architecture", AI, "Mask/Image", 0, 50001),
    Region("mountains", "Mountains", AI, "Mask/Image", 0, 50002, writable=False),
    Region("artificial_ground", "Artificial ground", AI, "Mask/Image", 0, 50003, writable=False),
    Region("natural_ground", "Natural ground", AI, "Mask/Image", 0, 50004),
    Region("vegetation", "Vegetation", AI, "Mask/Image", 0, 50005),
    Region("landscape_sky", "Sky (landscape)", AI, "Mask/Image", 0, 50006),
    Region("water", "Water", AI, "Mask/Image", 0, 50007),
    # One person of several. Lightroom's per-person code is not confirmed, so it is written as a
    # feathered radial gradient fitted to that person (the geometry comes from vision).
    Region("person", "Person", GEOMETRY, "Mask/CircularGradient", human=True,
           help="one person instance (index); written as a radial gradient around that person"),
    Region("radial", "Radial gradient", GEOMETRY, "Mask/CircularGradient"),
    Region("linear", "Linear gradient", GEOMETRY, "Mask/Gradient"),
    Region("brush", "Brush", GEOMETRY, "Mask/Paint"),
    Region("range", "Range mask", GEOMETRY, "Mask/RangeMask"),
    Region("other", "Other mask", GEOMETRY, "", writable=False,
           help="a mask kind we read and keep but do not model"),
)

REGION_BY_KEY: dict[str, Region] = {r.key: r for r in REGIONS}
_BY_CODE: dict[tuple[int, int | None], Region] = {
    (r.subtype, r.subcategory): r for r in REGIONS if r.kind == AI
}
REGION_ALIASES = {
    "people": "subject", "person_all": "subject", "face": "face_skin", "skin": "face_skin",
    "iris": "eyes", "bg": "background", "mouth": "lips",
}
GEOMETRY_BY_WHAT = {r.what: r for r in REGIONS if r.kind == GEOMETRY and r.key != "person" and r.what}


def region(key: str) -> Region:
    k = key.strip().lower().replace(" ", "_").replace("-", "_")
    k = REGION_ALIASES.get(k, k)
    if k not in REGION_BY_KEY:
        raise KeyError(key)
    return REGION_BY_KEY[k]


def region_for_codes(subtype: int, subcategory: int | None) -> Region | None:
    """The vocabulary entry for a Mask/Image definition, or None for a code we do not know."""
    found = _BY_CODE.get((subtype, subcategory))
    if found is None and subtype in (1, 2):
        found = _BY_CODE.get((subtype, None))
    return found


HUMAN_REGIONS = frozenset(r.key for r in REGIONS if r.human)
