"""`pip install ./python` installs the package with the normstats jar inside."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_wheel_carries_the_jar_and_jar_path_finds_it(jar, repo, tmp_path):
    # the wheel pip builds from ./python (hatchling, already installed: no download)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(repo / "python")], check=True)
    wheels = list((tmp_path / "dist").glob("normstats-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as whl:
        names = whl.namelist()
        assert "normstats/jars/normstats.jar" in names
        assert "normstats/py.typed" in names and "normstats/ml.py" in names
        # pyspark.ml imports numpy: the wheel asks for pyspark's ml extra, which brings it
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        requires = [line for line in whl.read(metadata).decode().splitlines()
                    if line.startswith("Requires-Dist:")]
        assert any(r.replace(" ", "").startswith("Requires-Dist:pyspark[ml]")
                   for r in requires), requires
        with open(jar, "rb") as f:
            assert _sha256(whl.read("normstats/jars/normstats.jar")) == _sha256(f.read())

    # installed into a fresh virtual environment (seeing this Python's pyspark)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheels[0])],
                   check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("NORMSTATS_JAR", "PYTHONPATH")}
    found = subprocess.run(
        # PySpark's loaders import a saved stage's module this way
        [str(python), "-c", "import normstats; m = __import__('io.normstats.ml', "
         "fromlist=['BatchNorm']); print(normstats.jar_path()); print(m.BatchNorm.__module__)"],
        check=True, capture_output=True, text=True, env=env, cwd=str(tmp_path)).stdout.split()
    assert found[0].startswith(str(venv)) and found[0].endswith("normstats/jars/normstats.jar")
    assert os.path.isfile(found[0])
    assert found[1] == "normstats.ml"
