from __future__ import annotations

import pytest

from mifund.storage import Warehouse


@pytest.fixture
def wh(tmp_path):
    """A fresh, migrated warehouse in a temporary directory."""
    w = Warehouse(tmp_path / "test.duckdb")
    yield w
    w.close()


@pytest.fixture(scope="session")
def demo_small(tmp_path_factory):
    """The small demo municipality (seed 1), built once per test session by `mifund demo run`'s pipeline
    (generate → import → indicators → settle, results stored). Read-only for tests: open the warehouse
    with `Warehouse(demo_small.db, read_only=True)` or copy it first. Fields: out_dir, db, data_dir
    (generated files, with truth/labels.csv), report, settled (Parquet of settled claims)."""
    from mifund.demo.pipeline import run_demo

    return run_demo(tmp_path_factory.mktemp("demo_small"), size="small", seed=1)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A CLI session on a fresh warehouse file (MIFUND_DB), a named user and a wide terminal."""
    monkeypatch.setenv("MIFUND_DB", str(tmp_path / "w.duckdb"))
    monkeypatch.delenv("MIFUND_ID_KEY", raising=False)
    monkeypatch.setenv("MIFUND_USER", "analyst1")
    monkeypatch.setenv("COLUMNS", "250")
    return tmp_path
