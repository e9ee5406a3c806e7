"""Turn request JSON into the facade's types, with a typed error naming the offending field."""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import os
import stat
from pathlib import Path
from typing import Any

from aiohttp import web

from ..core.errors import NotFoundError, PermissionDeniedError, PlanError
from ..core.plan import RetouchPlan
from ..retoucher import PhotoRequest, PlanRequest
from .errors import InvalidPath, InvalidRequest, OutputExists

LARGE_BODY = 256 * 1024


async def json_body(request: web.Request) -> dict:
    """The body as a JSON object (aiohttp enforces the size limit while reading)."""
    raw = await request.read()
    if not raw:
        raise InvalidRequest("the request needs a JSON body")
    try:
        if len(raw) > LARGE_BODY:  # uploaded previews: parse off the event loop
            data = await asyncio.get_running_loop().run_in_executor(None, json.loads, raw)
        else:
            data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object")
    return data


def field(data: dict, name: str, kind: type | tuple, *, required: bool = False, where: str = "") -> Any:
    value = data.get(name)
    label = f"{where}{name}"
    if value is None:
        if required:
            raise InvalidRequest(f"{label} is required", field=label)
        return None
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise InvalidRequest(f"{label} must be a number", field=label)
    if not isinstance(value, kind):
        names = {str: "a string", dict: "an object", list: "a list", bool: "true or false",
                 (int, float): "a number"}
        raise InvalidRequest(f"{label} must be {names.get(kind, kind)}", field=label)
    return value


def photo_path(value: Any, label: str) -> Path:
    """An absolute path to an existing regular file we can read (422 / 404 / 403 naming it)."""
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{label} must be a path", field=label)
    if "\x00" in value:
        raise InvalidPath("a path cannot contain NUL characters", field=label)
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise InvalidPath("the path must be absolute", path=value, field=label)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise NotFoundError("file not found", path=str(path), field=label) from None
    except PermissionError:
        raise PermissionDeniedError("no permission to reach this file", path=str(path), field=label) from None
    except OSError as exc:
        raise InvalidPath(f"not a usable path ({exc.strerror})", path=str(path), field=label) from None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidPath("not a regular file", path=str(path), field=label)
    if not os.access(path, os.R_OK):
        raise PermissionDeniedError("no permission to read this file", path=str(path), field=label)
    return path


def out_path(value: Any, label: str, *, overwrite: bool, sources: tuple[Path, ...] = ()) -> Path:
    """An absolute output path in an existing folder; never one of the sources, never an existing file
    unless `overwrite`."""
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{label} must be a path", field=label)
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise InvalidPath("the output path must be absolute", path=value, field=label)
    if not path.parent.is_dir():
        raise NotFoundError("the output folder does not exist", path=str(path.parent), field=label)
    for source in sources:
        if path.exists() and path.resolve() == source.resolve():
            raise InvalidPath("the output would overwrite the original photo", path=str(path), field=label)
    if path.exists():
        if not path.is_file():
            raise InvalidPath("the output path is not a regular file", path=str(path), field=label)
        if not overwrite:
            raise OutputExists("a file already exists there; pass \"overwrite\": true to replace it",
                               path=str(path), field=label)
    return path


def photo(data: Any, label: str = "photo") -> PhotoRequest:
    if not isinstance(data, dict):
        raise InvalidRequest(f"{label} must be an object with a path (or a preview)", field=label)
    preview = None
    if data.get("preview") is not None:
        text = field(data, "preview", str, where=f"{label}.")
        try:
            preview = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("the preview must be base64 (a JPEG or PNG)", field=f"{label}.preview") from None
    raw_path = data.get("path")
    if preview is None:
        if raw_path is None:
            raise InvalidRequest(f"{label} needs a path (or a base64 preview)", field=f"{label}.path")
        path = photo_path(raw_path, f"{label}.path")
    else:  # the preview is what we analyse; the path (if any) only names the photo and its sidecar
        path = Path(raw_path) if isinstance(raw_path, str) and raw_path else None
    photo_id = data.get("photo_id")
    if photo_id is not None and not isinstance(photo_id, (str, int)):
        raise InvalidRequest(f"{label}.photo_id must be a string", field=f"{label}.photo_id")
    return PhotoRequest(path=path, preview=preview, photo_id=str(photo_id) if photo_id is not None else None,
                        settings=field(data, "settings", dict, where=f"{label}."),
                        is_raw=field(data, "is_raw", bool, where=f"{label}."))


def photo_shape(data: Any, label: str) -> dict:
    """Check a job's photo entry without touching the file (a missing file is that photo's error)."""
    if not isinstance(data, dict) or not (isinstance(data.get("path"), str) or isinstance(data.get("preview"), str)):
        raise InvalidRequest(f"{label} must be an object with a path (or a preview)", field=label)
    return data


def catalog(data: Any, label: str = "catalog", *, required: bool = False) -> dict | None:
    if data is None:
        if required:
            raise InvalidRequest(f"{label} is required (an object with an id or a path)", field=label)
        return None
    if not isinstance(data, dict) or not any(isinstance(data.get(k), str) and data.get(k) for k in ("id", "path")):
        raise InvalidRequest(f"{label} must be an object with an id or a path", field=label)
    return {k: data[k] for k in ("id", "path", "name") if isinstance(data.get(k), str)}


def plan(data: Any, label: str = "plan") -> RetouchPlan | None:
    if data is None:
        return None
    try:
        return RetouchPlan.from_dict(data)
    except PlanError as exc:
        exc.field = f"{label}.{exc.field}" if exc.field else label
        raise


def strength(data: dict) -> float:
    value = field(data, "strength", (int, float))
    if value is None:
        return 1.0
    if math.isnan(value) or not 0.0 <= value <= 2.0:
        raise InvalidRequest("strength must be between 0 and 2", field="strength")
    return float(value)


def plan_request(data: dict) -> PlanRequest:
    """`catalog?, instruction?, strength?, attributes?, clicks?, plan?` -> PlanRequest."""
    attributes = field(data, "attributes", dict)
    if attributes is not None:
        for key, values in attributes.items():
            if not isinstance(values, dict) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values()):
                raise InvalidRequest("attributes are {region: {attribute: number}}", field=f"attributes.{key}")
    clicks = field(data, "clicks", list)
    if clicks is not None and not all(isinstance(c, dict) for c in clicks):
        raise InvalidRequest("clicks must be a list of objects", field="clicks")
    return PlanRequest(base=plan(data.get("plan")), instruction=field(data, "instruction", str),
                       attributes=attributes, clicks=clicks, strength=strength(data),
                       catalog=catalog(data.get("catalog")))


def choice(data: dict, name: str, choices: tuple[str, ...], default: str) -> str:
    value = field(data, name, str) or default
    if value not in choices:
        raise InvalidRequest(f"{name} must be one of {', '.join(choices)}, not {value!r}", field=name)
    return value
