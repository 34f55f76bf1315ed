"""Encrypted document files on disk. Written to a partial file first and moved into place
only when complete, so a failed upload never leaves a half-written document (RET-3)."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

# An upload older than this is not in progress any more: its process died (kill -9, power
# loss) between the first byte and publish/discard. Far above the longest upload there is.
STALE_PARTIAL_SECONDS = 6 * 3600


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, tenant_id: uuid.UUID, document_id: uuid.UUID) -> Path:
        return self.root / tenant_id.hex / document_id.hex[:2] / f"{document_id.hex}.pvf"

    @contextlib.contextmanager
    def writer(self, tenant_id: uuid.UUID, document_id: uuid.UUID) -> Iterator[BinaryIO]:
        """Yield a partial file; on success it is synced, on failure removed."""
        final = self.path(tenant_id, document_id)
        for folder in (final.parent.parent, final.parent):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = final.with_suffix(".partial")
        # Owner-only from the first byte, whatever the process umask is.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        handle = os.fdopen(fd, "wb")
        try:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
        handle.close()

    def publish(self, tenant_id: uuid.UUID, document_id: uuid.UUID) -> None:
        final = self.path(tenant_id, document_id)
        os.replace(final.with_suffix(".partial"), final)

    def discard(self, tenant_id: uuid.UUID, document_id: uuid.UUID) -> None:
        final = self.path(tenant_id, document_id)
        final.with_suffix(".partial").unlink(missing_ok=True)
        final.unlink(missing_ok=True)

    def open(self, tenant_id: uuid.UUID, document_id: uuid.UUID) -> BinaryIO:
        return open(self.path(tenant_id, document_id), "rb")

    def sweep_partials(self, older_than_seconds: float = STALE_PARTIAL_SECONDS) -> int:
        """Remove partial files that no upload will finish (left by a process that died);
        returns how many. Partial files are ciphertext, but an unreferenced file must not
        linger with a tenant's data in it."""
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        swept = 0
        for partial in self.root.glob("*/*/*.partial"):
            with contextlib.suppress(FileNotFoundError):  # finished or discarded meanwhile
                if partial.stat().st_mtime < cutoff:
                    partial.unlink()
                    swept += 1
        return swept
