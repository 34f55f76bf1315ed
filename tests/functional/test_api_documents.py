"""Documents over HTTP: streamed, encrypted upload and download; limits; authorization."""

from __future__ import annotations

import secrets
import uuid

import pytest

from phivault.records.blobs import BlobStore
from tests.support.audit import events


def docs_url(world, tenant=None) -> str:
    return f"/api/v1/tenants/{tenant or world.tenant_a}/people/{world.patient}/documents"


def upload(client, world, persona="clinician", data=b"%PDF-1.4 fabricated", **kw):
    headers = world[persona].headers | {
        "Content-Type": kw.pop("content_type", "application/pdf"),
        "X-Filename": kw.pop("filename", "intake%20form.pdf"),
    }
    headers.update(kw.pop("headers", {}))
    return client.post(docs_url(world), content=data, headers=headers, params=kw)


def test_upload_then_download_round_trips(client, env, world) -> None:
    payload = b"%PDF-1.7\n" + secrets.token_bytes(300_000)  # several encryption chunks
    created = upload(client, world, data=payload, kind="scanned_form")
    assert created.status_code == 201, created.text
    doc = created.json()
    assert doc["filename"] == "intake form.pdf" and doc["size_bytes"] == len(payload)
    stored = BlobStore(env.settings.blob_dir).path(
        world.tenant_a, __import__("uuid").UUID(doc["id"])
    )
    assert payload[:64] not in stored.read_bytes()  # encrypted at rest
    down = client.get(
        f"/api/v1/tenants/{world.tenant_a}/documents/{doc['id']}/content",
        headers=world["clinician"].headers,
    )
    assert down.status_code == 200
    assert down.content == payload
    assert down.headers["content-type"] == "application/pdf"
    assert down.headers["cache-control"] == "no-store"
    listed = client.get(docs_url(world), headers=world["clinician"].headers).json()
    assert [d["id"] for d in listed] == [doc["id"]]


def test_partial_categories_do_not_see_full_tier_documents(client, world) -> None:
    doc = upload(client, world).json()
    assert client.get(docs_url(world), headers=world["scheduler"].headers).json() == []
    download = client.get(
        f"/api/v1/tenants/{world.tenant_a}/documents/{doc['id']}/content",
        headers=world["scheduler"].headers,
    )
    assert download.status_code == 404


def test_minimum_tier_document_is_visible_to_minimum_staff(client, world) -> None:
    doc = upload(client, world, tier="minimum", kind="scanned_form").json()
    listed = client.get(docs_url(world), headers=world["scheduler"].headers).json()
    assert [d["id"] for d in listed] == [doc["id"]]


@pytest.mark.parametrize("persona", ["other_staff", "outsider"])
def test_other_tenants_cannot_download(client, world, persona) -> None:
    doc = upload(client, world).json()
    response = client.get(
        f"/api/v1/tenants/{world.tenant_a}/documents/{doc['id']}/content",
        headers=world[persona].headers,
    )
    assert response.status_code == 404
    assert upload(client, world, persona=persona).status_code == 404


def test_download_link_alone_grants_nothing(client, world) -> None:
    doc = upload(client, world).json()
    response = client.get(f"/api/v1/tenants/{world.tenant_a}/documents/{doc['id']}/content")
    assert response.status_code == 401


def _no_partials(env) -> bool:
    return not list(env.settings.blob_dir.rglob("*.partial"))


def test_oversized_upload_is_413_and_leaves_nothing(client, env, world) -> None:
    env.vault.settings.max_upload_bytes = 100_000
    response = upload(client, world, data=b"x" * 200_000)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(docs_url(world), headers=world["clinician"].headers).json() == []
    assert _no_partials(env)


def test_oversized_stream_without_length_is_cut_off(client, env, world) -> None:
    env.vault.settings.max_upload_bytes = 100_000

    def body():
        yield b"%PDF-1.7\n"
        for _ in range(10):
            yield b"y" * 50_000

    headers = world["clinician"].headers | {
        "Content-Type": "application/pdf",
        "X-Filename": "a.pdf",
    }
    response = client.post(docs_url(world), content=body(), headers=headers)
    assert response.status_code == 413
    assert client.get(docs_url(world), headers=world["clinician"].headers).json() == []
    assert _no_partials(env)
    assert not [p for p in env.settings.blob_dir.rglob("*.pvf")]


