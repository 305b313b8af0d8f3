"""BatchNormRecalibration on the sample CNN, against the recalibrate job on the same rows."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from pyspark.ml.linalg import Vectors

from idx import read_images, read_labels

ROWS = 600


@pytest.fixture(scope="module")
def images(spark, repo, tmp_path_factory):
    data = repo / "sample-data" / "fashion-mnist"
    pixels = read_images(str(data / "t10k-images-idx3-ubyte.gz"), ROWS)
    labels = read_labels(str(data / "t10k-labels-idx1-ubyte.gz"), ROWS)
    df = spark.createDataFrame([(i, labels[i], Vectors.dense(p)) for i, p in enumerate(pixels)],
                               ["id", "label", "image"]).repartition(3)
    path = str(tmp_path_factory.mktemp("images") / "images.parquet")
    df.write.parquet(path)
    return spark.read.parquet(path), path


def test_recalibration_matches_the_job_and_runs_the_network(spark, repo, images, tmp_path):
    from normstats.ml import BatchNormRecalibration, RecalibratedNetworkModel

    df, path = images
    onnx = str(repo / "sample-data" / "fashion-mnist-cnn" / "model.onnx")
    stage = BatchNormRecalibration(modelPath=onnx, inputCol="image", outputCol="logits",
                                   batchSize=50)
    assert stage.getBatchSize() == 50 and stage.getVarianceMode() == "population"
    model = stage.fit(df)
    assert isinstance(model, RecalibratedNetworkModel)
    layers = model.layers
    assert [layer.level for layer in layers] == [0, 1, 2]

    out = tmp_path / "job"
    subprocess.run([str(repo / "jobs" / "normstats"), "recalibrate", "--model", onnx,
                    "--input", path, "--vector-col", "image", "--eval-input", path,
                    "--label-col", "label", "--output", str(out), "--master", "local[2]"],
                   check=True, env={**os.environ, "NORMSTATS_JAVA_OPTS": "-Xmx1g"},
                   stdout=subprocess.DEVNULL)
    report = json.loads((out / "recalibrate.json").read_text())
    assert [l["node"] for l in report["layers"]] == [l.node for l in layers]
    for ours, job in zip(layers, report["layers"]):
        assert ours.count == job["count"]
        assert list(ours.mean) == job["mean"], ours.node
        assert list(ours.var_pop) == job["var_pop"], ours.node
        assert list(ours.var_samp) == job["var_samp"], ours.node
    assert model.onnxModel == (out / "model.onnx").read_bytes()

    # the network with these statistics classifies the rows as the job measured
    logits = model.transform(df).select("label", "logits").collect()
    right = sum(1 for r in logits if int(r["logits"].argmax()) == r["label"])
    assert right / ROWS == report["evaluation"]["accuracy"]["recalibrated"]

    saved = str(tmp_path / "model")
    model.save(saved)
    again = RecalibratedNetworkModel.load(saved)
    assert again.getOutputCol() == "logits" and again.getBatchSize() == 50
    assert [list(l.mean) for l in again.layers] == [list(l.mean) for l in layers]


def test_recalibration_refuses_a_missing_model(spark, images):
    from pyspark.errors import IllegalArgumentException
    from normstats.ml import BatchNormRecalibration

    df, _ = images
    with pytest.raises(IllegalArgumentException, match="modelPath /nonexistent.onnx does not exist"):
        BatchNormRecalibration(modelPath="/nonexistent.onnx", inputCol="image").fit(df)


def test_layers_and_prior_weight_as_the_job_takes_them(spark, repo, images, tmp_path):
    from pyspark.errors import IllegalArgumentException
    from normstats.ml import BatchNormRecalibration

    df, path = images
    onnx = str(repo / "sample-data" / "fashion-mnist-cnn" / "model.onnx")
    stage = BatchNormRecalibration(modelPath=onnx, inputCol="image", layers=["bn2", "/bn3/*"],
                                   priorWeight=0.5)
    assert stage.getLayers() == ["bn2", "/bn3/*"] and stage.getPriorWeight() == 0.5
    model = stage.fit(df)
    assert [layer.node for layer in model.layers] == ["/bn2/BatchNormalization",
                                                      "/bn3/BatchNormalization"]

    out = tmp_path / "job"
    subprocess.run([str(repo / "jobs" / "normstats"), "recalibrate", "--model", onnx,
                    "--input", path, "--vector-col", "image", "--layers", "bn2,/bn3/*",
                    "--prior-weight", "0.5", "--approximations", "none", "--output", str(out),
                    "--master", "local[2]"],
                   check=True, env={**os.environ, "NORMSTATS_JAVA_OPTS": "-Xmx1g"},
                   stdout=subprocess.DEVNULL)
    report = json.loads((out / "recalibrate.json").read_text())
    assert report["prior_weight"] == 0.5 and report["approximations"] == []
    assert model.onnxModel == (out / "model.onnx").read_bytes()
    # bn1 kept its stored statistics; bn2 and bn3 hold halfway between stored and exact
    for layer in report["layers"]:
        for c in range(layer["channels"]):
            mixed = 0.5 * layer["stored_mean"][c] + 0.5 * layer["mean"][c]
            assert abs(layer["written_mean"][c] - mixed) <= 1e-7 * (1 + abs(mixed))

    with pytest.raises(IllegalArgumentException, match="priorWeight"):
        BatchNormRecalibration(modelPath=onnx, inputCol="image", priorWeight=1.5).fit(df)
    with pytest.raises(IllegalArgumentException, match="matches no BatchNormalization"):
        BatchNormRecalibration(modelPath=onnx, inputCol="image", layers=["conv*"]).fit(df)
