"""Helpers for the export tests: prepare through the real form, let the worker build, open the ZIP."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile

from tests.conftest import Auth, csrf_token_from, run_worker_tasks


def signed_in(app, person):
    client = app.test_client()
    Auth(client).login(person)
    return client


def prepare(client, scope: str = "person"):
    page = client.get("/account/exports").get_data(as_text=True)
    return client.post("/account/exports", data={"scope": scope, "csrf_token": csrf_token_from(page)})


def export_id_from(response) -> str:
    match = re.search(r"/account/exports/([0-9a-f-]{36})$", response.location or "")
    assert match, response.location
    return match.group(1)


def built(app, client, scope: str = "person") -> str:
    export_id = export_id_from(prepare(client, scope))
    run_worker_tasks(app)
    return export_id


def download(client, export_id: str) -> zipfile.ZipFile:
    response = client.get(f"/account/exports/{export_id}/download")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.data))


def checked_files(archive: zipfile.ZipFile) -> dict[str, bytes]:
    """Every file, after checking the manifest's hash and size of each."""
    manifest = json.loads(archive.read("manifest.json"))
    files = {name: archive.read(name) for name in archive.namelist()}
    listed = {entry["name"] for entry in manifest["files"]}
    assert listed == set(files) - {"manifest.json"}
    for entry in manifest["files"]:
        content = files[entry["name"]]
        assert hashlib.sha256(content).hexdigest() == entry["sha256"] and len(content) == entry["size"], entry
    return files
