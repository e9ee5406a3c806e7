"""The bridge's HTTP routes, against a real server on 127.0.0.1 with real files (docs/API.md)."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import threading
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from bridge_server import __version__
from bridge_server.core.paths import config_dir
from bridge_server.core.schema import plan_json_schema
from bridge_server.retoucher import Retoucher
from bridge_server.service.app import create_app
from bridge_server.service.config import ServerConfig

pytestmark = pytest.mark.asyncio

CORRUPT_CODES = {"corrupt_image", "truncated_image", "decode_failed"}


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class GatedRetoucher(Retoucher):
    """The real Retoucher whose plan() waits at a gate per call, so a test decides when each photo ends."""

    def __init__(self, open_calls: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0
        self.started = threading.Semaphore(0)
        self.gates = [threading.Event() for _ in range(64)]
        for gate in self.gates[:open_calls]:
            gate.set()
        self._count = threading.Lock()

    def plan(self, photo, request=None):
        with self._count:
            index = self.calls
            self.calls += 1
        self.started.release()
        if not self.gates[index].wait(30):
            raise TimeoutError("gate never opened")
        return super().plan(photo, request)

    def open_all(self):
        for gate in self.gates:
            gate.set()


async def wait_started(retoucher: GatedRetoucher, n: int = 1) -> None:
    for _ in range(n):
        assert await asyncio.get_running_loop().run_in_executor(None, retoucher.started.acquire, True, 30)


@pytest.fixture
def make_client(aiohttp_client):
    """A real server on 127.0.0.1 (free port) and a client sending the token read from the token file."""
    async def make(retoucher=None, **config):
        app = create_app(ServerConfig(**{"use_models": False, **config}), retoucher=retoucher)
        client = await aiohttp_client(app)
        token = (config_dir() / "token").read_text().strip()
        client.auth_headers = {"Authorization": f"Bearer {token}"}
        return client
    return make


@pytest.fixture
def photos(sample_photos, tmp_path):
    """Copies of the sample photos in a folder of our own (sidecars are written next to them)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    copies = []
    for photo in sample_photos:
        shutil.copy(photo, folder / photo.name)
        copies.append(folder / photo.name)
    return copies


async def get(client, path, **kwargs):
    return await client.get(path, headers=client.auth_headers, **kwargs)


async def post(client, path, body=None, **kwargs):
    return await client.post(path, json=body, headers=client.auth_headers, **kwargs)


