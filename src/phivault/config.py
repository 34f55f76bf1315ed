"""Runtime settings, read from the environment (prefix ``PHIVAULT_``).

``PHIVAULT_HOME`` is the data directory: it holds the embedded SQLite file, the encrypted
document store and the key directory. ``PHIVAULT_DATABASE_URL`` points at PostgreSQL instead of
the embedded SQLite file.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("phivault", appauthor=False))


class Settings(BaseSettings):
    """Everything phivault reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="PHIVAULT_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    database_url: str | None = None
    # The PostgreSQL role the application switches to after connecting. It must not own the
    # tables, so row-level security applies to it (I-5). Empty disables the switch.
    db_app_role: str = "phivault_app"
    # Master key material as base64 (32 bytes); when unset the key file in the key directory
    # is used. Meant for containers whose secret store injects environment variables.
    master_key: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_request_bytes: int = 1024 * 1024
    # The address people use, e.g. https://vault.example.org. It names the WebAuthn relying
    # party and the only origin passkeys are accepted from; unset, the request's own host is
    # used (fine on loopback, wrong behind a proxy that rewrites Host).
    public_url: str | None = None
    break_glass_default_minutes: int = 60
    break_glass_max_minutes: int = 240

    @cached_property
    def key_dir(self) -> Path:
        return self.home / "keys"

    @cached_property
    def blob_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def sqlite_path(self) -> Path:
        return self.home / "phivault.sqlite3"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.sqlite_path}"

    @property
    def is_postgres(self) -> bool:
        return self.effective_database_url.startswith("postgresql")


def load_settings() -> Settings:
    """Read settings from the environment now (not cached: tests change the environment)."""
    return Settings()
