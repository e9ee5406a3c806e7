"""Damaged, truncated, oversized and foreign files give the typed errors of core.errors, and nothing else."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from bridge_server.core.errors import (
    CorruptImageError, DecodeError, ImageTooLargeError, RetouchError, TruncatedImageError,
    UnsupportedFormatError,
)
from bridge_server.imaging import color, dng, encode
from bridge_server.imaging.decode import DEFAULT_MAX_PIXELS, decode, decode_bytes

# Every file here is damaged on purpose; Pillow warns about what it finds while we probe them.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")


def _write(folder, name: str, data: bytes):
    path = folder / name
    path.write_bytes(data)
    return path


def _png(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width x height but whose IDAT holds almost nothing."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def jpeg_bytes(shared_data) -> bytes:
    return (shared_data / "photos" / "three_men_closeup.jpg").read_bytes()


# -- corrupt -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"\xff\xd8\xff\xe2",
                                    b"\xff\xd8\xff\xdb", b"\xff\xd8\xff"])
def test_random_bytes_behind_a_jpeg_signature_are_corrupt_not_truncated(tmp_path, header):
    # Random lengths usually run past the end of the file, like a cut file; the segment contents tell them apart
    rng = np.random.default_rng(len(header) + header[-1])
    path = _write(tmp_path, "noise.jpg", header + rng.bytes(5000))
    with pytest.raises(CorruptImageError) as err:
        decode(path)
    assert not isinstance(err.value, TruncatedImageError)  # a watcher would wait for a copy to finish
    assert err.value.path == str(path) and err.value.code == "corrupt_image"


def test_random_bytes_behind_png_and_tiff_signatures_are_corrupt(tmp_path):
    rng = np.random.default_rng(7)
    for name, magic in (("noise.png", b"\x89PNG\r\n\x1a\n"), ("noise.tif", b"II*\0")):
        with pytest.raises(CorruptImageError) as err:
            decode(_write(tmp_path, name, magic + rng.bytes(3000)))
        assert not isinstance(err.value, TruncatedImageError), name


def test_damaged_raw_is_corrupt_but_random_raw_named_file_is_unsupported(tmp_path):
    rng = np.random.default_rng(8)
    with pytest.raises(CorruptImageError):
        decode(_write(tmp_path, "damaged.nef", b"II*\0" + rng.bytes(4000)))  # a TIFF container LibRaw rejects
    with pytest.raises(UnsupportedFormatError):
        decode(_write(tmp_path, "noise.nef", rng.bytes(4000)))  # nothing says it is a raw but its name


# -- truncated -----------------------------------------------------------------------------------------------
def test_jpeg_cut_in_half_or_after_its_header_is_truncated(tmp_path, jpeg_bytes):
    for name, data in (("half.jpg", jpeg_bytes[: len(jpeg_bytes) // 2]), ("head.jpg", jpeg_bytes[:300])):
        with pytest.raises(TruncatedImageError) as err:
            decode(_write(tmp_path, name, data))
        assert err.value.code == "truncated_image" and "copy" in err.value.message


def test_png_tiff_webp_cut_in_half_are_truncated(tmp_path, shared_data):
    png = (shared_data / "photos" / "bride_flowers_ppr10k.png").read_bytes()
    tiff_path = encode.write_tiff16(tmp_path / "full.tif", decode(shared_data / "photos" /
                                                                  "three_men_closeup.jpg").pixels)
    tiff = tiff_path.read_bytes()
    webp = io.BytesIO()
    Image.open(shared_data / "photos" / "three_men_closeup.jpg").save(webp, "WEBP", quality=90)
    for name, data in (("half.png", png), ("half.tif", tiff), ("half.webp", webp.getvalue())):
        with pytest.raises(TruncatedImageError):
            decode(_write(tmp_path, name, data[: len(data) // 2]))


def test_empty_file_is_truncated(tmp_path):
    with pytest.raises(TruncatedImageError):
        decode(_write(tmp_path, "empty.jpg", b""))


# -- too large ----------------------------------------------------------------------------------------------
def test_png_declaring_huge_dimensions_is_refused(tmp_path):
    with pytest.raises(ImageTooLargeError) as err:
        decode(_write(tmp_path, "bomb.png", _png(100_000, 100_000)))
    assert err.value.code == "image_too_large"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's softer level: we refuse
def test_declared_size_above_our_limit_is_refused_before_decoding(tmp_path):
    # 13000 x 13000 = 169 MP: under Pillow's own bomb error (179 MP), over our default limit (160 MP)
    assert 13000 * 13000 > DEFAULT_MAX_PIXELS
    with pytest.raises(ImageTooLargeError) as err:
        decode(_write(tmp_path, "big.png", _png(13000, 13000)))
    assert "13000x13000" in err.value.message and "max_pixels" in err.value.message


def test_jpeg_with_a_forged_frame_size_is_refused(tmp_path, jpeg_bytes):
    data = bytearray(jpeg_bytes)
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 60000, 60000)  # height, width in the SOF0 header
    with pytest.raises(ImageTooLargeError):
        decode(_write(tmp_path, "forged.jpg", bytes(data)))
    with pytest.raises(ImageTooLargeError):
        decode_bytes(bytes(data), "forged.jpg")


def test_tiff_declaring_huge_dimensions_is_refused(tmp_path):
    path = encode.write_tiff16(tmp_path / "small.tif", np.full((8, 8, 3), 0.5, np.float32))
    data = bytearray(path.read_bytes())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * i
        tag, kind = struct.unpack_from("<HH", data, entry)
        if tag in (256, 257):  # ImageWidth, ImageLength
            struct.pack_into("<HHII", data, entry, tag, 4, 1, 40000)
    with pytest.raises(ImageTooLargeError):
        decode(_write(tmp_path, "huge.tif", bytes(data)))


def test_max_pixels_applies_to_every_kind_of_file(shared_data, tmp_path):
    with pytest.raises(ImageTooLargeError):
        decode(shared_data / "photos" / "fivek_a1629_input.jpg", max_pixels=1_000_000)
    with pytest.raises(ImageTooLargeError):
        decode(shared_data / "raw" / "kodak_dc50.kdc", "render", max_pixels=100_000)
    mosaic = dng.synthesize_mosaic(np.full((64, 64, 3), 0.2))
    with pytest.raises(ImageTooLargeError):
        decode(dng.write_dng(tmp_path / "x.dng", mosaic), max_pixels=1000)


# -- unsupported ---------------------------------------------------------------------------------------------
def test_formats_are_sniffed_not_taken_from_the_extension(tmp_path, jpeg_bytes):
    with pytest.raises(UnsupportedFormatError):
        decode(_write(tmp_path, "notes.jpg", b"this is a text file, not a photo\n" * 10))
    with pytest.raises(UnsupportedFormatError) as gif:
        decode(_write(tmp_path, "anim.jpg", b"GIF89a" + b"\0" * 100))
    assert "GIF" in gif.value.message
    with pytest.raises(UnsupportedFormatError) as heic:
        decode(_write(tmp_path, "phone.heic", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 100))
    assert "HEIF" in heic.value.message
    # and a JPEG with a misleading name is still a JPEG
    assert decode(_write(tmp_path, "photo.png", jpeg_bytes)).format == "jpeg"


# -- fuzz: nothing but typed errors --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_files(shared_data, tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("fuzz")
    rgb8 = np.asarray(Image.open(shared_data / "photos" / "three_men_closeup.jpg").convert("RGB"))[:96, :128]
    linear = color.srgb_to_linear(rgb8 / 255.0)
    out = {}
    for fmt, options in (("jpeg", {"quality": 90}), ("png", {}), ("webp", {"quality": 80})):
        buffer = io.BytesIO()
        Image.fromarray(rgb8).save(buffer, fmt.upper(), **options)
        out[fmt] = buffer.getvalue()
    out["tiff"] = encode.write_tiff16(folder / "a.tif", linear, compression="deflate").read_bytes()
    out["tif8"] = encode.write_tiff16(folder / "b.tif", linear, colorspace="prophoto").read_bytes()
    out["dng"] = dng.write_dng(folder / "c.dng", dng.synthesize_mosaic(linear), preview=rgb8).read_bytes()
    return out


@pytest.mark.parametrize("kind", ["jpeg", "png", "webp", "tiff", "tif8", "dng"])
def test_damaged_variants_give_typed_errors_only(tmp_path, small_files, kind):
    data = small_files[kind]
    rng = np.random.default_rng(abs(hash(kind)) % 2**32)
    variants = [data[:cut] for cut in np.linspace(1, len(data) - 1, 12).astype(int)]
    for _ in range(16):
        damaged = bytearray(data)
        for at in rng.integers(8, len(data), size=int(rng.integers(1, 24))):
            damaged[at] = int(rng.integers(0, 256))
        variants.append(bytes(damaged))
    suffix = {"tif8": "tif", "tiff": "tif", "jpeg": "jpg"}.get(kind, kind)
    outcomes = {"ok": 0, "error": 0}
    for i, variant in enumerate(variants):
        path = _write(tmp_path, f"v{i}.{suffix}", variant)
        for purpose in ("analysis", "render") if kind == "dng" else ("analysis",):
            try:
                image = decode(path, purpose)
            except DecodeError as exc:
                assert isinstance(exc, RetouchError) and exc.message and exc.path == str(path)
                outcomes["error"] += 1
            else:
                assert image.pixels.ndim == 3 and image.pixels.shape[2] == 3 and np.isfinite(image.pixels).all()
                outcomes["ok"] += 1
    assert outcomes["error"] >= 10  # the truncations at least are caught
