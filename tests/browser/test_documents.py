"""Documents in a real browser: upload from a chart, view inside phivault's page (PDF, image,
text), download; the idle logoff removes a document on screen too; refused types get a
message."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.browser.conftest import screenshot
from tests.browser.helpers import both_backends, sign_in_first_time
from tests.browser.test_quality import _violations
from tests.conftest import app_for
from tests.support.audit import events
from tests.support.signin import new_member

pytestmark = pytest.mark.browser
PDF = b"%PDF-1.4\n% fabricated intake form for a fabricated patient\n%%EOF\n"


def _member(env, position):
    with TestClient(app_for(env.vault)) as client:
        return new_member(client, env.world, position=position)


@both_backends
def test_upload_then_download(page, env, tmp_path: Path) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=operations")
    source = tmp_path / "intake form.pdf"
    source.write_bytes(PDF)
    page.set_input_files("#upload-file", str(source))
    page.get_by_label("Kind").select_option("scanned_form")
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()
    link = page.get_by_role("link", name="intake form.pdf", exact=True)
    assert link.is_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download intake form.pdf").click()
    download = info.value
    assert download.suggested_filename.startswith("intake")
    assert Path(download.path()).read_bytes() == PDF


def test_wrong_file_type_is_refused_with_a_message(page, env, tmp_path: Path) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=operations")
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ not a document")
    page.set_input_files(
        "#upload-file",
        {"name": "tool.exe", "mimeType": "application/x-msdownload", "buffer": bad.read_bytes()},
    )
    page.get_by_role("button", name="Upload").click()
    status = page.wait_for_selector("#upload-status >> text=Not uploaded")
    assert "documents may be" in status.inner_text()
    assert page.locator("#documents").inner_text() == "No documents you may see."


def test_an_html_page_named_pdf_is_refused_with_a_message(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=operations")
    page.set_input_files(
        "#upload-file",
        {
            "name": "discharge.pdf",
            "mimeType": "application/pdf",
            "buffer": b"<!doctype html><html><body><script>alert(1)</script></body></html>",
        },
    )
    page.get_by_role("button", name="Upload").click()
    status = page.wait_for_selector("#upload-status >> text=Not uploaded")
    assert "its content is not a PDF" in status.inner_text()
    assert page.locator("#documents").inner_text() == "No documents you may see."


def _upload(page, env, path: Path, mime: str, kind: str = "other") -> None:
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=operations")
    page.set_input_files(
        "#upload-file", {"name": path.name, "mimeType": mime, "buffer": path.read_bytes()}
    )
    page.get_by_label("Kind").select_option(kind)
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()


def test_view_a_pdf_inside_the_page_then_idle_logoff_removes_it(page, env, tmp_path: Path) -> None:
    from faker import Faker

    from phivault.demo import _pdf

    sign_in_first_time(page, env, _member(env, "Office Manager"))
    source = tmp_path / "care summary.pdf"
    source.write_bytes(_pdf(Faker(), "Care summary"))
    _upload(page, env, source, "application/pdf", "letter")
    with page.expect_response(lambda r: "/content" in r.url) as answer:
        page.get_by_role("link", name="care summary.pdf", exact=True).click()
    content = answer.value
    assert content.status == 200
    assert content.headers["content-type"] == "application/pdf"
    assert content.headers["content-disposition"].startswith("inline;")
    assert "frame-ancestors 'self'" in content.headers["content-security-policy"]
    assert page.get_by_role("heading", level=1).inner_text() == "care summary.pdf"
    assert page.locator("#document-frame").is_visible()
    page.wait_for_timeout(1500)  # Chromium's own PDF viewer draws the page
    screenshot(page, "document-viewer")
    page.clock.install()
    page.reload()  # the idle timer starts again, now on the test's clock
    page.clock.run_for("10:05")  # past the idle timeout: the document leaves the screen too
    assert page.locator("#signed-out").is_visible()
    assert page.locator("#document-frame").count() == 0


def test_view_an_image_and_a_text(page, env, tmp_path: Path) -> None:
    import segno

    sign_in_first_time(page, env, _member(env, "Office Manager"))
    image = tmp_path / "wound photo.png"
    segno.make("fabricated").save(str(image), scale=8)
    _upload(page, env, image, "image/png", "image")
    page.get_by_role("link", name="wound photo.png", exact=True).click()
    shown = page.locator("#document-image")
    shown.wait_for()
    page.wait_for_function("() => document.getElementById('document-image').complete")
    assert shown.evaluate("img => img.naturalWidth") > 0
    assert _violations(page) == []  # the viewer page passes axe-core too
    text = tmp_path / "call notes.txt"
    text.write_text("Fabricated call notes: caller asked about visit times.")
    _upload(page, env, text, "text/plain")
    page.get_by_role("link", name="call notes.txt", exact=True).click()
    frame = page.frame_locator("#document-frame")
    assert "caller asked about visit times" in frame.locator("body").inner_text()
    # Each display is audited like a download, as its own action, with field names only.
    viewed = events(env.vault, env.world.tenant_a, action="document.view")
    assert len(viewed) == 2 and viewed[-1].fields == "content,filename"


def test_content_cannot_be_framed_by_another_site_or_opened_without_a_session(
    page, env, chromium, live_server, tmp_path: Path
) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    text = tmp_path / "note.txt"
    text.write_text("Fabricated note.")
    _upload(page, env, text, "text/plain")
    page.get_by_role("link", name="note.txt", exact=True).click()
    url = page.locator("#document-frame").get_attribute("src")
    # Same origin only: the response forbids framing anywhere else.
    response = page.request.get(url)
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    # Another browser, with no session, gets the sign-in page, not the content.
    stranger = chromium.new_context(base_url=live_server)
    other = stranger.new_page()
    other.goto(url)
    assert other.url.endswith("/login")
    assert "Fabricated note." not in other.content()
    stranger.close()
    # Opened as a page of its own it would escape the idle logoff: the viewer is shown instead.
    page.goto(url)
    assert "/content" not in page.url and "purpose=operations" in page.url
    assert page.get_by_role("heading", level=1).inner_text() == "note.txt"


def test_a_format_browsers_cannot_show_is_offered_for_download_only(page, env, tmp_path) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    scan = tmp_path / "old fax.tiff"
    scan.write_bytes(b"II*\x00fabricated tiff bytes")
    _upload(page, env, scan, "image/tiff", "scanned_form")
    page.get_by_role("link", name="old fax.tiff", exact=True).click()
    assert "cannot be shown in a browser" in page.locator("#viewer").inner_text()
    refused = page.request.get(page.url.replace("?", "/content?"))
    assert refused.status == 415
    assert not events(env.vault, env.world.tenant_a, action="document.view")  # nothing shown
    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    assert Path(info.value.path()).read_bytes() == scan.read_bytes()


def test_a_document_filed_in_error_is_voided_from_its_page(page, env) -> None:
    sign_in_first_time(page, env, _member(env, "Office Manager"))
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=operations")
    page.set_input_files(
        "#upload-file", {"name": "wrong chart.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()
    page.get_by_role("link", name="wrong chart.pdf", exact=True).click()
    page.get_by_role("link", name="Void (filed in error)…").click()
    page.get_by_label("Why was it filed in error? (a sentence)").fill("oops")
    page.get_by_role("button", name="Void").click()
    assert page.locator("#reason-error").is_visible()
    page.get_by_label("Why was it filed in error? (a sentence)").fill(
        "Scanned into this chart instead of the patient's sister."
    )
    page.get_by_role("button", name="Void").click()
    page.goto(f"/t/{env.world.tenant_a}/people/{env.world.patient}?purpose=operations")
    assert page.locator("#documents").inner_text() == "No documents you may see."
    assert [e.outcome for e in events(env.vault, env.world.tenant_a, action="document.void")] == [
        "allowed"
    ]
