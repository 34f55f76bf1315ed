"""Upload a document from a chart and download it again, in a real browser; a Minimum-category
user does not see a Full-tier document listed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phivault.api.app import create_app
from tests.browser.helpers import sign_in_first_time
from tests.support.signin import new_member

pytestmark = pytest.mark.browser
PDF = b"%PDF-1.4\n% fabricated intake form for a fabricated patient\n%%EOF\n"


def _member(env, position):
    with TestClient(create_app(env.vault)) as client:
        return new_member(client, env.world, position=position)


def test_upload_then_download(page, env, tmp_path: Path) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=operations")
    source = tmp_path / "intake form.pdf"
    source.write_bytes(PDF)
    page.set_input_files("#upload-file", str(source))
    page.get_by_label("Kind").select_option("scanned_form")
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()
    link = page.get_by_role("link", name="intake form.pdf")
    assert link.is_visible()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.startswith("intake")
    assert Path(download.path()).read_bytes() == PDF


def test_wrong_file_type_is_refused_with_a_message(page, env, tmp_path: Path) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=operations")
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ not a document")
    page.set_input_files("#upload-file", {"name": "tool.exe", "mimeType": "application/x-msdownload",
                                          "buffer": bad.read_bytes()})
    page.get_by_role("button", name="Upload").click()
    status = page.wait_for_selector("#upload-status >> text=Not uploaded")
    assert "documents may be" in status.inner_text()
    assert page.locator("#documents").inner_text() == "No documents you may see."
