"""`pip install ./python` installs the package with the normstats jars inside, and the README's
Python quick start and a network recalibration run in a fresh virtual environment that has nothing
but that install."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# a recalibration of the sample CNN on 64 images, run in the fresh virtual environment
_RECALIBRATE = """
import gzip, json, struct, sys
import normstats
from pyspark.ml.linalg import Vectors
from pyspark.sql import SparkSession
from normstats.ml import BatchNormRecalibration

spark = (SparkSession.builder.master("local[2]")
         .config("spark.jars", normstats.spark_jars(onnx=True)).getOrCreate())
with gzip.open(sys.argv[1], "rb") as f:
    _, _, rows, cols = struct.unpack(">IIII", f.read(16))
    images = [[float(b) for b in f.read(rows * cols)] for _ in range(64)]
df = spark.createDataFrame([(Vectors.dense(p),) for p in images], ["image"])
model = BatchNormRecalibration(modelPath=sys.argv[2], inputCol="image").fit(df)
print(json.dumps([[l.node, l.count, list(l.mean), list(l.var_pop)] for l in model.layers]))
"""


def test_the_wheel_carries_the_jars_and_spark_jars_finds_them(spark, repo, tmp_path):
    # the wheel pip builds from ./python (hatchling, already installed: no download)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(repo / "python")], check=True)
    wheels = list((tmp_path / "dist").glob("normstats-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as whl:
        names = whl.namelist()
        assert "normstats/jars/normstats-spark.jar" in names
        assert "normstats/jars/normstats-onnx.jar" in names
        assert "normstats/py.typed" in names and "normstats/ml.py" in names
        # pyspark.ml imports numpy: the wheel asks for pyspark's ml extra, which brings it
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        requires = [line for line in whl.read(metadata).decode().splitlines()
                    if line.startswith("Requires-Dist:")]
        assert any(r.replace(" ", "").startswith("Requires-Dist:pyspark[ml]")
                   for r in requires), requires
        # the bundles mvn package built: the spark one small (no ONNX Runtime), the onnx one not
        for module in ("spark", "onnx"):
            built = glob.glob(str(repo / module / "target" / f"normstats-{module}-*-bundle.jar"))
            assert len(built) == 1, built
            with open(built[0], "rb") as f:
                data = f.read()
            assert _sha256(whl.read(f"normstats/jars/normstats-{module}.jar")) == _sha256(data)
            assert (len(data) < 2_000_000) == (module == "spark"), (module, len(data))

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
         "fromlist=['BatchNorm']); print(normstats.spark_jars()); "
         "print(normstats.spark_jars(onnx=True)); print(m.BatchNorm.__module__)"],
        check=True, capture_output=True, text=True, env=env, cwd=str(tmp_path)).stdout.split()
    jars = str(venv), "normstats/jars/normstats-spark.jar", "normstats/jars/normstats-onnx.jar"
    assert found[0].startswith(jars[0]) and found[0].endswith(jars[1])
    assert found[1] == found[0] + "," + found[1].split(",")[1]
    assert found[1].split(",")[1].endswith(jars[2])
    assert all(os.path.isfile(p) for p in found[1].split(","))
    assert found[2] == "normstats.ml"

    readme = (repo / "README.md").read_text()
    section = readme[readme.index("\n## Quick start: Python\n"):]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    run = subprocess.run([str(python), "-c", block], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "|normalized" in run.stdout and "var_pop" in run.stdout, run.stdout
    assert (tmp_path / "out" / "python-pipeline" / "metadata").is_dir()

    # the network stages from the wheel's two jars: the same statistics, bit for bit, as the
    # application jar gives in the tests' own session
    images = repo / "sample-data" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    model = repo / "sample-data" / "fashion-mnist-cnn" / "model.onnx"
    run = subprocess.run([str(python), "-c", _RECALIBRATE, str(images), str(model)],
                         capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    from_wheel = json.loads(run.stdout.strip().splitlines()[-1])

    from pyspark.ml.linalg import Vectors

    from idx import read_images
    from normstats.ml import BatchNormRecalibration

    df = spark.createDataFrame([(Vectors.dense(p),) for p in read_images(str(images), 64)],
                               ["image"])
    ours = BatchNormRecalibration(modelPath=str(model), inputCol="image").fit(df)
    assert from_wheel == [[l.node, l.count, list(l.mean), list(l.var_pop)] for l in ours.layers]
    assert len(from_wheel) == 3
