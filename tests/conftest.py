from __future__ import annotations

import pytest

from mifund.storage import Warehouse


@pytest.fixture
def wh(tmp_path):
    """A fresh, migrated warehouse in a temporary directory."""
    w = Warehouse(tmp_path / "test.duckdb")
    yield w
    w.close()
