"""Decode photos into linear-light sRGB float32 pixels, upright, with typed errors only.

RAW and DNG go through rawpy/LibRaw: for analysis the embedded preview (when it is large enough and has the
raw's aspect ratio) or else a half-size decode; for rendering a full AHD demosaic with the camera's white
balance, 16-bit, linear, sRGB primaries, no auto-brightening. JPEG, PNG and WebP go through Pillow
(16-bit PNG through imagecodecs, because Pillow reduces 16-bit RGB to 8 bits), TIFF through tifffile
(Pillow for palette, CMYK and YCbCr TIFFs). Embedded ICC profiles are honoured: sRGB takes the exact sRGB
path, matrix/TRC profiles (Adobe RGB, ProPhoto, Display P3, ...) are converted in float here, and other
profiles through Pillow's ImageCms. Float images without a profile are taken to be linear already.

The format is sniffed from the first bytes, never trusted from the extension alone; the declared pixel count
is checked against `max_pixels` before any pixel is decoded; every library failure becomes one of the typed
errors of core.errors, never a bare library exception.
"""
from __future__ import annotations

import io
import math
import stat
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from ..core.errors import (
    CorruptImageError, DecodeError, ImageTooLargeError, NotFoundError, PermissionDeniedError, RetouchError,
    TruncatedImageError, UnsupportedFormatError,
)
from . import color, icc

DEFAULT_MAX_PIXELS = 160_000_000  # above a 151 MP medium-format frame; float32 RGB of it is about 1.9 GB
PREVIEW_MIN_EDGE = 1000  # an embedded raw preview is used for analysis only from this long edge on
PREVIEW_ASPECT_TOLERANCE = 0.03  # previews with letterboxing or another crop fall back to a half-size decode
PURPOSES = ("analysis", "render")
UPLOAD_FORMATS = ("jpeg", "png", "tiff", "webp")

RAW_EXTENSIONS = frozenset(
    "3fr ari arw bay cr2 cr3 crw cs1 dcr dcs dng drf eip erf fff iiq k25 kdc mdc mef mos mrw nef nrw orf "
    "pef ptx pxn r3d raf raw rw2 rwl rwz sr2 srf srw x3f".split())

TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # classic and BigTIFF, both byte orders



def is_raw_path(path: str | Path) -> bool:
    """Camera raw files and DNG take absolute white balance (Temperature/Tint) in Lightroom."""
    return Path(path).suffix.lower().lstrip(".") in RAW_EXTENSIONS


# LibRaw's `flip` -> EXIF orientation (LibRaw maps EXIF 1..8 onto 0,1,3,2,4,6,7,5)
_FLIP_TO_EXIF = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}

# We enforce our own pixel limit before decoding; Pillow's softer warning level adds nothing.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


@dataclass
class DecodedImage:
    """Decoded pixels plus what the rest of the system needs to know about where they came from."""

    pixels: np.ndarray  # float32 HxWx3, linear light, sRGB/Rec.709 primaries, upright
    path: str
    format: str  # "jpeg", "png", "tiff", "webp", "raw", "dng"
    is_raw: bool
    source_size: tuple[int, int]  # full-resolution (width, height) after orientation
    bit_depth: int  # of the data the pixels came from (8, 16, 32 for float; a raw's sensor bits)
    orientation: int = 1  # EXIF orientation 1..8 that was applied
    kind: str = "image"  # "preview" | "half" | "full" | "image"
    scale: float = 1.0  # pixels width / source width
    profile: str = "sRGB"  # description of the colour profile the pixels were converted from
    notes: list[str] = field(default_factory=list)  # fallbacks taken while decoding, for plan notes

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass
class _Raster:
    """Stored pixels before colour conversion and orientation."""

    data: np.ndarray  # HxWxC (C = 1 or 3), integer or float
    bits: int
    is_float: bool
    icc_profile: bytes | None
    orientation: int
    stored_size: tuple[int, int]  # (width, height) as stored, before any draft reduction
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------------------
def decode(path: str | Path, purpose: str = "analysis", *, max_pixels: int = DEFAULT_MAX_PIXELS,
           max_edge: int | None = None) -> DecodedImage:
    """Decode a photo file for analysis (fast: raw previews, half size) or rendering (full quality)."""
    _check_args(purpose, max_edge)
    path = Path(path)
    size, head = _probe(path)
    fmt = sniff_format(head, str(path))
    if fmt in ("tiff", "raw") and head[:4] in TIFF_MAGIC and _is_dng(path):
        fmt = "dng"
    if fmt in ("raw", "dng"):
        return _decode_raw(path, fmt, head, purpose, max_pixels, max_edge)
    return _decode_raster(path, str(path), fmt, size, max_pixels, max_edge)


