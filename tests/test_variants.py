"""Variants: 3-5 distinct, sane candidates with small JPEG previews; the CLI writes previews and plans."""
from __future__ import annotations

import io
import itertools
import json

import pytest
from PIL import Image

from bridge_server.core.plan import RetouchPlan
from bridge_server.imaging.decode import decode
from bridge_server.retouch.predictor import predict
from bridge_server.retouch.variants import CLIP_MARGIN, MIN_DISTINCT_DE, clipped, mean_de, variants
from bridge_server.vision.regions import analyse
from bridge_server.vision.stats import lab_image


@pytest.mark.parametrize("name", ["three_people_outdoor.jpg", "party_group_flash.jpg", "portrait_headshot.jpg"])
def test_variants_are_distinct_sane_and_previewed(shared_data, name):
    analysis = analyse(decode(shared_data / "photos" / name, purpose="analysis"))
    base = predict(analysis, is_raw=False)
    found = variants(analysis, base, n=4, is_raw=False)
    assert 3 <= len(found) <= 4
    assert found[0].name == "natural" and found[0].plan.global_ == base.global_
    assert len({v.name for v in found}) == len(found)
    labs = []
    for v in found:
        with Image.open(io.BytesIO(v.preview_jpeg_bytes)) as img:
            assert img.format == "JPEG" and max(img.size) == 256
            labs.append(lab_image(v.preview_linear))
        RetouchPlan.from_dict(v.plan.to_dict())  # each plan is valid
    pairs = [mean_de(a, b) for a, b in itertools.combinations(labs, 2)]
    assert min(pairs) >= MIN_DISTINCT_DE, pairs
    assert all(clipped(lab) <= clipped(labs[0]) + CLIP_MARGIN for lab in labs)
    print(name, [v.name for v in found], "min pair ΔE", round(min(pairs), 2))


def test_cli_writes_previews_and_plans(shared_data, tmp_path, airetouch):
    out = tmp_path / "v"
    result = airetouch("variants", str(shared_data / "photos" / "two_women_indoor.jpg"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    jpgs, plans = sorted(out.glob("*.jpg")), sorted(out.glob("*.json"))
    assert len(jpgs) == len(plans) >= 3
    for plan_file in plans:
        RetouchPlan.from_dict(json.loads(plan_file.read_text()))