@pytest.mark.parametrize("content_type", ["application/x-msdownload", "text/html", ""])
def test_wrong_content_type_is_415(client, env, world, content_type) -> None:
    response = upload(client, world, content_type=content_type)
    assert response.status_code == 415
    assert _no_partials(env)


def test_empty_upload_is_refused(client, env, world) -> None:
    response = upload(client, world, data=b"")
    assert response.status_code == 422
    assert _no_partials(env)


def test_sensitive_document_needs_full_access(client, world) -> None:
    doc = upload(client, world, tier="minimum", headers={"X-Sensitivity": "hiv"}).json()
    assert doc["sensitivity"] == ["hiv"]
    assert client.get(docs_url(world), headers=world["scheduler"].headers).json() == []


def test_download_uses_the_key_named_by_the_file_even_if_the_row_lags(client, env, world) -> None:
    """A crash during key rotation can leave the row's key version behind the file's."""
    import uuid

    from sqlalchemy import update

    from phivault.db.engine import Scope
    from phivault.records.models import Document

    doc = upload(client, world, data=b"%PDF-1.4 rotation-safe").json()
    with env.vault.db.transaction(Scope.tenant(world.tenant_a)) as session:
        session.execute(
            update(Document).where(Document.id == uuid.UUID(doc["id"])).values(key_version=99)
        )
    down = client.get(
        f"/api/v1/tenants/{world.tenant_a}/documents/{doc['id']}/content",
        headers=world["clinician"].headers,
    )
    assert down.status_code == 200 and down.content == b"%PDF-1.4 rotation-safe"


def test_missing_content_is_a_clear_503(client, env, world) -> None:
    import uuid

    doc = upload(client, world).json()
    BlobStore(env.settings.blob_dir).path(world.tenant_a, uuid.UUID(doc["id"])).unlink()
    down = client.get(
        f"/api/v1/tenants/{world.tenant_a}/documents/{doc['id']}/content",
        headers=world["clinician"].headers,
    )
    assert down.status_code == 503
    assert down.json()["type"].endswith("/document-unavailable")


def test_stored_files_are_private_to_the_service_account(client, env, world) -> None:
    import stat
    import uuid

    doc = upload(client, world).json()
    path = BlobStore(env.settings.blob_dir).path(world.tenant_a, uuid.UUID(doc["id"]))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700


def test_any_file_name_survives_the_round_trip(client, world) -> None:
    from urllib.parse import quote

    name = 'résumé 日本 "quoted";.pdf'
    doc = upload(client, world, filename=quote(name)).json()
    assert doc["filename"] == name
    down = client.get(
        f"/api/v1/tenants/{world.tenant_a}/documents/{doc['id']}/content",
        headers=world["clinician"].headers,
    )
    assert down.status_code == 200
    disposition = down.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="r_sum')
    assert f"filename*=UTF-8''{quote(name)}" in disposition


@pytest.mark.parametrize(
    ("label", "content"),
    [
        ("application/pdf", b"<!doctype html><script>alert(1)</script>"),
        ("image/png", b"%PDF-1.7 a pdf pretending to be an image"),
        ("image/jpeg", b"GIF89a not a jpeg at all......"),
        ("audio/wav", b"RIFF\x00\x00\x00\x00AVI LIST...."),
        ("text/plain", b"<html><body>markup is not plain text</body></html>"),
        ("text/plain", b"binary \x00\x01\x02 is not text either"),
        ("text/plain", b"\xff\xfe not utf-8 \xc3\x28"),
    ],
)
def test_content_that_is_not_what_its_label_says_is_refused(
    client, env, world, label, content
) -> None:
    response = upload(client, world, data=content, content_type=label, filename="x")
    assert response.status_code == 415, response.text
    assert "content is not" in response.json()["detail"]
    assert client.get(docs_url(world), headers=world["clinician"].headers).json() == []
    assert _no_partials(env)
    assert not [p for p in env.settings.blob_dir.rglob("*.pvf")]