def decode_bytes(data: bytes, name: str, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                 max_edge: int | None = None) -> DecodedImage:
    """Decode an uploaded preview (JPEG, PNG, TIFF or WebP) held in memory; `name` is used in messages."""
    _check_args("analysis", max_edge)
    if not data:
        raise TruncatedImageError("the upload is empty (0 bytes); send the whole file", path=name)
    fmt = sniff_format(bytes(data[:64]), name)
    if fmt == "tiff" and _is_dng(io.BytesIO(data)):
        fmt = "dng"
    if fmt not in UPLOAD_FORMATS:
        raise UnsupportedFormatError(
            f"uploaded previews must be JPEG, PNG, TIFF or WebP, not {fmt.upper()}; send the file's path "
            "instead so that the raw can be decoded from disk", path=name)
    return _decode_raster(io.BytesIO(data), name, fmt, len(data), max_pixels, max_edge)


def probe_format(path: str | Path) -> str:
    """A photo's format from its first bytes, without decoding; typed errors for missing, unreadable,
    empty or non-image files."""
    path = Path(path)
    _, head = _probe(path)
    return sniff_format(head, str(path))


def sniff_format(head: bytes, name: str = "") -> str:
    """'jpeg', 'png', 'webp', 'tiff' or 'raw' from a file's first bytes (the extension only names raws)."""
    ext = Path(name).suffix.lower().lstrip(".")
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in TIFF_MAGIC:
        return "raw" if head[8:10] == b"CR" or ext in RAW_EXTENSIONS else "tiff"
    if (head[:4] in (b"IIRO", b"IIRS", b"MMOR", b"IIU\0", b"FOVb") or head.startswith(b"FUJIFILM")
            or head[4:12] == b"ftypcrx " or head[6:14] == b"HEAPCCDR"):
        return "raw"
    if ext in RAW_EXTENSIONS and ext != "dng":
        return "raw"  # raws without a distinctive signature: LibRaw decides
    raise UnsupportedFormatError(_unsupported_message(head), path=name or None)


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn pixels stored with EXIF orientation 1..8 upright (other values are left as they are)."""
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return pixels.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(pixels, -1)
    if orientation == 7:
        return np.rot90(pixels, 2).swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(pixels, 1)
    return pixels


def transposes(orientation: int) -> bool:
    """True when an EXIF orientation swaps width and height."""
    return orientation in (5, 6, 7, 8)


def resize_to_edge(pixels: np.ndarray, max_edge: int) -> np.ndarray:
    """Area-downscale so that the long edge is at most `max_edge` (linear light averages correctly)."""
    h, w = pixels.shape[:2]
    if max(h, w) <= max_edge:
        return pixels
    import cv2
    k = max_edge / max(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    return cv2.resize(np.ascontiguousarray(pixels), size, interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------------------------------------
# files, formats, errors
# --------------------------------------------------------------------------------------------------------
def _check_args(purpose: str, max_edge: int | None) -> None:
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}")
    if max_edge is not None and max_edge < 1:
        raise ValueError(f"max_edge must be positive, got {max_edge}")


def _probe(path: Path) -> tuple[int, bytes]:
    """Size and first bytes of a file, with missing/unreadable files reported as typed errors."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise NotFoundError("no such file; check the path (and that the drive is mounted)",
                            path=str(path)) from None
    except PermissionError:
        raise PermissionDeniedError("permission denied while looking up the file; give the bridge's user "
                                    "access to its folder", path=str(path)) from None
    except OSError as exc:
        raise NotFoundError(f"cannot reach the file: {exc.strerror}", path=str(path)) from None
    if stat.S_ISDIR(st.st_mode):
        raise NotFoundError("this is a folder, not an image file", path=str(path))
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except PermissionError:
        raise PermissionDeniedError("permission denied reading the file; give the bridge's user read access",
                                    path=str(path)) from None
    except OSError as exc:
        raise DecodeError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    if st.st_size == 0:
        raise TruncatedImageError("the file is empty (0 bytes); if it is still being copied, try again "
                                  "when the copy has finished", path=str(path))
    return st.st_size, head


