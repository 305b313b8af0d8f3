"""`pip install ./python` installs the package with the normstats jar inside, and the README's
Python quick start runs in a fresh virtual environment that has nothing but that install."""

from __future__ import annotations

import hashlib
import os
import re
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

    # installed as a user installs it: into a fresh virtual environment with nothing else, with
    # its dependencies (pyspark[ml] from pip's cache or PyPI); there the README's Python quick
    # start runs as written
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    str(wheels[0])], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("NORMSTATS_JAR", "PYTHONPATH")}
    found = subprocess.run(
        # PySpark's loaders import a saved stage's module this way
        [str(python), "-c", "import normstats; m = __import__('io.normstats.ml', "
         "fromlist=['BatchNorm']); print(normstats.jar_path()); print(m.BatchNorm.__module__)"],
        check=True, capture_output=True, text=True, env=env, cwd=str(tmp_path)).stdout.split()
    assert found[0].startswith(str(venv)) and found[0].endswith("normstats/jars/normstats.jar")
    assert os.path.isfile(found[0])
    assert found[1] == "normstats.ml"

    readme = (repo / "README.md").read_text()
    section = readme[readme.index("\n## Quick start: Python\n"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    run = subprocess.run([str(python), "-c", block], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "|normalized" in run.stdout and "var_pop" in run.stdout, run.stdout
    assert (tmp_path / "out" / "python-pipeline" / "metadata").is_dir()
