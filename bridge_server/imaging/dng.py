"""Write valid DNG files with tifffile, and synthesise Bayer mosaics from real photos (tests, benchmarks).

Layout, as Adobe's converter writes it (DNG 1.4 specification):
  IFD0     a small 8-bit RGB thumbnail (NewSubfileType 1) carrying the DNG tags: DNGVersion,
           UniqueCameraModel, ColorMatrix1 (XYZ -> camera), CalibrationIlluminant1, AsShotNeutral, Orientation;
  SubIFD 1 the CFA mosaic (NewSubfileType 0, PhotometricInterpretation CFA) with CFARepeatPatternDim,
           CFAPattern, CFAPlaneColor, CFALayout, BlackLevel, WhiteLevel;
  SubIFD 2 the preview, when one is given: a full-frame JPEG (NewSubfileType 1), which LibRaw's
           extract_thumb returns.
The default colour matrix makes the camera's native space linear sRGB (ColorMatrix1 = XYZ->sRGB under D65),
so a mosaic synthesised from a linear sRGB photo demosaics back to that photo.
"""
from __future__ import annotations

import os
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import color
from .atomic import atomic_path

DEFAULT_BLACK = 512
DEFAULT_WHITE = 16383  # a 14-bit sensor
THUMB_EDGE = 256
PREVIEW_QUALITY = 90
DNG_VERSION = (1, 4, 0, 0)
DNG_BACKWARD_VERSION = (1, 1, 0, 0)
ILLUMINANT_D65 = 21  # EXIF LightSource code used by CalibrationIlluminant1
_CFA_CODES = {"R": 0, "G": 1, "B": 2}
BAYER_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")  # 2x2 cells in row order; greens on a diagonal


def _cfa_indices(cfa: str) -> tuple[int, int, int, int]:
    """Colour index (0 R, 1 G, 2 B) of the 2x2 CFA cells in row order; validates the pattern."""
    pattern = cfa.upper()
    if pattern not in BAYER_PATTERNS:
        raise ValueError(f"cfa must be a 2x2 Bayer pattern, one of {', '.join(BAYER_PATTERNS)}; got {cfa!r}")
    return tuple(_CFA_CODES[c] for c in pattern)  # type: ignore[return-value]


def synthesize_mosaic(rgb_linear: np.ndarray, *, cfa: str = "RGGB", black: int = DEFAULT_BLACK,
                      white: int = DEFAULT_WHITE, as_shot_neutral=(1.0, 1.0, 1.0)) -> np.ndarray:
    """A uint16 Bayer mosaic of a linear sRGB image, as a sensor with these neutral responses would record it.

    Each channel is scaled by `as_shot_neutral` (the camera's response to white), sampled through the CFA and
    mapped to black..white. Odd widths/heights are cropped to even.
    """
    rgb = np.asarray(rgb_linear)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 linear RGB image, got shape {rgb.shape}")
    if not 0 <= black < white <= 65535:
        raise ValueError(f"need 0 <= black < white <= 65535, got black={black}, white={white}")
    h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    if h == 0 or w == 0:
        raise ValueError("the image must be at least 2x2 pixels")
    neutral = np.asarray(as_shot_neutral, dtype=np.float64)
    mosaic = np.empty((h, w), dtype=np.uint16)
    for cell, channel in enumerate(_cfa_indices(cfa)):  # one CFA site at a time: a quarter of the pixels each
        dy, dx = divmod(cell, 2)
        site = rgb[dy:h:2, dx:w:2, channel].astype(np.float32) * np.float32(neutral[channel])
        np.clip(site, 0.0, 1.0, out=site)
        mosaic[dy::2, dx::2] = np.rint(black + site * np.float32(white - black))
    return mosaic


def _rationals(values, *, signed: bool, denominator: int = 1_000_000) -> list[int]:
    """Numerator/denominator pairs for TIFF (S)RATIONAL tags."""
    out: list[int] = []
    for v in np.ravel(np.asarray(values, dtype=float)):
        f = Fraction(float(v)).limit_denominator(denominator)
        if not signed and f < 0:
            raise ValueError(f"unsigned rational tag value must not be negative, got {v}")
        out += [f.numerator, f.denominator]
    return out


def _thumbnail(mosaic: np.ndarray, cfa: str, black: int, white: int, neutral) -> np.ndarray:
    """A rough 8-bit sRGB thumbnail of the mosaic (2x2 binning, white balance, sRGB curve, area resize)."""
    idx = _cfa_indices(cfa)
    cells = [mosaic[dy::2, dx::2].astype(np.float32) for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1))]
    rgb = np.zeros(cells[0].shape + (3,), dtype=np.float32)
    for cell, channel in zip(cells, idx, strict=True):
        rgb[..., channel] += cell
    rgb[..., 1] *= 0.5
    rgb = (rgb - black) / float(white - black) / np.asarray(neutral, dtype=np.float32)
    return _to_srgb8(_shrink(np.clip(rgb, 0.0, 1.0), THUMB_EDGE))


def _shrink(rgb: np.ndarray, edge: int) -> np.ndarray:
    import cv2
    h, w = rgb.shape[:2]
    if max(h, w) <= edge:
        return rgb
    k = edge / max(h, w)
    return cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)


def _to_srgb8(linear: np.ndarray) -> np.ndarray:
    return np.round(np.clip(color.linear_to_srgb(linear), 0.0, 1.0) * 255.0).astype(np.uint8)


