"""Storage: the only layer that knows the engine (DuckDB now, Spark for claim-scale work later)."""

from mifund.storage.warehouse import UpsertStats, Warehouse, WarehouseInUse, migrations

__all__ = ["UpsertStats", "Warehouse", "WarehouseInUse", "migrations", "open_warehouse"]


def open_warehouse(settings=None, *, read_only: bool = False) -> Warehouse:
    from mifund.config import get_settings

    settings = settings or get_settings()
    return Warehouse(settings.db, read_only=read_only)