def _unsupported_message(head: bytes) -> str:
    """Say what a file is when we can tell, and what to do about it."""
    known = {b"GIF8": "a GIF", b"BM": "a BMP", b"8BPS": "a Photoshop (PSD)", b"%PDF": "a PDF"}
    for magic, what in known.items():
        if head.startswith(magic):
            return (f"this is {what} file, which is not supported; export the photo as JPEG, PNG, TIFF "
                    "or DNG")
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"hevc"):
        return "HEIF/HEIC/AVIF images are not supported; export the photo as JPEG or TIFF"
    return ("not a JPEG, PNG, TIFF, WebP, DNG or camera raw file (the content does not start like any of "
            f"them: {head[:8].hex(' ')}); check that the file is a photo and not damaged")


def _is_dng(src: Path | BinaryIO) -> bool:
    """True for a TIFF container whose first IFD carries DNGVersion."""
    import tifffile
    try:
        with tifffile.TiffFile(src) as tif:
            return 50706 in tif.pages.first.tags
    except Exception:  # a TIFF too damaged to tell: the TIFF or raw decoder reports it
        return False


def _check_pixels(width: int, height: int, max_pixels: int, name: str) -> None:
    """Refuse images whose declared size is empty or above the limit, before decoding them."""
    if width <= 0 or height <= 0:
        raise CorruptImageError(f"the file declares an empty image ({width}x{height})", path=name)
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"the image declares {width}x{height} = {width * height / 1e6:.1f} megapixels, above the limit of "
            f"{max_pixels / 1e6:.1f} megapixels; if it is a genuine photo raise the limit (max_pixels), "
            "otherwise the file is damaged or a decompression bomb", path=name)


_TRUNCATION_WORDS = ("truncated", "premature end", "unexpected end", "end of file", "short read",
                     "not enough data", "buffer is too small")


def _says_truncated(exc: BaseException) -> bool:
    return isinstance(exc, EOFError) or any(w in str(exc).lower() for w in _TRUNCATION_WORDS)


@contextmanager
def _translate(name: str, fmt: str, structure: Callable[[], bool | None] | None = None) -> Iterator[None]:
    """Turn any library exception into the matching typed error (the original is chained).

    `structure` is a structural test of the file (True: it stops early, False: it is complete or garbled,
    None: cannot tell); it decides between truncated and corrupt, the exception text only when it cannot.
    """
    try:
        yield
    except RetouchError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"refused as a possible decompression bomb: {exc}", path=name) from exc
    except MemoryError as exc:
        raise ImageTooLargeError("not enough memory to decode this image; lower max_pixels or close other "
                                 "programs", path=name) from exc
    except PermissionError as exc:
        raise PermissionDeniedError("permission denied reading the file", path=name) from exc
    except FileNotFoundError as exc:
        raise NotFoundError("the file disappeared while it was being read", path=name) from exc
    except Exception as exc:  # every other library failure: damaged or truncated data
        verdict = _safe(structure) if structure is not None else None
        if verdict is None:
            verdict = _says_truncated(exc) and not isinstance(exc, UnidentifiedImageError)
        if verdict:
            raise TruncatedImageError(f"the {fmt.upper()} file is cut short ({_short(exc)}); it was probably "
                                      "not copied completely: copy it again", path=name) from exc
        if isinstance(exc, UnidentifiedImageError):
            raise CorruptImageError(f"the {fmt.upper()} header is damaged: the file starts like a "
                                    f"{fmt.upper()} but cannot be parsed; re-export or re-copy it",
                                    path=name) from exc
        raise CorruptImageError(f"cannot decode this {fmt.upper()} file ({_short(exc)}); it is damaged or "
                                "uses a variant we cannot read", path=name) from exc


def _safe(check: Callable[[], bool | None]) -> bool | None:
    try:
        return check()
    except Exception:
        return None