@pytest.mark.parametrize(
    ("label", "content"),
    [
        ("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),
        ("image/jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 40),
        ("image/tiff", b"II*\x00" + b"\x00" * 40),
        ("audio/mpeg", b"ID3\x04" + b"\x00" * 40),
        ("audio/wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 30),
        ("audio/ogg", b"OggS" + b"\x00" * 40),
        ("text/plain", "Visit note — patient résumé of care, in UTF-8.".encode()),
        ("text/plain", b"ok"),
    ],
)
def test_content_that_is_what_its_label_says_is_stored(client, world, label, content) -> None:
    response = upload(client, world, data=content, content_type=label, filename="x", kind="other")
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("name", ["a" * 201 + ".pdf", "%20%20", "evil%0Aname.pdf"])
def test_a_file_name_that_would_be_cut_or_is_blank_is_refused_not_changed(
    client, env, world, name
) -> None:
    response = upload(client, world, filename=name)
    assert response.status_code == 422, response.text
    assert client.get(docs_url(world), headers=world["clinician"].headers).json() == []


def test_a_file_name_is_stored_exactly_as_given(client, world) -> None:
    created = upload(client, world, filename="%20scan%20of%20page%201.pdf%20").json()
    assert created["filename"] == " scan of page 1.pdf "


def _void(
    client, world, doc_id, persona="clinician", reason="scanned into the wrong chart by mistake"
):
    return client.post(
        f"/api/v1/tenants/{world.tenant_a}/documents/{doc_id}/void",
        headers=world[persona].headers,
        json={"reason": reason},
    )


def test_a_document_filed_in_error_is_voided_not_deleted(client, env, world) -> None:
    doc = upload(client, world).json()
    assert _void(client, world, doc["id"]).status_code == 204
    # Hidden from the list, the viewer and the download ...
    assert client.get(docs_url(world), headers=world["clinician"].headers).json() == []
    content = f"/api/v1/tenants/{world.tenant_a}/documents/{doc['id']}/content"
    assert client.get(content, headers=world["clinician"].headers).status_code == 404
    # ... but kept: the row, its encrypted reason and the file are all still there.
    from phivault.db.engine import Scope
    from phivault.records.models import Document

    with env.vault.db.transaction(Scope.tenant(world.tenant_a)) as db:
        row = db.get(Document, (world.tenant_a, uuid.UUID(doc["id"])))
        assert row is not None and row.voided_at is not None
        assert row.voided_by == world["clinician"].member_id
        assert b"wrong chart" not in row.void_reason_ct
    assert BlobStore(env.settings.blob_dir).path(world.tenant_a, uuid.UUID(doc["id"])).exists()
    assert [e.fields for e in events(env.vault, world.tenant_a, action="document.void")] == [
        "void_reason"
    ]
    # Voiding twice: it is gone from ordinary views, so 404.
    assert _void(client, world, doc["id"]).status_code == 404


def test_voiding_a_document_needs_write_permission_a_full_view_and_a_reason(client, world) -> None:
    doc = upload(client, world).json()
    assert _void(client, world, doc["id"], reason="oops").status_code == 422
    assert _void(client, world, doc["id"], persona="coder").status_code == 404
    assert _void(client, world, doc["id"], persona="other_staff").status_code == 404
    assert _void(client, world, uuid.uuid4()).status_code == 404
    listed = client.get(docs_url(world), headers=world["clinician"].headers).json()
    assert [d["id"] for d in listed] == [doc["id"]]


@pytest.mark.parametrize("name", ["bad%FFname.pdf", "half%C3.pdf"])
def test_a_file_name_that_is_not_utf8_is_refused_not_replaced(client, env, world, name) -> None:
    """A percent-encoded name whose bytes are not UTF-8 is refused (422), never stored with
    U+FFFD in place of what was sent; nothing is written."""
    before = len(client.get(docs_url(world), headers=world["clinician"].headers).json())
    response = upload(client, world, filename=name)
    assert response.status_code == 422, response.text
    assert "percent-encoded UTF-8" in response.json()["detail"]
    after = client.get(docs_url(world), headers=world["clinician"].headers).json()
    assert len(after) == before
