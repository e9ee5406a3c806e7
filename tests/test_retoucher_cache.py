"""The Retoucher keeps the last few analyses of files: the plugin asks for a photo's faces, then its plan, and the
photo is analysed once; a file changed in between (size or modification time) is analysed again."""
from __future__ import annotations

import os
import shutil

import pytest

from bridge_server.retoucher import ANALYSIS_CACHE, PhotoRequest, PlanRequest, Retoucher
from bridge_server.vision import regions


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = regions.analyse

    def counting(image, **kwargs):
        calls.append(image)
        return real(image, **kwargs)

    monkeypatch.setattr(regions, "analyse", counting)
    return calls


def test_faces_then_plan_analyse_the_photo_once(shared_data, tmp_path, counted):
    photo = tmp_path / "group.jpg"
    shutil.copy(shared_data / "photos" / "three_men_closeup.jpg", photo)
    r = Retoucher()
    people = r.faces(PhotoRequest(path=photo))
    result = r.plan(PhotoRequest(path=photo), PlanRequest())
    assert len(people) == 3 and result.plan.provenance["predictor"]
    assert len(counted) == 1


def test_a_changed_file_is_analysed_again(shared_data, tmp_path, counted):
    photo = tmp_path / "photo.jpg"
    shutil.copy(shared_data / "photos" / "portrait_headshot.jpg", photo)
    r = Retoucher()
    first = r.analyse(PhotoRequest(path=photo))
    shutil.copy(shared_data / "photos" / "two_women_indoor.jpg", photo)
    st = photo.stat()
    os.utime(photo, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    second = r.analyse(PhotoRequest(path=photo))
    assert len(counted) == 2 and second is not first
    assert len(second.people) == 2  # the new content, not the cached headshot


def test_only_the_last_few_are_kept(shared_data, tmp_path, counted):
    r = Retoucher()
    paths = []
    for i in range(ANALYSIS_CACHE + 1):
        p = tmp_path / f"p{i}.jpg"
        shutil.copy(shared_data / "photos" / "portrait_headshot.jpg", p)
        paths.append(p)
        r.analyse(PhotoRequest(path=p))
    r.analyse(PhotoRequest(path=paths[-1]))  # kept
    assert len(counted) == ANALYSIS_CACHE + 1
    r.analyse(PhotoRequest(path=paths[0]))  # the oldest was dropped
    assert len(counted) == ANALYSIS_CACHE + 2
