"""The package's type hints are consistent (it ships py.typed)."""

from __future__ import annotations

import subprocess
import sys


def test_mypy_finds_no_errors(repo):
    done = subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports",
                           "--no-incremental", str(repo / "python" / "src" / "normstats")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
