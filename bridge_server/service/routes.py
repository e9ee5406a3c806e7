"""The HTTP routes (docs/API.md). Handlers are thin: parse the request, call the Retoucher on a worker, shape
the answer. Blocking work never runs on the event loop."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from aiohttp import web

from .. import __version__
from ..core.schema import plan_json_schema
from ..retoucher import PhotoRequest, PlanRequest
from . import keys, parse
from .errors import InvalidPath, InvalidRequest
from .middlewares import public
from .openapi import PLAN_OPTIONS, build_document, doc, ref

routes = web.RouteTableDef()


def _jsonable(value):
    """numpy scalars and arrays, paths and sets, which lower layers may hand back."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (Path, set, frozenset, tuple)):
        return str(value) if isinstance(value, Path) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


dumps = functools.partial(json.dumps, default=_jsonable, ensure_ascii=False)


def reply(data, status: int = 200, **kwargs) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps, **kwargs)


def sidecar_fields(written) -> dict:
    """What the lightroom layer reports after writing a sidecar: its path and the backup of the old one."""
    backup = getattr(written, "backup", None)
    return {"sidecar": str(getattr(written, "path", written)), "backup": str(backup) if backup else None}


def _state(request: web.Request):
    app = request.app
    return app[keys.RETOUCHER], app[keys.POOL]


# -- service description ---------------------------------------------------------------------------------
@routes.get("/v1/health")
@public
@doc("Whether the bridge runs: version, vision models and fallbacks, queue depth (no token needed)",
     response={"type": "object", "properties": {
         "status": {"const": "ok"}, "version": {"type": "string"},
         "models": {"type": "array", "items": {"type": "object"}}, "fallbacks": {"type": "array"},
         "queue": {"type": "object"}, "jobs": {"type": "object"}, "watch": {"type": "array"}}})
async def health(request: web.Request) -> web.Response:
    app = request.app
    return reply({"status": "ok", "version": __version__, **app[keys.MODEL_HEALTH],
                  "queue": app[keys.POOL].info(), "jobs": {"active": app[keys.JOBS].active()},
                  "watch": [w.status() for w in app[keys.WATCHERS]]})


@routes.get("/v1/openapi.json")
@doc("This OpenAPI document", response={"type": "object"})
async def openapi(request: web.Request) -> web.Response:
    return reply(build_document(routes))


@routes.get("/v1/schema/plan")
@doc("The JSON schema of a RetouchPlan", response={"type": "object"})
async def plan_schema(request: web.Request) -> web.Response:
    return reply(plan_json_schema())


# -- planning --------------------------------------------------------------------------------------------
@routes.post("/v1/plan")
@doc("Plan one photo: the plan, the applyDevelopSettings table, a summary and why",
     request={"type": "object", "required": ["photo"], "properties": {
         "photo": ref("Photo"), **PLAN_OPTIONS, "want_xmp": {"type": "boolean"}}},
     response="PlanResult", errors=(404, 409, 413, 415, 422, 503))
