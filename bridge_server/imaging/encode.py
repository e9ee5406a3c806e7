"""Write rendered images: 8-bit sRGB JPEG and 16-bit TIFF in sRGB, Adobe RGB (1998) or ProPhoto RGB.

Input is linear-light sRGB float (HxWx3, as decode produces and the renderer keeps) or, for JPEG, already
encoded sRGB uint8. Each file embeds the ICC profile we generate for its colour space (icc.py); all writes
are atomic, so a reader never sees a half-written file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import color, icc
from .atomic import atomic_path

TIFF_COMPRESSIONS = (None, "deflate", "lzw")


def _check_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 image, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("the image is empty")
    return image


def to_srgb8(image: np.ndarray) -> np.ndarray:
    """Linear float -> sRGB-encoded uint8 (clipped, rounded); uint8 input is taken as sRGB already."""
    image = _check_rgb(image)
    if image.dtype == np.uint8:
        return image
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"expected linear float or sRGB uint8 pixels, got {image.dtype}")
    encoded = color.linear_to_srgb(np.clip(image.astype(np.float32), 0.0, 1.0))
    return np.round(encoded * 255.0).astype(np.uint8)


def encode_rgb16(linear: np.ndarray, colorspace: str = "srgb") -> np.ndarray:
    """Linear sRGB float -> uint16 samples in `colorspace` with its transfer curve (out-of-gamut clipped)."""
    linear = _check_rgb(linear).astype(np.float32)
    if colorspace not in color.SPACES:
        raise ValueError(f"unknown colour space {colorspace!r}; expected one of {', '.join(color.SPACES)}")
    rgb = color.convert_linear(linear, colorspace) if colorspace != "srgb" else linear
    encoded = color.encode_transfer(np.clip(rgb, 0.0, 1.0), colorspace)
    return np.round(np.clip(encoded, 0.0, 1.0) * 65535.0).astype(np.uint16)


def _icc_bytes(icc_profile: str | bytes | None) -> bytes | None:
    if icc_profile is None or isinstance(icc_profile, bytes):
        return icc_profile
    return icc.profile_bytes(icc_profile)


def write_jpeg(path: str | os.PathLike, image: np.ndarray, *, quality: int = 95,
               icc_profile: str | bytes | None = "srgb", exif: bytes | None = None) -> Path:
    """Write an 8-bit sRGB JPEG (4:4:4 chroma from quality 90 on) with an embedded sRGB profile, atomically."""
    from PIL import Image
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1..100, got {quality}")
    pixels = to_srgb8(image)
    options = {"quality": int(quality), "subsampling": 0 if quality >= 90 else 2, "optimize": True}
    profile = _icc_bytes(icc_profile)
    if profile:
        options["icc_profile"] = profile
    if exif:
        options["exif"] = exif
    dst = Path(path)
    with atomic_path(dst) as tmp:
        with open(tmp, "xb") as f:
            Image.fromarray(np.ascontiguousarray(pixels), "RGB").save(f, format="JPEG", **options)
    return dst


def write_tiff16(path: str | os.PathLike, linear: np.ndarray, *, colorspace: str = "srgb",
                 compression: str | None = None) -> Path:
    """Write a 16-bit RGB TIFF in `colorspace` (srgb, adobe_rgb, prophoto) with its ICC profile, atomically."""
    import tifffile
    if compression not in TIFF_COMPRESSIONS:
        raise ValueError(f"compression must be one of {TIFF_COMPRESSIONS}, got {compression!r}")
    samples = encode_rgb16(linear, colorspace)
    codec = {"deflate": "adobe_deflate", "lzw": "lzw"}.get(compression or "")
    dst = Path(path)
    with atomic_path(dst) as tmp:
        tifffile.imwrite(tmp, samples, photometric="rgb", planarconfig="contig", compression=codec,
                         predictor=2 if codec else None, iccprofile=icc.profile_bytes(colorspace),
                         metadata=None, software="AI Retouch bridge", resolution=(300, 300),
                         resolutionunit="INCH")
    return dst
