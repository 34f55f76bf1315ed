"""The upload protocol as a service: one stored, published document for a good body; for a
body past the limit or an empty one, a clear refusal and no file left behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from phivault.access.policy import PurposeOfUse
from phivault.errors import InvalidInput, PayloadTooLarge
from phivault.records import documents, uploads
from phivault.records.blobs import BlobStore

PDF = b"%PDF-1.4\n" + b"0" * 5000
T = TypeVar("T")


async def _chunks(body: bytes, size: int = 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _receive(env, body: bytes, limit: int = 1 << 20) -> documents.DocumentView:  # type: ignore[no-untyped-def]
    world = env.world
    upload = uploads.Upload.announced(
        world.patient,
        encoded_filename="intake%20form.pdf",
        sensitivity="mental_health, ",
        content_type="application/pdf",
        content_length=None,
        kind="pdf",
        tier="full",
        limit=limit,
    )
    return _run(
        uploads.receive(
            upload,
            _chunks(body),
            tenant_id=world.tenant_a,
            open_unit=lambda: env.vault.unit(
                world.tenant_a, world["officer"].actor, PurposeOfUse.TREATMENT
            ),
            blobs=BlobStore(env.vault.settings.blob_dir),
        )
    )


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a loop of its own, in a thread: this test process may already be
    running one (Playwright's, when browser tests ran here first)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _files(env) -> list[str]:  # type: ignore[no-untyped-def]
    root = env.vault.settings.blob_dir
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_good_body_is_stored_encrypted_and_published(env) -> None:
    view = _receive(env, PDF)
    assert (view.filename, view.size_bytes) == ("intake form.pdf", len(PDF))
    stored = BlobStore(env.vault.settings.blob_dir).path(env.world.tenant_a, view.id)
    assert stored.exists() and PDF not in stored.read_bytes()


@pytest.mark.parametrize(
    ("body", "limit", "error"),
    [(PDF, 2048, PayloadTooLarge), (b"", 2048, InvalidInput)],
)
def test_a_refused_body_leaves_no_file(env, body: bytes, limit: int, error: type) -> None:
    before = _files(env)
    with pytest.raises(error):
        _receive(env, body, limit)
    assert _files(env) == before


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    with pytest.raises(PayloadTooLarge):
        uploads.Upload.announced(
            None,  # type: ignore[arg-type]
            encoded_filename="a.pdf",
            sensitivity="",
            content_type="application/pdf",
            content_length="999999",
            kind="pdf",
            tier="full",
            limit=1000,
        )
