"""Saving and loading normstats stages: Python, Java and Pipelines, with identical output bits."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.linalg import Vectors


def _bits(rows, col):
    return [r[col].toArray().tobytes() for r in rows]


@pytest.fixture(scope="module")
def data(spark):
    rows = [(Vectors.dense([1e9 + i * 0.37, (i * 7) % 11 - 5.0, 2.0**50 + i]),) for i in range(40)]
    return spark.createDataFrame(rows, ["x"]).coalesce(2)


def test_pipeline_and_pipeline_model_round_trip_with_identical_bits(spark, data, tmp_path):
    from normstats.ml import BatchNorm, BatchNormModel, LayerNorm, RMSNorm

    pipeline = Pipeline(stages=[
        BatchNorm(inputCol="x", outputCol="bn", epsilon=1e-3, weight=Vectors.dense([1, 2, 3])),
        LayerNorm(inputCol="bn", outputCol="ln"),
        RMSNorm(inputCol="ln", outputCol="rms", epsilon=1e-6)])
    pipeline.save(str(tmp_path / "pipeline"))
    again = Pipeline.load(str(tmp_path / "pipeline"))
    assert [type(s).__name__ for s in again.getStages()] == ["BatchNorm", "LayerNorm", "RMSNorm"]
    bn = again.getStages()[0]
    assert bn.getEpsilon() == 1e-3 and list(bn.getWeight()) == [1.0, 2.0, 3.0]
    assert again.getStages()[2].getEpsilon() == 1e-6

    model = again.fit(data)
    expected = model.transform(data).orderBy("x").collect()
    model.save(str(tmp_path / "model"))
    loaded = PipelineModel.load(str(tmp_path / "model"))
    assert isinstance(loaded.stages[0], BatchNormModel)
    assert loaded.stages[0].mean.toArray().tobytes() == model.stages[0].mean.toArray().tobytes()
    got = loaded.transform(data).orderBy("x").collect()
    for col in ("bn", "ln", "rms"):
        assert _bits(got, col) == _bits(expected, col), col

    # the single model, too
    model.stages[0].write().overwrite().save(str(tmp_path / "bn"))
    single = BatchNormModel.load(str(tmp_path / "bn"))
    assert single.uid == model.stages[0].uid and single.getEpsilon() == 1e-3
    assert _bits(single.transform(data).orderBy("x").collect(), "bn") == _bits(expected, "bn")


def test_a_python_saved_pipeline_model_loads_in_java(spark, data, tmp_path):
    from pyspark.sql import DataFrame
    from normstats.ml import BatchNorm, LayerNorm

    model = Pipeline(stages=[BatchNorm(inputCol="x", outputCol="bn"),
                             LayerNorm(inputCol="bn", outputCol="ln")]).fit(data)
    path = str(tmp_path / "for-java")
    model.save(path)
    java_model = spark._jvm.org.apache.spark.ml.PipelineModel.load(path)
    stages = java_model.stages()
    assert stages[0].getClass().getName() == "io.normstats.ml.BatchNormModel"
    assert stages[1].getClass().getName() == "io.normstats.ml.LayerNorm"
    java_out = DataFrame(java_model.transform(data._jdf), spark).orderBy("x").collect()
    python_out = model.transform(data).orderBy("x").collect()
    assert _bits(java_out, "ln") == _bits(python_out, "ln")


def test_a_java_saved_pipeline_of_the_readme_example_loads_in_python(spark, repo: Path,
                                                                     tmp_path):
    """The README's Java example (BatchNorm with one channel, then LayerNorm), built, fitted and
    saved by the JVM classes themselves, loads with the Python wrappers and gives the same bits."""
    from pyspark.sql import DataFrame

    from idx import read_images
    from normstats.ml import BatchNormModel, LayerNorm

    images = spark.createDataFrame(
        [(Vectors.dense(p),) for p in read_images(
            str(repo / "sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz"), 300)],
        ["image"]).coalesce(2)
    jvm = spark._jvm
    stages = spark.sparkContext._gateway.new_array(jvm.org.apache.spark.ml.PipelineStage, 2)
    stages[0] = (jvm.io.normstats.ml.BatchNorm().setInputCol("image").setOutputCol("bn")
                 .setNumChannels(1).setEpsilon(1e-5))
    stages[1] = jvm.io.normstats.ml.LayerNorm().setInputCol("bn").setOutputCol("normalized")
    java_model = jvm.org.apache.spark.ml.Pipeline().setStages(stages).fit(images._jdf)
    saved = str(tmp_path / "java-model")
    java_model.write().save(saved)
    java_out = DataFrame(java_model.transform(images._jdf), spark).select("normalized").collect()

    model = PipelineModel.load(saved)
    bn, ln = model.stages
    assert isinstance(bn, BatchNormModel) and isinstance(ln, LayerNorm)
    assert bn.getNumChannels() == 1 and bn.getInputCol() == "image"
    # the exact mean of all pixels of the 300 images, from the images themselves
    from fractions import Fraction
    total = Fraction(0)
    count = 0
    for r in images.select("image").collect():
        total += sum(int(v) for v in r[0].toArray())
        count += len(r[0])
    assert bn.mean[0] == float(total / count)
    ours = model.transform(images).select("normalized").collect()
    assert sorted(_bits(ours, "normalized")) == sorted(_bits(java_out, "normalized"))