def _fix_subifds(path: Path) -> None:
    """Make IFD0's SubIFDs what DNG readers expect: tag type LONG (not IFD) and no chaining between them.

    tifffile writes the SubIFDs tag as type IFD (13) and links each SubIFD to the next; ExifTool then reads
    the second SubIFD twice and refuses to write the file. Each listed SubIFD gets a next-IFD offset of 0.
    """
    with open(path, "r+b") as f:
        head = f.read(8)
        order = "<" if head[:2] == b"II" else ">"
        f.seek(struct.unpack(order + "I", head[4:8])[0])
        (count,) = struct.unpack(order + "H", f.read(2))
        entries = [struct.unpack(order + "HHII", f.read(12)) for _ in range(count)]
        ifd0 = struct.unpack(order + "I", head[4:8])[0]
        for i, (tag, _kind, n, value) in enumerate(entries):
            if tag != 330:
                continue
            f.seek(ifd0 + 2 + 12 * i + 2)
            f.write(struct.pack(order + "H", 4))
            if n == 1:
                offsets = [value]
            else:
                f.seek(value)
                offsets = list(struct.unpack(order + f"{n}I", f.read(4 * n)))
            for offset in offsets:
                f.seek(offset)
                (m,) = struct.unpack(order + "H", f.read(2))
                f.seek(offset + 2 + 12 * m)
                f.write(struct.pack(order + "I", 0))
            return


def write_dng(path: str | os.PathLike, mosaic_uint16: np.ndarray, *, cfa: str = "RGGB",
              black: int = DEFAULT_BLACK, white: int = DEFAULT_WHITE, color_matrix: np.ndarray | None = None,
              as_shot_neutral=(1.0, 1.0, 1.0), preview: np.ndarray | None = None, orientation: int = 1,
              make: str = "AI Retouch", model: str = "Synthetic DNG",
              unique_camera_model: str | None = None) -> Path:
    """Write a DNG (atomically) that LibRaw decodes and whose extract_thumb returns `preview` when given.

    `mosaic_uint16`: HxW CFA samples; `color_matrix`: 3x3 XYZ(D65) -> camera (default: XYZ -> linear sRGB);
    `preview`: uint8 HxWx3 sRGB in the mosaic's (unrotated) frame; `orientation`: EXIF 1..8 for the viewer.
    """
    import tifffile
    mosaic = np.asarray(mosaic_uint16)
    if mosaic.ndim != 2 or mosaic.dtype != np.uint16:
        raise ValueError(f"mosaic must be a 2-D uint16 array, got {mosaic.dtype} {mosaic.shape}")
    if mosaic.shape[0] % 2 or mosaic.shape[1] % 2:
        raise ValueError(f"mosaic width and height must be even for a 2x2 CFA, got {mosaic.shape}")
    if not 0 <= black < white <= 65535:
        raise ValueError(f"need 0 <= black < white <= 65535, got black={black}, white={white}")
    if not 1 <= int(orientation) <= 8:
        raise ValueError(f"orientation must be an EXIF value 1..8, got {orientation}")
    neutral = np.asarray(as_shot_neutral, dtype=float)
    if neutral.shape != (3,) or np.any(neutral <= 0):
        raise ValueError(f"as_shot_neutral must be three positive numbers, got {as_shot_neutral}")
    matrix = color.XYZ_TO_SRGB if color_matrix is None else np.asarray(color_matrix, dtype=float)
    if matrix.shape != (3, 3):
        raise ValueError(f"color_matrix must be 3x3, got {matrix.shape}")
    if preview is not None:
        preview = np.asarray(preview)
        if preview.ndim != 3 or preview.shape[2] != 3 or preview.dtype != np.uint8:
            raise ValueError(f"preview must be a uint8 HxWx3 array, got {preview.dtype} {preview.shape}")
    cfa_idx = _cfa_indices(cfa)
    if preview is not None:
        thumb = _to_srgb8(_shrink(color.srgb_to_linear(preview.astype(np.float32) / 255.0), THUMB_EDGE))
    else:
        thumb = _thumbnail(mosaic, cfa, black, white, neutral)

    ifd0_tags = [
        (50706, "B", 4, DNG_VERSION, True),
        (50707, "B", 4, DNG_BACKWARD_VERSION, True),
        (50708, "s", 0, unique_camera_model or f"{make} {model}", True),
        (50721, "2i", 9, _rationals(matrix, signed=True), True),  # ColorMatrix1
        (50778, "H", 1, ILLUMINANT_D65, True),  # CalibrationIlluminant1
        (50728, "2I", 3, _rationals(neutral, signed=False), True),  # AsShotNeutral
        (271, "s", 0, make, True),
        (272, "s", 0, model, True),
        (274, "H", 1, int(orientation), True),
    ]
    raw_tags = [
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, cfa_idx, True),  # CFAPattern
        (50710, "B", 3, (0, 1, 2), True),  # CFAPlaneColor
        (50711, "H", 1, 1, True),  # CFALayout: rectangular
        (50713, "H", 2, (1, 1), True),  # BlackLevelRepeatDim
        (50714, "I", 1, int(black), True),  # BlackLevel
        (50717, "I", 1, int(white), True),  # WhiteLevel
    ]
    dst = Path(path)
    with atomic_path(dst) as tmp:
        with tifffile.TiffWriter(tmp) as tw:
            tw.write(thumb, photometric="rgb", subfiletype=1, subifds=1 if preview is None else 2,
                     extratags=ifd0_tags, metadata=None, software="AI Retouch bridge")
            tw.write(mosaic, photometric="cfa", subfiletype=0, extratags=raw_tags, metadata=None,
                     software=False)
            if preview is not None:
                tw.write(preview, photometric="rgb", subfiletype=1, compression="jpeg",
                         compressionargs={"level": PREVIEW_QUALITY}, rowsperstrip=preview.shape[0],
                         metadata=None, software=False)
        _fix_subifds(tmp)
    return dst
