"""Errors the service itself raises (auth, host and origin checks, request shape, queue), with stable codes.

They extend the core `RetouchError`, so the error middleware shapes them exactly like errors from lower layers.
"""
from __future__ import annotations

from ..core.errors import RetouchError


class ServiceError(RetouchError):
    code = "invalid_request"
    http_status = 400


class InvalidRequest(ServiceError):
    """The request body or a parameter is missing, of the wrong type or out of range."""

    code = "invalid_request"
    http_status = 400


class Unauthorized(ServiceError):
    code = "unauthorized"
    http_status = 401


class ForbiddenHost(ServiceError):
    """A Host header other than loopback: the signature of a DNS-rebinding attack."""

    code = "forbidden_host"
    http_status = 403


class ForbiddenOrigin(ServiceError):
    """A browser page from another origin is calling us."""

    code = "forbidden_origin"
    http_status = 403


class PayloadTooLarge(ServiceError):
    code = "payload_too_large"
    http_status = 413


class InvalidPath(ServiceError):
    """A path that cannot name a photo: relative, or a folder or device rather than a regular file."""

    code = "invalid_path"
    http_status = 422


class OutputExists(ServiceError):
    """An output path that already holds a file: we never overwrite a file unless asked to."""

    code = "out_exists"
    http_status = 409


class Busy(ServiceError):
    """The work queue is full; the client should try again after `retry_after` seconds."""

    code = "busy"
    http_status = 503

    def __init__(self, message: str, *, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["retry_after"] = self.retry_after
        return out


class ConfigError(ServiceError):
    """The server's or the watcher's own configuration is unusable (bad host, folder missing...)."""

    code = "invalid_config"
    http_status = 500