def _short(exc: BaseException) -> str:
    """A one-line description of a library exception (its type when the text says little)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) < 12:
        text = f"{type(exc).__name__} {text}".strip()
    return text[:200]


def _read_all(src: Path | BinaryIO) -> bytes:
    if isinstance(src, Path):
        return src.read_bytes()
    src.seek(0)
    return src.read()


def _tail(src: Path | BinaryIO, n: int = 32) -> bytes:
    if isinstance(src, Path):
        with open(src, "rb") as f:
            f.seek(0, io.SEEK_END)
            f.seek(max(0, f.tell() - n))
            return f.read()
    pos = src.tell()
    src.seek(0, io.SEEK_END)
    src.seek(max(0, src.tell() - n))
    data = src.read()
    src.seek(pos)
    return data


def _truncation_check(src: Path | BinaryIO, fmt: str, size: int) -> Callable[[], bool | None]:
    """A structural test used after a failure: True if the file stops early, False if not, None if unknown."""
    def check() -> bool | None:
        if fmt == "jpeg":
            return _jpeg_truncated(_read_all(src))
        if fmt == "png":
            return _png_truncated(_read_all(src))
        if fmt == "webp":
            with _open(src) as f:
                head = f.read(12)
            return int.from_bytes(head[4:8], "little") + 8 > size
        if fmt in ("tiff", "raw", "dng"):
            return _tiff_data_missing(src, size)
        return None
    return check


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_SEGMENTS = _JPEG_SOF | {0xC4, 0xCC, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xFE} | set(range(0xE0, 0xF0))


def _jpeg_truncated(data: bytes) -> bool:
    """Walk the JPEG marker segments: True when a well-formed stream stops early, False when it is garbled.

    Random bytes after a JPEG signature usually run a segment past the end of the file too, so the first
    segment must also look real (an APP0 names JFIF/JFXX, frame and scan headers have consistent lengths).
    """
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xD9:
            return False
        if marker not in _JPEG_SEGMENTS:
            return False
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        body = data[pos + 4:pos + 2 + length]
        if length < 2 or not _jpeg_segment_plausible(marker, length, body):
            return False
        if marker == 0xDA:  # entropy-coded data follows: complete files end with EOI
            return b"\xff\xd9" not in data[pos + 2 + length:]
        pos += 2 + length
    return True


_APP_IDENTIFIERS = {  # how the APPn segments that real files carry begin
    0xE0: (b"JFIF", b"JFXX", b"AVI1"),
    0xE1: (b"Exif", b"http", b"XMP\0"),
    0xE2: (b"ICC_", b"MPF\0", b"FPXR"),
    0xED: (b"Phot", b"Adob"),
    0xEE: (b"Adob",),
}


def _jpeg_segment_plausible(marker: int, length: int, body: bytes) -> bool:
    """Cheap consistency checks on the start of a segment (only on the bytes that are present)."""
    if marker in _APP_IDENTIFIERS and len(body) >= 4:
        return body[:4] in _APP_IDENTIFIERS[marker]
    if marker in _JPEG_SOF and len(body) >= 6:
        return body[0] in (8, 12, 16) and 1 <= body[5] <= 4 and length == 8 + 3 * body[5]
    if marker == 0xDA and len(body) >= 1:
        return 1 <= body[0] <= 4 and length == 6 + 2 * body[0]
    if marker == 0xDD:
        return length == 4
    if marker == 0xDB and len(body) >= 1:  # quantisation tables of 1 + 64 or 1 + 128 bytes each
        sizes_fit = any((length - 2 - 129 * n16) % 65 == 0 for n16 in range(0, (length - 2) // 129 + 1))
        return body[0] >> 4 in (0, 1) and body[0] & 15 < 4 and sizes_fit
    if marker == 0xC4 and len(body) >= 1:  # Huffman tables: class 0/1, id 0..3, 16 counts at least
        return body[0] >> 4 in (0, 1) and body[0] & 15 < 4 and length >= 19
    return True


def _png_truncated(data: bytes) -> bool:
    """Walk the PNG chunks: True when well-formed chunks run into the end of the file before IEND."""
    pos, n = 8, len(data)
    while pos + 8 <= n:
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if not kind.isalpha() or length > 0x7FFFFFFF:
            return False
        if kind == b"IEND":
            return False
        pos += 12 + length
    return True


@contextmanager
def _open(src: Path | BinaryIO) -> Iterator[BinaryIO]:
    if isinstance(src, Path):
        with open(src, "rb") as f:
            yield f
    else:
        src.seek(0)
        yield src
        src.seek(0)


def _tiff_data_missing(src: Path | BinaryIO, size: int) -> bool | None:
    """True when a TIFF's image data (any IFD or SubIFD) points past the end of the file; None if unknown."""
    import tifffile
    try:
        with tifffile.TiffFile(src) as tif:
            todo = list(tif.pages)
            seen = 0
            while todo and seen < 64:
                page = todo.pop()
                seen += 1
                ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False) if c]
                if ends and max(ends) > size:
                    return True
                todo.extend(page.pages or [])
            return False
    except Exception:
        return None


# --------------------------------------------------------------------------------------------------------
# rasters: JPEG, PNG, WebP, TIFF
# --------------------------------------------------------------------------------------------------------
def _decode_raster(src: Path | BinaryIO, name: str, fmt: str, size: int, max_pixels: int,
                   max_edge: int | None) -> DecodedImage:
    looks_truncated = _truncation_check(src, fmt, size)
    with _translate(name, fmt, looks_truncated):
        raster = None
        if fmt == "tiff":
            if _tiff_data_missing(src, size):
                raise TruncatedImageError("the TIFF file stops before the end of its image data; it was "
                                          "probably not copied completely: copy it again", path=name)
            try:
                raster = _read_tiff(src, name, max_pixels)
            except RetouchError:
                raise
            except Exception as first:  # a codec or layout tifffile lacks: Pillow (libtiff) may read it
                try:
                    raster = _read_pillow(src, name, fmt, max_pixels, max_edge)
                except RetouchError:
                    raise
                except Exception:
                    raise first from None
        if raster is None:
            raster = _read_pillow(src, name, fmt, max_pixels, max_edge)
    return _finish(raster, name, fmt, max_edge)


