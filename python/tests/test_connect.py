"""The stages through Spark Connect: a local Connect server with the jar, a client process."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oracle import exact_moments


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def connect_url(jar, tmp_path_factory):
    import pyspark

    spark_home = os.path.dirname(pyspark.__file__)
    port = _free_port()
    log_path = tmp_path_factory.mktemp("connect") / "server.log"
    log = open(log_path, "wb")
    # what sbin/start-connect-server.sh runs, in the foreground, from pyspark's distribution
    server = subprocess.Popen(
        [os.path.join(spark_home, "bin", "spark-submit"), "--master", "local[2]",
         "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
         "--jars", jar, "--conf", f"spark.connect.grpc.binding.port={port}",
         "--conf", "spark.ui.enabled=false", "--driver-memory", "1g",
         "--conf", "spark.sql.extensions=io.normstats.sql.NormstatsExtensions", "spark-internal"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "SPARK_HOME": spark_home})
    try:
        deadline = time.time() + 180
        while b"Spark Connect server started" not in log_path.read_bytes():
            if server.poll() is not None or time.time() > deadline:
                pytest.fail("the Connect server did not start:\n"
                            + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield f"sc://localhost:{port}"
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_fit_transform_save_and_load_over_connect(spark, connect_url, tmp_path):
    here = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here.parent / "src"), str(here)])}
    done = subprocess.run([sys.executable, str(here / "connect_client.py"), connect_url,
                           str(tmp_path)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["model_class"] == "BatchNormModel"
    xs = [[1e9 + i * 0.25, float(2**50 + i % 3)] for i in range(12)]
    stats = [exact_moments(r[j] for r in xs) for j in range(2)]
    for x, y in zip(xs, result["y"]):
        for j in range(2):
            mean, var_pop, _ = stats[j]
            assert y[j] == (x[j] - mean) * (1 / math.sqrt(var_pop + 0.5)), (x, y)
    assert result["loaded_y"] == result["y"]
    assert result["loaded_epsilon"] == 0.5
    assert "not reachable over Spark Connect" in result["mean_error"]
    # what the Connect server saved is a normal saved model: its statistics are exact
    saved = spark.read.parquet(str(tmp_path / "bn" / "data")).first()
    assert list(saved["mean"]) == [s[0] for s in stats]
    assert list(saved["variance"]) == [s[1] for s in stats]
    assert result["estimator_variance_mode"] == "sample"
    assert result["pipeline_stages"] == ["BatchNormModel", "LayerNorm"]
    assert result["reloaded_z"] == result["z"]
    assert "channels do not divide" in result["param_error"]
    assert result["exact_var_pop"] == exact_moments(float(2**50 + i % 7) for i in range(50))[1]
