"""Cross-cutting request handling: error shaping (outermost), Host and Origin checks, body size, bearer auth.

Order matters: the error middleware wraps everything so that every refusal below it becomes the same JSON
error shape; the Host and Origin checks run before auth so that a rebinding page learns nothing.
"""
from __future__ import annotations

import logging
import uuid

from aiohttp import web

from ..core.errors import RetouchError
from . import keys
from .errors import Busy, ForbiddenHost, ForbiddenOrigin, PayloadTooLarge, Unauthorized
from .security import host_allowed, origin_allowed, token_matches

log = logging.getLogger(__name__)

_HTTP_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type"}


def public(handler):
    """Mark a handler as reachable without the bearer token (health only)."""
    handler.public = True
    return handler


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}}


def error_response(exc: RetouchError) -> web.Response:
    headers = {}
    if isinstance(exc, Busy):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="airetouch"'
    return web.json_response({"error": exc.to_dict()}, status=exc.http_status, headers=headers)


@web.middleware
async def errors_middleware(request: web.Request, handler):
    """Every failure becomes `{"error": {code, message, field?, path?}}`; never a stack trace."""
    try:
        return await handler(request)
    except RetouchError as exc:
        if exc.http_status >= 500:
            log.error("%s %s: %s", request.method, request.path, exc)
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 413:
            return error_response(PayloadTooLarge(
                f"the request body is larger than the limit of {request.app[keys.CONFIG].max_body} bytes"))
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = {404: f"no such route: {request.method} {request.path}",
                   405: f"{request.method} is not allowed on {request.path}"}.get(exc.status, exc.reason)
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return web.json_response(error_body(code, message), status=exc.status, headers=headers)
    except Exception:  # noqa: BLE001 - the one place where unexpected errors are turned into a 500
        incident = uuid.uuid4().hex[:8]
        log.exception("internal error %s in %s %s", incident, request.method, request.path)
        return web.json_response(error_body("internal", f"internal error (incident {incident}); see the "
                                                        "server log"), status=500)


@web.middleware
async def host_origin_middleware(request: web.Request, handler):
    """Refuse foreign Host headers (DNS rebinding) and cross-origin browser requests."""
    extra = request.app[keys.EXTRA_HOSTS]
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    port = sockname[1] if sockname else None
    if not host_allowed(request.headers.get("Host"), port, extra):
        raise ForbiddenHost("requests must be addressed to 127.0.0.1, localhost or [::1] on this port")
    if not origin_allowed(request.headers.get("Origin"), extra):
        raise ForbiddenOrigin("cross-origin requests from web pages are not accepted")
    return await handler(request)


@web.middleware
async def size_middleware(request: web.Request, handler):
    """Refuse a declared oversized body before reading it (aiohttp's client_max_size catches the rest)."""
    limit = request.app[keys.CONFIG].max_body
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the request body ({request.content_length} bytes) is larger than the limit "
                              f"of {limit} bytes")
    return await handler(request)


@web.middleware
async def auth_middleware(request: web.Request, handler):
    route_handler = request.match_info.handler
    if getattr(route_handler, "public", False):
        return await handler(request)
    if not token_matches(request.headers.get("Authorization"), request.app[keys.TOKEN].token):
        if "Authorization" in request.headers:
            raise Unauthorized("the bearer token is wrong; the current one is in the token file "
                               "(`airetouch token` shows where)")
        raise Unauthorized("this route needs `Authorization: Bearer <token>` (`airetouch token` shows where "
                           "the token is kept)")
    return await handler(request)


MIDDLEWARES = (errors_middleware, host_origin_middleware, size_middleware, auth_middleware)