def _finish(raster: _Raster, name: str, fmt: str, max_edge: int | None, *, is_raw: bool = False,
            kind: str = "image", source_size: tuple[int, int] | None = None, bit_depth: int | None = None,
            orientation: int | None = None) -> DecodedImage:
    """Colour-convert, orient and (optionally) downscale a raster into a DecodedImage."""
    notes = list(raster.notes)
    pixels, profile = _to_linear(raster, notes)
    o = raster.orientation if orientation is None else orientation
    pixels = apply_orientation(pixels, o)
    if max_edge is not None:
        pixels = resize_to_edge(pixels, max_edge)
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    if source_size is None:
        w, h = raster.stored_size
        source_size = (h, w) if transposes(o) else (w, h)
    return DecodedImage(pixels=pixels, path=name, format=fmt, is_raw=is_raw, source_size=source_size,
                        bit_depth=raster.bits if bit_depth is None else bit_depth, orientation=o, kind=kind,
                        scale=pixels.shape[1] / source_size[0], profile=profile, notes=notes)


def _exif_orientation(im: Image.Image, notes: list[str]) -> int:
    """EXIF orientation of a Pillow image (1 when absent, invalid or unreadable)."""
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:
        notes.append("EXIF block unreadable; orientation taken as normal")
        return 1
    return value if 1 <= value <= 8 else 1


def _draft_size(width: int, height: int, max_edge: int) -> tuple[int, int]:
    k = max_edge / max(width, height)
    return (math.ceil(width * k), math.ceil(height * k))


def _read_pillow(src: Path | BinaryIO, name: str, fmt: str, max_pixels: int, max_edge: int | None, *,
                 use_exif_orientation: bool = True) -> _Raster:
    """JPEG/PNG/WebP (and TIFF variants tifffile leaves to us) through Pillow."""
    notes: list[str] = []
    deep_png = fmt == "png" and _png_bit_depth(src) == 16  # read before Pillow holds the stream
    if not isinstance(src, Path):
        src.seek(0)
    with Image.open(src) as im:
        width, height = im.size
        _check_pixels(width, height, max_pixels, name)
        orientation = _exif_orientation(im, notes) if use_exif_orientation else 1
        profile = im.info.get("icc_profile") or None
        if deep_png:
            return _Raster(_png16(src), 16, False, profile, orientation, (width, height), notes)
        if fmt == "jpeg" and max_edge is not None and max(width, height) > max_edge:
            im.draft(im.mode, _draft_size(width, height, max_edge))  # DCT scaling: 1/2..1/8 at decode time
        im.load()
        if im.mode == "CMYK":
            im, profile = _cmyk_to_rgb(im, profile, notes)
        data, bits, is_float = _pillow_array(im)
    return _Raster(data, bits, is_float, profile, orientation, (width, height), notes)


def _png_bit_depth(src: Path | BinaryIO) -> int:
    with _open(src) as f:
        head = f.read(26)
    return head[24] if len(head) > 24 else 8


def _png16(src: Path | BinaryIO) -> np.ndarray:
    """A 16-bit PNG at full depth (imagecodecs/libpng), as HxWxC with C = 1 or 3."""
    import imagecodecs
    data = imagecodecs.png_decode(_read_all(src))
    if data.ndim == 2:
        return data[..., None]
    return data[..., :1] if data.shape[2] == 2 else data[..., :3]  # drop alpha


def _pillow_array(im: Image.Image) -> tuple[np.ndarray, int, bool]:
    """Pixels of a loaded Pillow image as HxWxC (C = 1 or 3), its bit depth and whether it is float."""
    if im.mode in ("RGB", "L"):
        data = np.asarray(im)
        return (data if data.ndim == 3 else data[..., None]), 8, False
    if im.mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16)[..., None], 16, False
    if im.mode == "I":
        return np.clip(np.asarray(im), 0, 65535).astype(np.uint16)[..., None], 16, False
    if im.mode == "F":
        return np.asarray(im, dtype=np.float32)[..., None], 32, True
    return np.asarray(im.convert("RGB")), 8, False  # P, PA, LA, RGBA, 1, YCbCr, ...: alpha dropped


