"""A warehouse held open by another process (as a running `mifund serve` holds it): every command refuses
in one line, and `mifund demo run` deletes nothing (the server would go on writing users, imports, case
decisions and audit entries into a file no longer on disk, all lost on its restart)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mifund.cli import app
from mifund.demo.pipeline import run_demo
from mifund.storage import WarehouseInUse

# the server's part: open the warehouse for writing and keep it open until stdin closes
HOLD = ("import sys; from mifund.storage import Warehouse; w = Warehouse(sys.argv[1]); "
        "print('ready', flush=True); sys.stdin.read(); w.close()")


@pytest.fixture
def held(tmp_path):
    """(demo folder, its warehouse) with the warehouse held open by another process, like `mifund serve`."""
    out = tmp_path / "demo"
    (out / "data").mkdir(parents=True)
    (out / "data" / "README_SYNTHETIC.md").write_text("synthetic\n", encoding="utf-8")  # an earlier demo's
    db = out / "mifund.duckdb"
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        yield out, db
    finally:
        p.stdin.close()
        p.wait(timeout=60)


def test_demo_run_refuses_a_warehouse_in_use_and_deletes_nothing(held):
    out, db = held
    before = (db.stat().st_ino, sorted(x.name for x in out.rglob("*")))
    with pytest.raises(WarehouseInUse, match="in use by another process"):
        run_demo(out)
    # the server's file is the same file (same inode), and the earlier demo's data folder is still there
    assert (db.stat().st_ino, sorted(x.name for x in out.rglob("*"))) == before

    r = CliRunner().invoke(app, ["demo", "run", "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert "Warehouse in use" in r.output and "Traceback" not in r.output
    assert db.stat().st_ino == before[0] and (out / "data" / "README_SYNTHETIC.md").is_file()


@pytest.mark.parametrize("args", [
    ["report", "--region", "360102", "--year", "2024", "--lang", "en", "--out", "r.html"],
    ["pooling", "compare"],
])
def test_commands_that_open_the_warehouse_themselves_refuse_in_one_line(held, args, tmp_path):
    """`report` and `pooling compare` open the warehouse directly, not through `open_warehouse`; the root
    command turns WarehouseInUse into the same one line for them (it used to be a full traceback)."""
    _, db = held
    r = CliRunner().invoke(app, [*args, "--db", str(db)])
    assert r.exit_code == 2, r.output
    assert not isinstance(r.exception, WarehouseInUse)
    assert "Warehouse in use" in r.output and "in use by another process" in r.output


def test_the_installed_command_prints_no_traceback(held, tmp_path):
    """Through the real entry point (where an uncaught exception becomes Rich's traceback)."""
    _, db = held
    exe = Path(sys.executable).with_name("mifund")
    r = subprocess.run([str(exe), "report", "--db", str(db), "--region", "360102", "--year", "2024",
                        "--out", str(tmp_path / "r.html")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stdout + r.stderr
    assert "Warehouse in use" in r.stderr
