"""One settings object for the whole program (CLI, later the web app).

Values come from, in order: explicit arguments (``--db``), environment variables
(``MIFUND_DB``, ``MIFUND_ID_KEY``, ``MIFUND_USER``), then defaults.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIFUND_", extra="ignore")

    db: Path = Field(default=Path("mifund.duckdb"), description="DuckDB warehouse file")
    id_key: str | None = Field(
        default=None,
        description="Secret key for hashing citizen ID numbers; when unset a key file beside the warehouse is used (created on first need).",
    )
    id_key_file: Path | None = Field(default=None, description="Where the generated ID-hash key lives (default: <db>.idkey)")
    user: str = Field(default_factory=_default_user, description="Who is recorded in the audit log")

    def key_file(self) -> Path:
        return self.id_key_file or self.db.with_name(self.db.name + ".idkey")


def get_settings(**overrides) -> Settings:
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