@lru_cache(maxsize=1)
def _srgb_cms_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _cmyk_to_rgb(im: Image.Image, profile: bytes | None, notes: list[str]) -> tuple[Image.Image, None]:
    """CMYK through its embedded profile when there is one, else Pillow's naive conversion."""
    if profile:
        try:
            src_profile = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return ImageCms.profileToProfile(im, src_profile, _srgb_cms_profile(), outputMode="RGB"), None
        except Exception as exc:
            notes.append(f"CMYK profile unusable ({_short(exc)}); naive CMYK conversion used")
    else:
        notes.append("CMYK image without a profile; naive CMYK conversion used")
    return im.convert("RGB"), None


def _read_tiff(src: Path | BinaryIO, name: str, max_pixels: int) -> _Raster | None:
    """RGB/grey TIFFs (8/16/32-bit integer, 16/32/64-bit float) via tifffile; None for other kinds."""
    import tifffile
    from tifffile import PHOTOMETRIC
    if not isinstance(src, Path):
        src.seek(0)
    with tifffile.TiffFile(src) as tif:
        page = tif.pages.first
        _check_pixels(int(page.imagewidth), int(page.imagelength), max_pixels, name)
        photometric = page.photometric
        dtype = np.dtype(page.dtype) if page.dtype is not None else None
        if (photometric not in (PHOTOMETRIC.RGB, PHOTOMETRIC.MINISBLACK, PHOTOMETRIC.MINISWHITE)
                or dtype is None or dtype.kind not in "uf"):
            return None
        data = page.asarray()
        axes = page.axes
        orientation = int(page.tags.valueof(274, 1) or 1)
        profile = page.tags.valueof(34675)
        bits = int(page.bitspersample)
    if "S" in axes:
        data = np.moveaxis(data, axes.index("S"), -1)
        axes = axes.replace("S", "") + "S"
    if axes.replace("S", "") != "YX":
        return None  # volumes, multi-sample stacks: let Pillow try
    if data.ndim == 2:
        data = data[..., None]
    data = data[..., :3] if data.shape[2] >= 3 else data[..., :1]  # drop alpha / extra samples
    is_float = data.dtype.kind == "f"
    if photometric == PHOTOMETRIC.MINISWHITE:
        data = (1.0 - data) if is_float else (np.iinfo(data.dtype).max - data)
    if not is_float and data.dtype.itemsize > 2:  # 32-bit integer samples: keep the top 16 bits
        data = (data >> np.uint32(max(0, bits - 16))).astype(np.uint16)
        bits = min(bits, 16)
    if is_float:
        bits = 8 * data.dtype.itemsize
    return _Raster(data, bits, is_float, bytes(profile) if profile else None,
                   orientation if 1 <= orientation <= 8 else 1, (data.shape[1], data.shape[0]))


# --------------------------------------------------------------------------------------------------------
# colour
# --------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _srgb_lut(levels: int) -> np.ndarray:
    """sRGB-encoded integer level -> linear float32, for `levels` = 2**bits."""
    return color.srgb_to_linear(np.arange(levels, dtype=np.float64) / (levels - 1)).astype(np.float32)


def _lut_for(curve: icc.Curve, levels: int) -> np.ndarray:
    return curve(np.arange(levels, dtype=np.float64) / (levels - 1)).astype(np.float32)


def _levels(raster: _Raster) -> int:
    return 2 ** raster.bits


def _to_linear(raster: _Raster, notes: list[str]) -> tuple[np.ndarray, str]:
    """Stored pixels -> linear sRGB float32 HxWx3, honouring an embedded ICC profile."""
    data = raster.data
    info = None
    if raster.icc_profile:
        try:
            info = icc.parse_profile(raster.icc_profile)
        except (ValueError, IndexError, KeyError) as exc:
            notes.append(f"embedded ICC profile unreadable ({_short(exc)}); treated as sRGB")
    channels = data.shape[2]
    if info is not None and (channels == 3) != (info.colour_space == "RGB"):
        notes.append(f"ICC profile for {info.colour_space} does not match the pixels; treated as sRGB")
        info = None
    if info is None or icc.is_srgb(info):
        profile = "sRGB" if info is None else (info.description or "sRGB")
        if raster.is_float and info is None:
            out = data.astype(np.float32)  # float images without a profile are scene-linear already
            profile = "linear sRGB (assumed for float data)"
        elif raster.is_float:
            out = color.srgb_to_linear(data.astype(np.float32))
        else:
            out = _srgb_lut(_levels(raster))[_index(data, raster.bits)]
        return _rgb3(_clean(out, raster.is_float)), profile
    if info.curves is not None and (info.is_matrix_rgb or info.colour_space == "GRAY"):
        out = _apply_curves(data, info.curves, raster)
        if info.is_matrix_rgb:
            out = out @ info.to_srgb_matrix().T.astype(np.float32)
        return _rgb3(_clean(out, raster.is_float)), info.description or info.colour_space
    # LUT-based profiles: LittleCMS through Pillow, at 8 bits
    if raster.bits != 8 or raster.is_float:
        notes.append(f"ICC profile {info.description!r} is LUT-based; converted at 8 bits")
    return _rgb3(_cms_convert(data, raster, info, notes)), info.description or "ICC"


