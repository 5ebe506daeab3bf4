"""The commands the README and the server's own messages name, run as a newcomer runs them.

Each runs in a subprocess from the repository root against an empty database of the suite's kind
(SQLite, or PostgreSQL when TEST_DATABASE_URL is set): `python orm/db_init.py` (named by the
server when AUTO_MIGRATE=false finds an old schema), its `--check`, `python seed_production_data.py`,
`python seed_test_data.py`, and `make migrate` / `make seed` where make is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orm.migrate import UPGRADE_HINT, head_revision

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], url: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("CAFEPOS_", "TEST_DATABASE"))}
    environment.update(DATABASE_URL=url, BCRYPT_ROUNDS="4", UPLOADS_DIR=str(tmp_path / "uploads"),
                       LOG_LEVEL="WARNING", **env)
    return subprocess.run(args, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


def test_the_upgrade_command_the_server_names_migrates_an_empty_database(empty_database, tmp_path):
    assert UPGRADE_HINT == "python orm/db_init.py"
    check = run([sys.executable, "orm/db_init.py", "--check"], empty_database, tmp_path)
    assert check.returncode == 1, check.stderr
    assert "schema: empty" in check.stdout

    upgrade = run([sys.executable, "orm/db_init.py"], empty_database, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    assert head_revision() in upgrade.stdout

    again = run([sys.executable, "orm/db_init.py", "--check"], empty_database, tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"code: {head_revision()}" in again.stdout


def test_the_seed_scripts_run_on_an_empty_database_and_again(empty_database, tmp_path):
    # The demo seed is idempotent too (tests/test_seed_story.py); one run here keeps this test short.
    for script, runs in (("seed_production_data.py", 2), ("seed_test_data.py", 1)):
        for attempt in range(1, runs + 1):
            done = run([sys.executable, script], empty_database, tmp_path)
            assert done.returncode == 0, f"{script} (run {attempt}): {done.stderr[-2000:]}"
            assert "Traceback" not in done.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed (the slim test image)")
def test_make_migrate_and_make_seed(empty_database, tmp_path):
    venv = Path(sys.prefix)
    if not (venv / ".installed-runtime").exists():
        pytest.skip("this interpreter was not installed by make (no .installed-runtime stamp)")
    for target in ("migrate", "seed"):
        done = run(["make", "--no-print-directory", target, f"VENV={venv}"], empty_database, tmp_path)
        assert done.returncode == 0, f"make {target}: {done.stdout[-1500:]} {done.stderr[-1500:]}"