async def plan(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    retoucher, pool = _state(request)
    photo = await pool.run_unqueued(parse.photo, data.get("photo"))  # stat, base64: off the loop
    plan_request = parse.plan_request(data)
    want_xmp = bool(parse.field(data, "want_xmp", bool))

    def work() -> dict:
        result = retoucher.plan(photo, plan_request)
        out = result.to_dict()
        if want_xmp:
            out["xmp"] = retoucher.xmp_packet(result.plan, is_raw=photo.raw)
        return out

    return reply(await pool.run(work))


@routes.post("/v1/sidecar")
@doc("Write (merge) the photo's XMP sidecar; plans first when no plan is given",
     request={"type": "object", "required": ["photo"], "properties": {"photo": ref("Photo"), **PLAN_OPTIONS}},
     response={"type": "object", "properties": {"sidecar": {"type": "string"}, "backup": {"type": "string"},
                                                "plan": ref("Plan")}},
     errors=(404, 409, 415, 422, 503))
async def sidecar(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    retoucher, pool = _state(request)
    photo = await pool.run_unqueued(parse.photo, data.get("photo"))  # stat, base64: off the loop
    plan_request = parse.plan_request(data)

    def work() -> dict:
        result = retoucher.plan(photo, plan_request)
        return {**sidecar_fields(retoucher.write_sidecar(photo, result.plan)), "plan": result.plan.to_dict()}

    return reply(await pool.run(work))


@routes.post("/v1/render")
@doc("Render the photo with a plan (or a sidecar's settings, or the automatic plan) to a JPEG or 16-bit TIFF",
     request={"type": "object", "required": ["photo", "out"], "properties": {
         "photo": ref("Photo"), "plan": ref("Plan"), "xmp_path": {"type": "string"}, "catalog": ref("Catalog"),
         "out": {"type": "string"}, "format": {"enum": ["jpeg", "tiff"]},
         "colorspace": {"enum": ["srgb", "adobe_rgb", "prophoto"]}, "overwrite": {"type": "boolean"}}},
     response={"type": "object", "properties": {"out": {"type": "string"}, "width": {"type": "integer"},
                                                "height": {"type": "integer"}}},
     errors=(404, 409, 415, 422, 503))
async def render(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    retoucher, pool = _state(request)
    photo = await pool.run_unqueued(parse.photo, data.get("photo"))  # stat, base64: off the loop
    out = parse.out_path(data.get("out"), "out", overwrite=bool(parse.field(data, "overwrite", bool)),
                         sources=(photo.path,) if photo.path else ())
    default_format = "tiff" if out.suffix.lower() in (".tif", ".tiff") else "jpeg"
    fmt = parse.choice(data, "format", ("jpeg", "tiff"), default_format)
    colorspace = parse.choice(data, "colorspace", ("srgb", "adobe_rgb", "prophoto"), "srgb")
    if fmt == "jpeg" and colorspace != "srgb":
        raise InvalidRequest("JPEG renderings are sRGB; use format tiff for Adobe RGB or ProPhoto",
                             field="colorspace")
    explicit = parse.plan(data.get("plan"))
    xmp_path = parse.photo_path(data["xmp_path"], "xmp_path") if data.get("xmp_path") is not None else None
    if explicit is not None and xmp_path is not None:
        raise InvalidRequest("give a plan or an xmp_path, not both", field="xmp_path")
    catalog = parse.catalog(data.get("catalog"))

    def work() -> dict:
        if xmp_path is not None:
            chosen = retoucher.read_plan(xmp_path)
        else:
            chosen = retoucher.plan(photo, PlanRequest(base=explicit, catalog=catalog)).plan
        return retoucher.render(photo, chosen, out, format=fmt, colorspace=colorspace)

    return reply(await pool.run(work))


# -- batch jobs ------------------------------------------------------------------------------------------
@routes.post("/v1/jobs")
@doc("Start a batch: plan (and optionally write the sidecar of) each photo, one after another",
     request={"type": "object", "required": ["photos"], "properties": {
         "photos": {"type": "array", "items": ref("Photo"), "minItems": 1}, **PLAN_OPTIONS,
         "mode": {"enum": ["plan", "sidecar"]}}},
     response={"type": "object", "properties": {"job_id": {"type": "string"}, "total": {"type": "integer"},
                                                "state": {"type": "string"}}},
     status=202, errors=(503,))
async def create_job(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    photos = parse.field(data, "photos", list, required=True)
    if not photos:
        raise InvalidRequest("photos must list at least one photo", field="photos")
    entries = [parse.photo_shape(p, f"photos[{i}]") for i, p in enumerate(photos)]
    plan_request = parse.plan_request(data)
    mode = parse.choice(data, "mode", ("plan", "sidecar"), "plan")
    retoucher = request.app[keys.RETOUCHER]

    def run_one(entry: dict) -> dict:
        photo = parse.photo(entry)  # a missing or unreadable file becomes this photo's error
        result = retoucher.plan(photo, plan_request)
        out = {k: v for k, v in result.to_dict().items() if k not in ("photo_id", "path")}
        if mode == "sidecar":
            out.update(sidecar_fields(retoucher.write_sidecar(photo, result.plan)))
        return out

    def describe(index: int, entry: dict) -> dict:
        return {"index": index, "photo_id": entry.get("photo_id"), "path": entry.get("path")}

    job = request.app[keys.JOBS].submit(mode, entries, run_one, describe)
    return reply({"job_id": job.id, "total": job.total, "state": job.state}, status=202,
                 headers={"Location": f"/v1/jobs/{job.id}"})


def _since(request: web.Request) -> int:
    value = request.query.get("since", "0")
    if not value.isdigit():
        raise InvalidRequest("since must be a whole number (results already seen)", field="since")
    return int(value)


@routes.get("/v1/jobs/{job_id}")
@doc("A job's state, progress and per-photo results (?since=N: only results after the first N)",
     response="Job", query={"since": "number of results already seen"}, errors=(404,))
async def get_job(request: web.Request) -> web.Response:
    job = request.app[keys.JOBS].get(request.match_info["job_id"])
    return reply(job.to_dict(since=_since(request)))


@routes.post("/v1/jobs/{job_id}/cancel")
@doc("Cancel a job: the photo being processed finishes, the rest are not processed", response="Job",
     errors=(404,))
async def cancel_job(request: web.Request) -> web.Response:
    return reply(request.app[keys.JOBS].cancel(request.match_info["job_id"]).to_dict())


# -- learning and memory ---------------------------------------------------------------------------------
@routes.post("/v1/feedback")
@doc("Teach: record what the photographer kept for a photo in the catalog's style memory",
     request={"type": "object", "required": ["catalog", "photo"], "properties": {
         "catalog": ref("Catalog"), "photo": ref("Photo"), "proposed": ref("Plan")}},
     response={"type": "object", "properties": {"recorded": {"type": "boolean"}, "events": {"type": "integer"}}},
     errors=(404, 415, 422, 503))
async def feedback(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    catalog = parse.catalog(data.get("catalog"), required=True)
    retoucher, pool = _state(request)
    photo = await pool.run_unqueued(parse.photo, data.get("photo"))  # stat, base64: off the loop
    if photo.settings is None:
        raise InvalidRequest("photo.settings (what the photographer kept) is required", field="photo.settings")
    proposed = parse.plan(data.get("proposed"), "proposed")
    return reply(await pool.run(retoucher.feedback, catalog, photo, proposed))


@routes.get("/v1/catalogs/{catalog_id}/memory")
@doc("What the style memory of a catalog holds: events, per scene group and region offsets",
     response={"type": "object"}, errors=(404,))
async def memory_summary(request: web.Request) -> web.Response:
    retoucher, pool = _state(request)
    return reply(await pool.run_unqueued(retoucher.memory_summary, {"id": request.match_info["catalog_id"]}))


@routes.delete("/v1/catalogs/{catalog_id}/memory")
@doc("Forget everything learned for a catalog (what was forgotten is kept in a backup file)",
     response={"type": "object", "properties": {"reset": {"type": "boolean"}, "backup": {"type": "string"}}})
async def memory_reset(request: web.Request) -> web.Response:
    retoucher, pool = _state(request)
    backup = await pool.run_unqueued(retoucher.memory_reset, {"id": request.match_info["catalog_id"]})
    return reply({"reset": True, "backup": backup})


@routes.post("/v1/catalogs/{catalog_id}/learn")
@doc("Learn a catalog's style from a Lightroom catalog file's develop history (a job; the file is only read)",
     request={"type": "object", "required": ["lrcat"], "properties": {"lrcat": {"type": "string"}}},
     response={"type": "object", "properties": {"job_id": {"type": "string"}, "total": {"type": "integer"}}},
     status=202, errors=(404, 422, 503))
async def learn(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    lrcat = parse.photo_path(data.get("lrcat"), "lrcat")
    catalog = {"id": request.match_info["catalog_id"], "path": str(lrcat)}
    retoucher = request.app[keys.RETOUCHER]
    holder: dict = {}  # the job, for the worker's progress and cancel hooks (set before the work starts)

    def progress(done: int, total: int, path: str) -> None:
        holder["job"].progress = {"done": done, "total": total, "current": str(path)}

    def run_one(path: Path) -> dict:
        return retoucher.learn(catalog, path, progress=progress, cancel=lambda: holder["job"].cancel_requested)

    job = request.app[keys.JOBS].submit("learn", [lrcat], run_one,
                                        lambda index, path: {"index": index, "path": str(path)},
                                        fail_on_error=True)
    holder["job"] = job
    return reply({"job_id": job.id, "total": job.total, "state": job.state}, status=202,
                 headers={"Location": f"/v1/jobs/{job.id}"})


@routes.post("/v1/presets")
@doc("Save a plan, or the catalog's learned style, as Lightroom develop presets",
     request={"type": "object", "required": ["name"], "properties": {
         "name": {"type": "string"}, "group": {"type": "string"}, "dir": {"type": "string"},
         "plan": ref("Plan"), "catalog": ref("Catalog")}},
     response={"type": "object", "properties": {
         "paths": {"type": "array", "items": {"type": "string"}},
         "presets": {"type": "array", "items": {"type": "object"}}}},
     errors=(404, 422))
async def presets(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    name = parse.field(data, "name", str, required=True).strip()
    if not name:
        raise InvalidRequest("name must not be empty", field="name")
    group = parse.field(data, "group", str) or "AI Retouch"
    directory = parse.field(data, "dir", str)
    if directory is not None and not Path(directory).is_absolute():
        raise InvalidPath("dir must be an absolute path", path=directory, field="dir")
    folder = Path(directory) if directory else None
    explicit = parse.plan(data.get("plan"))
    catalog = parse.catalog(data.get("catalog"))
    if explicit is None and catalog is None:
        raise InvalidRequest("give a plan, or a catalog whose learned style to save", field="plan")
    retoucher, pool = _state(request)

    def work() -> list[tuple[str, Path]]:
        if explicit is not None:
            return [(name, retoucher.write_preset(explicit, name, group, folder))]
        return retoucher.memory_presets(catalog, name, group, folder)

    written = await pool.run_unqueued(work)
    return reply({"paths": [str(p) for _, p in written],
                  "presets": [{"name": label, "path": str(p)} for label, p in written]})


# -- match a look ---------------------------------------------------------------------------------------
@routes.post("/v1/match")
@doc("Match a look: fit develop settings to an exemplar before/after pair, apply them to each target photo",
     request={"type": "object", "required": ["before", "after", "targets"], "properties": {
         "before": ref("Photo"), "after": ref("Photo"), "targets": {"type": "array", "items": ref("Photo")},
         "write_sidecars": {"type": "boolean"}}},
     response={"type": "object", "properties": {"plan": ref("Plan"), "fit": {"type": "object"},
                                                "results": {"type": "array", "items": {"type": "object"}}}},
     errors=(404, 415, 422, 503))
async def match(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    retoucher, pool = _state(request)
    targets = parse.field(data, "targets", list, required=True)
    write_sidecars = parse.field(data, "write_sidecars", bool)
    before = await pool.run_unqueued(parse.photo, data.get("before"), "before")  # stat, base64: off the loop
    after = await pool.run_unqueued(parse.photo, data.get("after"), "after")
    photos = [await pool.run_unqueued(parse.photo, t, f"targets[{i}]") for i, t in enumerate(targets)]

    steps = request.app[keys.CONFIG].match_steps

    def work() -> dict:
        return retoucher.match(before, after, photos, write_sidecars=write_sidecars is not False, steps=steps)

    return reply(await pool.run(work))


# -- people ----------------------------------------------------------------------------------------------
@routes.get("/v1/photos/faces")
@doc("The people in a photo with face boxes and small thumbnails, for choosing whom to retouch",
     query={"path": "absolute path of the photo"}, response={"type": "object", "properties": {
         "path": {"type": "string"}, "people": {"type": "array", "items": {"type": "object"}}}},
     errors=(404, 415, 422, 503))
async def faces(request: web.Request) -> web.Response:
    if "path" not in request.query:
        raise InvalidRequest("the path query parameter is required", field="path")
    path = parse.photo_path(request.query["path"], "path")
    retoucher, pool = _state(request)
    return reply({"path": str(path), "people": await pool.run(retoucher.faces, PhotoRequest(path=path))})


# -- variants --------------------------------------------------------------------------------------------
@routes.post("/v1/variants")
@doc("A few distinct candidate retouches (natural, bright & airy, warm, moody, clean & cool) with previews",
     request={"type": "object", "required": ["photo"], "properties": {
         "photo": ref("Photo"), **PLAN_OPTIONS, "n": {"type": "integer", "minimum": 3, "maximum": 5}}},
     response={"type": "object", "properties": {"variants": {"type": "array", "items": {"type": "object"}}}},
     errors=(404, 415, 422, 503))
async def variants(request: web.Request) -> web.Response:
    data = await parse.json_body(request)
    retoucher, pool = _state(request)
    photo = await pool.run_unqueued(parse.photo, data.get("photo"))
    plan_request = parse.plan_request(data)
    count = parse.field(data, "n", int)
    if count is not None and not 3 <= count <= 5:
        raise InvalidRequest("n must be 3 to 5", field="n")

    def work() -> dict:
        found = retoucher.variants(photo, plan_request, n=count or 4)
        return {"variants": [v.to_dict(settings=retoucher.settings_table(v.plan, is_raw=photo.raw)) for v in found]}

    return reply(await pool.run(work))