def _index(data: np.ndarray, bits: int) -> np.ndarray:
    """Integer samples as LUT indices (samples above the declared bit depth are clipped)."""
    return np.minimum(data, 2 ** bits - 1) if data.dtype.itemsize * 8 > bits else data


def _apply_curves(data: np.ndarray, curves: tuple[icc.Curve, ...], raster: _Raster) -> np.ndarray:
    out = np.empty(data.shape, dtype=np.float32)
    for c in range(data.shape[2]):
        curve = curves[min(c, len(curves) - 1)]
        if raster.is_float:
            out[..., c] = curve(data[..., c])
        else:
            out[..., c] = _lut_for(curve, _levels(raster))[_index(data[..., c], raster.bits)]
    return out


def _cms_convert(data: np.ndarray, raster: _Raster, info: icc.IccInfo, notes: list[str]) -> np.ndarray:
    """Convert through LittleCMS at 8 bits (for profiles we do not model), then linearise."""
    if raster.is_float:
        eight = np.clip(np.round(np.clip(data, 0, 1) * 255), 0, 255).astype(np.uint8)
    elif raster.bits != 8:
        eight = np.round(data.astype(np.float32) * (255.0 / (2 ** raster.bits - 1))).astype(np.uint8)
    else:
        eight = data
    mode = "RGB" if eight.shape[2] == 3 else "L"
    im = Image.fromarray(np.ascontiguousarray(eight if mode == "RGB" else eight[..., 0]), mode)
    try:
        src_profile = ImageCms.ImageCmsProfile(io.BytesIO(raster.icc_profile))
        im = ImageCms.profileToProfile(im, src_profile, _srgb_cms_profile(), outputMode="RGB")
    except Exception as exc:
        notes.append(f"ICC conversion failed ({_short(exc)}); treated as sRGB")
        im = im.convert("RGB")
    return _srgb_lut(256)[np.asarray(im)]


def _rgb3(pixels: np.ndarray) -> np.ndarray:
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels


def _clean(pixels: np.ndarray, is_float: bool) -> np.ndarray:
    """Clip integer-sourced pixels to 0..1; float sources keep highlights above 1 but lose NaN/negatives."""
    if is_float:
        return np.maximum(np.nan_to_num(pixels, nan=0.0, posinf=0.0, neginf=0.0), 0.0)
    return np.clip(pixels, 0.0, 1.0, out=pixels if pixels.dtype == np.float32 else None)


# --------------------------------------------------------------------------------------------------------
# camera raws and DNG
# --------------------------------------------------------------------------------------------------------
def _raw_params(half: bool) -> dict:
    """LibRaw settings: camera white balance, linear 16-bit sRGB, no auto-brightening (AHD when full)."""
    import rawpy
    return dict(half_size=half, demosaic_algorithm=rawpy.DemosaicAlgorithm.AHD, use_camera_wb=True,
                output_bps=16, gamma=(1.0, 1.0), no_auto_bright=True, output_color=rawpy.ColorSpace.sRGB)


@contextmanager
def _translate_raw(name: str, fmt: str, has_signature: bool) -> Iterator[None]:
    """LibRaw's exceptions -> typed errors (its 'unsupported' means damaged when the file looks like a raw)."""
    import rawpy
    try:
        yield
    except (rawpy.LibRawTooBigError, rawpy.LibRawUnsufficientMemoryError, rawpy.LibRawMemPoolOverflowError) as e:
        raise ImageTooLargeError(f"LibRaw cannot hold this raw in memory ({_short(e)})", path=name) from e
    except rawpy.LibRawFileUnsupportedError as exc:
        if has_signature:
            raise CorruptImageError(f"LibRaw cannot read this {fmt.upper()} file ({_short(exc)}); it is damaged "
                                    "or from a camera newer than this LibRaw", path=name) from exc
        raise UnsupportedFormatError("LibRaw does not recognise this file as a camera raw; check that it is "
                                     "a photo and not damaged", path=name) from exc


