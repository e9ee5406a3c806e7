"""Typed errors with stable codes: the API, the CLI and the watcher all report these the same way."""
from __future__ import annotations


class RetouchError(Exception):
    """Base error. `code` is stable (clients match on it); `message` is for people; `field`/`path` say where."""

    code = "retouch_error"
    http_status = 400

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.field = field

    def to_dict(self) -> dict:
        out = {"code": self.code, "message": self.message}
        if self.path is not None:
            out["path"] = str(self.path)
        if self.field is not None:
            out["field"] = self.field
        return out

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message}"


class PlanError(RetouchError):
    """A plan, or a value in it, cannot be understood (unknown parameter or region, wrong type)."""

    code = "invalid_plan"
    http_status = 422


class DecodeError(RetouchError):
    """An image could not be decoded."""

    code = "decode_failed"
    http_status = 422


class UnsupportedFormatError(DecodeError):
    code = "unsupported_format"
    http_status = 415


class CorruptImageError(DecodeError):
    code = "corrupt_image"


class TruncatedImageError(CorruptImageError):
    code = "truncated_image"


class ImageTooLargeError(DecodeError):
    """Pixel count above the limit (decompression bombs included)."""

    code = "image_too_large"
    http_status = 413


class XmpError(RetouchError):
    """An XMP packet is malformed or holds no Camera Raw settings we can read."""

    code = "malformed_xmp"
    http_status = 422


class SidecarConflictError(XmpError):
    """An existing sidecar cannot be merged safely, so it is left untouched."""

    code = "sidecar_unmergeable"
    http_status = 409


class MetadataError(RetouchError):
    code = "metadata_failed"
    http_status = 500


class NotFoundError(RetouchError):
    code = "not_found"
    http_status = 404


class PermissionDeniedError(RetouchError):
    code = "permission_denied"
    http_status = 403


class NothingLearnedError(RetouchError):
    """A style was asked for, but the memory holds no edits to learn it from yet."""

    code = "nothing_learned"
    http_status = 409
