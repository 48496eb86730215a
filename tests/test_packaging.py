"""Building the package: no setuptools warnings, and every static file ships."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_builds_without_warnings_and_ships_the_static_files(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    output = built.stdout + built.stderr
    assert "absent from the `packages` configuration" not in output
    assert "BuildBackendWarning" not in output
    (wheel,) = tmp_path.glob("timeline-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    static = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "service" / "static").rglob("*")
        if path.is_file()
    }
    assert static - shipped == set()
    assert "service/view_examples.json" in shipped
    assert not any(name.startswith("tests/") for name in shipped)