def _decode_raw(path: Path, fmt: str, head: bytes, purpose: str, max_pixels: int,
                max_edge: int | None) -> DecodedImage:
    import rawpy
    name = str(path)
    size = path.stat().st_size
    tiff_based = head[:4] in TIFF_MAGIC
    if tiff_based and _tiff_data_missing(path, size):
        raise TruncatedImageError(f"the {fmt.upper()} file stops before the end of its image data; it was "
                                  "probably not copied completely: copy it again", path=name)
    signature = tiff_based or fmt == "dng" or sniff_has_raw_signature(head)
    with _translate(name, fmt, _truncation_check(path, fmt, size)), _translate_raw(name, fmt, signature):
        with rawpy.imread(name) as raw:
            sizes = raw.sizes
            _check_pixels(int(sizes.raw_width), int(sizes.raw_height), max_pixels, name)
            orientation = _FLIP_TO_EXIF.get(int(sizes.flip), 1)
            w, h = int(sizes.width), int(sizes.height)
            full = (h, w) if transposes(orientation) else (w, h)
            notes: list[str] = []
            if purpose == "analysis":
                preview = _raw_preview(raw, name, orientation, full, max_pixels, max_edge, notes)
                if preview is not None:
                    preview.notes[:0] = notes
                    return _finish(preview, name, fmt, max_edge, is_raw=True, kind="preview",
                                   source_size=full, orientation=orientation)
            # (read only now: asking LibRaw for the white level unpacks the whole mosaic, which the preview
            # path above does not need)
            bits = max(8, int(raw.white_level).bit_length())
            rgb = raw.postprocess(**_raw_params(half=purpose == "analysis"))
    pixels = rgb.astype(np.float32)
    pixels *= np.float32(1.0 / 65535.0)
    if purpose == "render":
        full = (pixels.shape[1], pixels.shape[0])  # what LibRaw actually produced (after its flip)
    if max_edge is not None:
        pixels = resize_to_edge(pixels, max_edge)
    pixels = np.ascontiguousarray(pixels)
    return DecodedImage(pixels=pixels, path=name, format=fmt, is_raw=True, source_size=full, bit_depth=bits,
                        orientation=orientation, kind="half" if purpose == "analysis" else "full",
                        scale=pixels.shape[1] / full[0], profile="camera (LibRaw, sRGB primaries)", notes=notes)


def sniff_has_raw_signature(head: bytes) -> bool:
    """True when the first bytes are a known raw container signature (not just a raw extension)."""
    return (head[:4] in TIFF_MAGIC or head[:4] in (b"IIRO", b"IIRS", b"MMOR", b"IIU\0", b"FOVb")
            or head.startswith(b"FUJIFILM") or head[4:12] == b"ftypcrx " or head[6:14] == b"HEAPCCDR")


def _raw_preview(raw, name: str, orientation: int, full: tuple[int, int], max_pixels: int,
                 max_edge: int | None, notes: list[str]) -> _Raster | None:
    """The embedded preview as a raster when it is large enough and framed like the raw; else None."""
    import rawpy
    try:
        thumb = raw.extract_thumb()
    except rawpy.LibRawError:
        notes.append("no usable embedded preview; half-size raw decode used")
        return None
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            with _translate(name + " (embedded preview)", "jpeg"):
                raster = _read_pillow(io.BytesIO(thumb.data), name, "jpeg", max_pixels, max_edge,
                                      use_exif_orientation=False)  # the raw's own flip applies instead
        elif thumb.format == rawpy.ThumbFormat.BITMAP:
            data = np.asarray(thumb.data)
            if data.ndim == 2:
                data = data[..., None]
            bits = 16 if data.dtype == np.uint16 else 8
            raster = _Raster(data, bits, False, None, 1, (data.shape[1], data.shape[0]))
        else:
            return None
    except DecodeError as exc:
        notes.append(f"embedded preview unreadable ({exc.message}); half-size raw decode used")
        return None
    pw, ph = raster.stored_size
    if transposes(orientation):
        pw, ph = ph, pw
    if max(pw, ph) < PREVIEW_MIN_EDGE:
        notes.append(f"embedded preview is only {pw}x{ph}; half-size raw decode used")
        return None
    if abs((pw / ph) / (full[0] / full[1]) - 1.0) > PREVIEW_ASPECT_TOLERANCE:
        notes.append(f"embedded preview ({pw}x{ph}) is framed differently from the raw; half-size decode used")
        return None
    return raster
