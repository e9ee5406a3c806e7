"""`airetouch learn` and `airetouch memory` against the real Lightroom 5 catalog and real SQLite stores."""
from __future__ import annotations

import json
import shutil



def test_learn_reads_a_catalog_copy_and_reports_what_it_skipped(airetouch, tmp_path, shared_data):
    lrcat = tmp_path / "Catalog.lrcat"
    shutil.copy(shared_data / "lightroom" / "catalogs" / "lightroom5_test_catalog.lrcat", lrcat)
    before = lrcat.read_bytes()
    run = airetouch("learn", lrcat)
    assert run.returncode == 0, run.stderr
    # The four photos of this catalog were imported but never edited, and their files are not here.
    assert "4 photo(s) read, 0 learned" in run.stdout
    assert "skipped 4" in run.stdout
    assert lrcat.read_bytes() == before, "the catalog is only read"


def test_learn_refuses_a_file_that_is_not_a_catalog(airetouch, tmp_path):
    fake = tmp_path / "fake.lrcat"
    fake.write_bytes(b"this is not sqlite" * 100)
    run = airetouch("learn", fake)
    assert run.returncode == 1 and "fake.lrcat" in run.stderr


def test_memory_show_export_import_and_reset(airetouch, tmp_path):
    export = tmp_path / "style.json"
    assert airetouch("memory", "export", "--catalog", "profile:studio", "-f", export).returncode == 0
    data = json.loads(export.read_text())
    assert isinstance(data, dict)
    assert airetouch("memory", "import", "--catalog", "profile:copy", "-f", export).returncode == 0
    shown = airetouch("memory", "show", "--catalog", "profile:copy")
    assert shown.returncode == 0 and json.loads(shown.stdout)["events"] == 0
    assert airetouch("memory", "reset", "--catalog", "profile:copy").returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    run = airetouch("memory", "import", "--catalog", "profile:copy", "-f", bad)
    assert run.returncode == 1 and "bad.json" in run.stderr
