"""Signed checkpoints: the heads of every chain at one moment, signed with Ed25519.

Kept outside the database (printed, mailed to the privacy officer, stored elsewhere), a
checkpoint lets verification notice that events were cut off the end of a chain together with
its head row, which a keyed hash alone cannot show.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from phivault.crypto.signing import public_key_b64, verify_signature
from phivault.errors import InvalidInput

FORMAT = "phivault-audit-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    created_at: str
    heads: dict[str, tuple[int, str]]


def _payload(created_at: str, heads: dict[str, tuple[int, str]]) -> bytes:
    body = {
        "format": FORMAT,
        "created_at": created_at,
        "heads": [{"tenant_id": t, "seq": s, "hash": h} for t, (s, h) in sorted(heads.items())],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def write_checkpoint(
    path: Path,
    private: Ed25519PrivateKey,
    created_at: datetime,
    heads: dict[str, tuple[int, str]],
) -> None:
    stamp = created_at.isoformat()
    payload = _payload(stamp, heads)
    document: dict[str, Any] = json.loads(payload)
    document["public_key"] = public_key_b64(private.public_key())
    document["signature"] = base64.b64encode(private.sign(payload)).decode()
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def read_checkpoint(path: Path, public: Ed25519PublicKey) -> Checkpoint:
    """Parse and authenticate a checkpoint against this installation's public key."""
    try:
        document = json.loads(path.read_text())
        heads = {str(h["tenant_id"]): (int(h["seq"]), str(h["hash"])) for h in document["heads"]}
        created_at = str(document["created_at"])
        signature = base64.b64decode(document["signature"])
        if document.get("format") != FORMAT:
            raise ValueError("format")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{path.name} is not a readable phivault checkpoint") from exc
    if not verify_signature(public, signature, _payload(created_at, heads)):
        raise InvalidInput(f"{path.name} is not signed by this installation's audit key")
    return Checkpoint(created_at, heads)