async def poll_job(client, job_id, until=("done", "cancelled", "failed"), timeout=120.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        resp = await get(client, f"/v1/jobs/{job_id}")
        assert resp.status == 200, await resp.text()
        job = await resp.json()
        if job["state"] in until:
            return job
        assert asyncio.get_running_loop().time() < deadline, f"job still {job['state']}: {job}"
        await asyncio.sleep(0.05)


# -- service description --------------------------------------------------------------------------------
async def test_health_answers_without_a_token_with_version_models_and_queue(make_client):
    client = await make_client(workers=2, queue_limit=7)
    resp = await client.get("/v1/health")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok" and body["version"] == __version__
    assert isinstance(body["models"], list) and isinstance(body["fallbacks"], list)
    assert body["fallbacks"], "with models disabled the health report must name the fallbacks in use"
    assert body["queue"]["depth"] == 0 and body["queue"]["limit"] == 7 and body["queue"]["workers"] == 2


async def test_openapi_document_describes_every_route_and_the_plan_schema(make_client):
    client = await make_client()
    resp = await get(client, "/v1/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    served = {(r.method.lower(), r.resource.canonical) for r in client.app.router.routes() if r.method != "HEAD"}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented
    assert doc["components"]["schemas"]["Plan"] == plan_json_schema()
    assert doc["paths"]["/v1/health"]["get"]["security"] == []
    assert "401" in doc["paths"]["/v1/plan"]["post"]["responses"]


async def test_plan_schema_route_serves_the_core_schema(make_client):
    client = await make_client()
    resp = await get(client, "/v1/schema/plan")
    assert resp.status == 200
    assert await resp.json() == plan_json_schema()


async def test_unknown_route_and_wrong_method_are_json_errors(make_client):
    client = await make_client()
    resp = await get(client, "/v1/nothing-here")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
    resp = await client.delete("/v1/plan", headers=client.auth_headers)
    assert resp.status == 405 and (await resp.json())["error"]["code"] == "method_not_allowed"


# -- plan ------------------------------------------------------------------------------------------------
async def test_plan_returns_plan_settings_summary_and_notes_for_a_real_photo(make_client, photos):
    client = await make_client()
    original = sha256(photos[0])
    resp = await post(client, "/v1/plan", {"photo": {"path": str(photos[0]), "photo_id": "lr-42"}})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["photo_id"] == "lr-42" and body["path"] == str(photos[0])
    assert body["plan"]["schema_version"] == 1
    assert isinstance(body["settings"], dict) and isinstance(body["summary"], str)
    assert isinstance(body["notes"], list)
    assert sha256(photos[0]) == original


async def test_plan_accepts_an_uploaded_preview_for_a_file_the_server_cannot_read(make_client, sample_photos):
    client = await make_client()
    jpeg = next(p for p in sample_photos if p.suffix == ".jpg")
    photo = {"preview": base64.b64encode(jpeg.read_bytes()).decode(), "photo_id": "lr-7",
             "path": "/Volumes/CARD/DCIM/IMG_0007.CR3", "is_raw": True}
    resp = await post(client, "/v1/plan", {"photo": photo})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["photo_id"] == "lr-7" and body["path"] == photo["path"]
    resp = await post(client, "/v1/plan", {"photo": {**photo, "preview": "not base64!"}})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "photo.preview"


async def test_plan_with_an_explicit_plan_keeps_its_values(make_client, photos):
    client = await make_client()
    explicit = {"global": {"Exposure2012": 0.5, "Contrast2012": -20}}
    resp = await post(client, "/v1/plan", {"photo": {"path": str(photos[1])}, "plan": explicit})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["plan"]["global"]["Exposure2012"] == 0.5 and body["plan"]["global"]["Contrast2012"] == -20
    assert "xmp" not in body
    resp = await post(client, "/v1/plan", {"photo": {"path": str(photos[1])}, "plan": explicit, "want_xmp": True})
    assert resp.status == 200, await resp.text()
    xmp = (await resp.json())["xmp"]
    assert "http://ns.adobe.com/camera-raw-settings/1.0/" in xmp and "Exposure2012" in xmp


async def test_plan_of_a_corrupt_image_is_422_naming_the_file(make_client, tmp_path, sample_photos):
    client = await make_client()
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG" + bytes(range(256)) * 4)
    cut = tmp_path / "cut.jpg"
    data = next(p for p in sample_photos if p.suffix == ".jpg").read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    for bad in (garbage, cut):
        resp = await post(client, "/v1/plan", {"photo": {"path": str(bad)}})
        assert resp.status == 422, await resp.text()
        error = (await resp.json())["error"]
        assert error["code"] in CORRUPT_CODES
        assert error["path"] == str(bad)


async def test_images_above_the_pixel_limit_are_413(make_client, photos):
    client = await make_client(max_pixels=100_000)  # the samples are 150k pixels and more
    resp = await post(client, "/v1/plan", {"photo": {"path": str(photos[1])}})
    assert resp.status == 413, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "image_too_large" and error["path"] == str(photos[1])


async def test_plan_of_a_missing_file_is_404_naming_it(make_client, tmp_path):
    client = await make_client()
    missing = tmp_path / "nowhere" / "IMG_0001.CR3"
    resp = await post(client, "/v1/plan", {"photo": {"path": str(missing)}})
    assert resp.status == 404
    error = (await resp.json())["error"]
    assert error["code"] == "not_found" and error["path"] == str(missing) and error["field"] == "photo.path"


async def test_plan_of_a_folder_or_a_relative_path_is_422(make_client, tmp_path):
    client = await make_client()
    for path in (str(tmp_path), "relative/photo.jpg"):
        resp = await post(client, "/v1/plan", {"photo": {"path": path}})
        assert resp.status == 422
        assert (await resp.json())["error"]["code"] == "invalid_path"


async def test_plan_of_an_unreadable_file_is_403(make_client, photos):
    client = await make_client()
    locked = photos[0]
    locked.chmod(0)
    try:
        with open(locked, "rb"):
            pytest.skip("running as a user who can read any file (root)")
    except PermissionError:
        pass
    resp = await post(client, "/v1/plan", {"photo": {"path": str(locked)}})
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "permission_denied"


async def test_bad_requests_are_400_or_422_with_the_field(make_client, photos):
    client = await make_client()
    resp = await client.post("/v1/plan", data=b"{not json", headers=client.auth_headers)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_request"
    resp = await post(client, "/v1/plan", {"photo": {"path": str(photos[0])}, "strength": 5})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "strength"
    resp = await post(client, "/v1/plan", {"nophoto": 1})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "photo"
    resp = await post(client, "/v1/plan", {"photo": {"path": str(photos[0])},
                                           "plan": {"global": {"NoSuchSlider": 3}}})
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_plan" and error["field"].startswith("plan.")


async def test_unexpected_errors_are_500_without_a_stack_trace(make_client, photos):
    class Broken(Retoucher):
        def plan(self, photo, request=None):
            raise RuntimeError("secret internal detail")

    client = await make_client(retoucher=Broken(use_models=False))
    resp = await post(client, "/v1/plan", {"photo": {"path": str(photos[0])}})
    assert resp.status == 500
    text = await resp.text()
    assert (await resp.json())["error"]["code"] == "internal"
    assert "secret internal detail" not in text and "Traceback" not in text


# -- sidecar, render, presets, faces ---------------------------------------------------------------------
async def test_sidecar_route_writes_a_sidecar_beside_the_photo_and_leaves_it_untouched(make_client, photos):
    client = await make_client()
    photo = photos[2]
    before = sha256(photo)
    resp = await post(client, "/v1/sidecar", {"photo": {"path": str(photo)},
                                              "plan": {"global": {"Exposure2012": 0.3}}})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    sidecar = Path(body["sidecar"])
    assert sidecar == photo.with_suffix(".xmp") and sidecar.is_file()
    assert body["plan"]["global"]["Exposure2012"] == 0.3
    assert sha256(photo) == before


async def test_render_writes_the_output_and_refuses_to_overwrite(make_client, photos, tmp_path):
    client = await make_client()
    photo = photos[1]
    out = tmp_path / "rendered.jpg"
    request = {"photo": {"path": str(photo)}, "plan": {"global": {"Exposure2012": 0.4}}, "out": str(out)}
    resp = await post(client, "/v1/render", request)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    with Image.open(out) as im:
        assert (body["width"], body["height"]) == im.size
    resp = await post(client, "/v1/render", request)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "out_exists"
    resp = await post(client, "/v1/render", {**request, "out": str(photo), "overwrite": True})
    assert resp.status == 422 and (await resp.json())["error"]["field"] == "out"
    resp = await post(client, "/v1/render", {**request, "out": str(tmp_path / "a.jpg"), "colorspace": "prophoto"})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "colorspace"


async def test_render_with_a_sidecars_settings_writes_a_16_bit_tiff(make_client, photos, preset_files, tmp_path):
    client = await make_client()
    out = tmp_path / "from_xmp.tif"
    resp = await post(client, "/v1/render", {"photo": {"path": str(photos[4])}, "xmp_path": str(preset_files[0]),
                                             "out": str(out), "colorspace": "adobe_rgb"})
    assert resp.status == 200, await resp.text()
    with Image.open(out) as im:
        assert im.format == "TIFF" and im.size == ((await resp.json())["width"], (await resp.json())["height"])


async def test_presets_route_writes_a_preset_from_a_plan(make_client, tmp_path):
    client = await make_client()
    folder = tmp_path / "presets"
    folder.mkdir()
    resp = await post(client, "/v1/presets", {"name": "Warm faces", "group": "Tests", "dir": str(folder),
                                              "plan": {"global": {"Exposure2012": 0.2}}})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert len(body["paths"]) == 1 and body["presets"][0]["name"] == "Warm faces"
    written = Path(body["paths"][0])
    assert written.is_file() and folder in written.parents and written.suffix == ".xmp"
    resp = await post(client, "/v1/presets", {"name": "Nothing to save"})
    assert resp.status == 400


async def test_faces_route_lists_people_with_boxes_and_thumbnails(make_client, photos):
    client = await make_client()
    group = next(p for p in photos if p.name == "three_men_closeup.jpg")
    resp = await get(client, "/v1/photos/faces", params={"path": str(group)})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["path"] == str(group) and len(body["people"]) >= 1
    for person in body["people"]:
        x0, y0, x1, y1 = person["box"]
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        with Image.open(BytesIO(base64.b64decode(person["thumbnail"]))) as thumb:
            assert thumb.format == "JPEG" and max(thumb.size) <= 96
    resp = await get(client, "/v1/photos/faces")
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "path"


# -- feedback and memory ---------------------------------------------------------------------------------
async def test_feedback_is_remembered_then_memory_is_reset(make_client, photos):
    client = await make_client()
    catalog = {"id": "test-catalog-1", "name": "Tests"}
    kept = {"Exposure2012": 0.8, "Contrast2012": 15}
    resp = await post(client, "/v1/feedback", {"catalog": catalog, "photo": {
        "path": str(photos[0]), "photo_id": "p1", "settings": kept},
        "proposed": {"global": {"Exposure2012": 0.2}}})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["recorded"] is True and body["events"] >= 1
    resp = await get(client, "/v1/catalogs/test-catalog-1/memory")
    assert resp.status == 200
    assert (await resp.json())["events"] == body["events"]
    resp = await client.delete("/v1/catalogs/test-catalog-1/memory", headers=client.auth_headers)
    assert resp.status == 200 and (await resp.json())["reset"] is True
    resp = await get(client, "/v1/catalogs/test-catalog-1/memory")
    assert (await resp.json())["events"] == 0


async def test_feedback_needs_a_catalog_and_the_kept_settings(make_client, photos):
    client = await make_client()
    resp = await post(client, "/v1/feedback", {"photo": {"path": str(photos[0]), "settings": {}}})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "catalog"
    resp = await post(client, "/v1/feedback", {"catalog": {"id": "c"}, "photo": {"path": str(photos[0])}})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "photo.settings"


async def test_learn_from_a_catalog_file_runs_as_a_job(make_client, shared_data, tmp_path):
    client = await make_client()
    lrcat = tmp_path / "copy.lrcat"
    shutil.copy(shared_data / "lightroom" / "catalogs" / "lightroom5_test_catalog.lrcat", lrcat)
    before = sha256(lrcat)
    resp = await post(client, "/v1/catalogs/lr5-test/learn", {"lrcat": str(lrcat)})
    assert resp.status == 202, await resp.text()
    job = await poll_job(client, (await resp.json())["job_id"])
    assert job["kind"] == "learn" and job["state"] == "done", job
    assert job["results"][0]["ok"] and job["results"][0]["read"] == 4
    assert sha256(lrcat) == before, "a catalog is only ever read"
    resp = await post(client, "/v1/catalogs/lr5-test/learn", {"lrcat": str(tmp_path / "none.lrcat")})
    assert resp.status == 404


# -- jobs ------------------------------------------------------------------------------------------------
async def test_job_plans_each_photo_and_reports_per_photo_results(make_client, photos, tmp_path):
    client = await make_client()
    missing = tmp_path / "gone.jpg"
    batch = [{"path": str(p), "photo_id": f"id{i}"} for i, p in enumerate(photos[:3])]
    batch.insert(1, {"path": str(missing), "photo_id": "missing"})
    resp = await post(client, "/v1/jobs", {"photos": batch, "mode": "plan"})
    assert resp.status == 202, await resp.text()
    created = await resp.json()
    assert created["total"] == 4
    job = await poll_job(client, created["job_id"])
    assert job["state"] == "done" and job["done"] == 4 and job["current"] is None
    assert [r["index"] for r in job["results"]] == [0, 1, 2, 3]
    bad = job["results"][1]
    assert bad["ok"] is False and bad["error"]["code"] == "not_found" and bad["error"]["path"] == str(missing)
    for result in (job["results"][i] for i in (0, 2, 3)):
        assert result["ok"] is True, result
        assert "plan" in result and "settings" in result and "summary" in result
    resp = await get(client, f"/v1/jobs/{created['job_id']}", params={"since": "3"})
    assert [r["index"] for r in (await resp.json())["results"]] == [3]


async def test_sidecar_job_writes_one_sidecar_per_photo(make_client, photos):
    client = await make_client()
    resp = await post(client, "/v1/jobs", {"photos": [{"path": str(p)} for p in photos[:2]], "mode": "sidecar",
                                           "plan": {"global": {"Exposure2012": 0.1}}})
    job = await poll_job(client, (await resp.json())["job_id"])
    assert job["state"] == "done"
    for result in job["results"]:
        assert result["ok"], result
        assert result["sidecar"].endswith(".xmp")
    assert len(list(photos[0].parent.glob("*.xmp"))) == 2


async def test_cancelled_job_stops_after_the_current_photo_and_reports_what_was_done(make_client, photos):
    retoucher = GatedRetoucher(open_calls=1, use_models=False)  # photo 0 passes, photo 1 waits at its gate
    client = await make_client(retoucher=retoucher)
    resp = await post(client, "/v1/jobs", {"photos": [{"path": str(p)} for p in photos[:5]]})
    job_id = (await resp.json())["job_id"]
    await wait_started(retoucher, 2)  # photo 1 is running
    resp = await post(client, f"/v1/jobs/{job_id}/cancel")
    assert resp.status == 200
    running = await resp.json()
    assert running["cancel_requested"] is True and running["state"] == "running"
    assert running["current"]["index"] == 1
    retoucher.open_all()
    job = await poll_job(client, job_id)
    assert job["state"] == "cancelled"
    assert job["done"] == 2 and [r["index"] for r in job["results"]] == [0, 1]
    assert job["not_processed"] == [2, 3, 4]
    await asyncio.sleep(0.2)
    assert retoucher.calls == 2, "no photo may start after the cancel"
    health = await (await client.get("/v1/health")).json()
    assert health["queue"]["depth"] == 0, "the cancelled photos' queue places are given back"


async def test_full_queue_answers_503_with_retry_after(make_client, photos):
    retoucher = GatedRetoucher(use_models=False)
    client = await make_client(retoucher=retoucher, workers=1, queue_limit=2)
    body = {"photo": {"path": str(photos[0])}, "plan": {"global": {"Exposure2012": 0.1}}}
    first = asyncio.ensure_future(post(client, "/v1/plan", body))
    second = asyncio.ensure_future(post(client, "/v1/plan", body))
    await wait_started(retoucher, 1)
    for _ in range(100):
        health = await (await client.get("/v1/health")).json()
        if health["queue"]["depth"] == 2:
            break
        await asyncio.sleep(0.02)
    assert health["queue"]["depth"] == 2
    resp = await post(client, "/v1/plan", body)
    assert resp.status == 503
    assert int(resp.headers["Retry-After"]) >= 1
    assert (await resp.json())["error"]["code"] == "busy"
    resp = await post(client, "/v1/jobs", {"photos": [{"path": str(photos[1])}]})
    assert resp.status == 503 and "Retry-After" in resp.headers
    retoucher.open_all()
    for task in (first, second):
        resp = await task
        assert resp.status == 200, await resp.text()


async def test_unknown_job_is_404(make_client):
    client = await make_client()
    resp = await get(client, "/v1/jobs/doesnotexist")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
    resp = await post(client, "/v1/jobs/doesnotexist/cancel")
    assert resp.status == 404


async def test_finished_jobs_expire_after_their_retention(make_client, photos):
    client = await make_client(job_retention_s=0.2)
    resp = await post(client, "/v1/jobs", {"photos": [{"path": str(photos[0])}],
                                           "plan": {"global": {"Exposure2012": 0.1}}})
    job_id = (await resp.json())["job_id"]
    await poll_job(client, job_id)
    await asyncio.sleep(0.3)
    resp = await get(client, f"/v1/jobs/{job_id}")
    assert resp.status == 404
