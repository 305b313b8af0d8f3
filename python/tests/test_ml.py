"""The ML stages from Python: fitted statistics against fractions oracles, transforms bit for bit."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from pyspark.ml.linalg import DenseVector, Vectors

from oracle import exact_moments


def _bn(x: float, mean: float, var: float, eps: float, w: float = 1.0, b: float = 0.0) -> float:
    """PyTorch's eval-mode BatchNorm of one value, in the JVM stage's order of operations."""
    v = var + eps
    s = 0.0 if v == 0 else 1 / math.sqrt(v)
    return (x - mean) * s * w + b


@pytest.fixture(scope="module")
def adversarial(spark):
    """60 rows of 3 features: 1e9 + U(0,1), 2^50 + small integers, and a plain normal feature."""
    rng = random.Random(20261130)
    rows = []
    for _ in range(60):
        rows.append((Vectors.dense([1e9 + rng.random(), float(2**50 + rng.randint(0, 9)),
                                    rng.gauss(3.0, 2.0)]),))
    return spark.createDataFrame(rows, ["x"]).repartition(3), [r[0].toArray().tolist()
                                                              for r in rows]


def test_batchnorm_fit_is_exact_and_transform_matches_pytorch_bit_for_bit(adversarial):
    from normstats.ml import BatchNorm, BatchNormModel

    df, rows = adversarial
    model = BatchNorm(inputCol="x", outputCol="y").fit(df)
    assert isinstance(model, BatchNormModel)
    assert isinstance(model.mean, DenseVector) and isinstance(model.variance, DenseVector)
    for j in range(3):
        mean, var_pop, _ = exact_moments(r[j] for r in rows)
        assert model.mean[j] == mean, j
        assert model.variance[j] == var_pop, j
    # defaults are the JVM's
    assert model.getEpsilon() == 1e-5
    assert model.getVarianceMode() == "population"
    assert model.getHandleInvalid() == "error"
    assert model.getOutputType() == "vector"
    out = model.transform(df).select("x", "y").collect()
    assert len(out) == 60
    for r in out:
        x, y = r["x"].toArray(), r["y"].toArray()
        for j in range(3):
            assert y[j] == _bn(x[j], model.mean[j], model.variance[j], 1e-5), (x[j], y[j])


def test_the_statistics_do_not_depend_on_the_partitioning(spark, adversarial):
    from normstats.ml import BatchNorm

    df, _ = adversarial
    a = BatchNorm(inputCol="x").fit(df.repartition(1))
    b = BatchNorm(inputCol="x").fit(df.repartition(7))
    assert a.mean.toArray().tobytes() == b.mean.toArray().tobytes()
    assert a.variance.toArray().tobytes() == b.variance.toArray().tobytes()


def test_sample_variance_channels_weight_and_bias(spark):
    from normstats.ml import BatchNorm

    # 2 channels of 2x2 values each (channel-major), offset by 2^50: BatchNorm2d statistics
    rng = random.Random(7)
    rows = [[float(2**50 + rng.randint(0, 99)) for _ in range(4)]
            + [rng.uniform(-1, 1) for _ in range(4)] for _ in range(25)]
    df = spark.createDataFrame([(Vectors.dense(r),) for r in rows], ["img"])
    bn = BatchNorm(inputCol="img", outputCol="out", numChannels=2, varianceMode="sample",
                   epsilon=0.5, weight=Vectors.dense([2.0, -1.0]), bias=Vectors.dense([0.25, 3.0]))
    assert bn.getNumChannels() == 2 and bn.getEpsilon() == 0.5
    model = bn.fit(df)
    assert len(model.mean) == 2
    for c in range(2):
        values = [r[4 * c + k] for r in rows for k in range(4)]
        mean, _, var_samp = exact_moments(values)
        assert model.mean[c] == mean and model.variance[c] == var_samp
    first = model.transform(df).select("img", "out").first()
    x, y = first["img"].toArray(), first["out"].toArray()
    w, b = (2.0, -1.0), (0.25, 3.0)
    for k in range(8):
        c = k // 4
        assert y[k] == _bn(x[k], model.mean[c], model.variance[c], 0.5, w[c], b[c])


def test_array_columns_and_array_output(spark):
    from pyspark.sql.types import ArrayType, FloatType, StructField, StructType
    from normstats.ml import BatchNorm

    schema = StructType([StructField("f", ArrayType(FloatType()))])
    values = [[0.1, 3.0], [0.2, 5.0], [0.7, 4.0]]
    df = spark.createDataFrame([(v,) for v in values], schema)
    model = BatchNorm(inputCol="f", outputCol="g", outputType="array").fit(df)
    import struct
    as_float = [[struct.unpack("f", struct.pack("f", v))[0] for v in row] for row in values]
    mean, var_pop, _ = exact_moments(r[0] for r in as_float)
    assert model.mean[0] == mean and model.variance[0] == var_pop
    out_type = model.transform(df).schema["g"].dataType
    assert out_type == ArrayType(FloatType(), True) or out_type == ArrayType(FloatType(), False)


def test_layernorm_and_rmsnorm_against_exact_row_statistics(spark):
    from normstats.ml import LayerNorm, RMSNorm

    rows = [[1e9 + 0.5, 1e9 + 1.5, 1e9 + 4.0, 1e9 - 2.0], [3.0, -1.0, 0.5, 8.0]]
    df = spark.createDataFrame([(Vectors.dense(r),) for r in rows], ["x"])
    ln = LayerNorm(inputCol="x", outputCol="ln")
    assert ln.getEpsilon() == 1e-5 and ln.getNumGroups() == 1
    rms = RMSNorm(inputCol="x", outputCol="rms")
    assert rms.getEpsilon() == 2.220446049250313e-16
    out = rms.transform(ln.transform(df)).orderBy("x").collect()
    by_first = {r["x"][0]: r for r in out}
    for row in rows:
        r = by_first[row[0]]
        mean, var_pop, _ = exact_moments(row)
        rstd = 1 / math.sqrt(var_pop + 1e-5)
        for k, x in enumerate(row):
            expected = float((Fraction(x) - Fraction(mean)) * Fraction(rstd))
            assert r["ln"][k] == pytest.approx(expected, rel=1e-13, abs=1e-15)
        ms = sum(Fraction(x) ** 2 for x in row) / len(row)
        inv = 1 / math.sqrt(float(ms) + 2.220446049250313e-16)
        for k, x in enumerate(row):
            assert r["rms"][k] == pytest.approx(x * inv, rel=1e-14)


def test_groupnorm_params_reach_the_jvm(spark):
    from normstats.ml import LayerNorm

    row = [1.0, 3.0, 10.0, 30.0]
    df = spark.createDataFrame([(Vectors.dense(row),)], ["x"])
    y = LayerNorm(inputCol="x", outputCol="y", numGroups=2, epsilon=0.0).transform(df).first()["y"]
    assert list(y) == [-1.0, 1.0, -1.0, 1.0]


def test_bad_params_raise_with_the_jvms_message(spark, adversarial):
    from pyspark.errors import IllegalArgumentException
    from normstats.ml import BatchNorm

    df, _ = adversarial
    with pytest.raises(IllegalArgumentException, match="channels do not divide"):
        BatchNorm(inputCol="x", numChannels=2).fit(df)
    with pytest.raises(IllegalArgumentException, match="weight has length 2, expected 3"):
        BatchNorm(inputCol="x", weight=Vectors.dense([1.0, 2.0])).fit(df)
    with pytest.raises(IllegalArgumentException, match="nope"):
        BatchNorm(inputCol="nope").fit(df)
    with pytest.raises(IllegalArgumentException, match="varianceMode"):
        BatchNorm(inputCol="x", varianceMode="unbiased").fit(df)
    with pytest.raises(TypeError):
        BatchNorm("x")  # keyword-only, as PySpark's own stages


def test_bad_data_raises_the_jvms_one_line_message(spark):
    from normstats import NormstatsInputError
    from normstats.ml import BatchNorm

    df = spark.createDataFrame([(Vectors.dense([1.0, float("nan")]),),
                                (Vectors.dense([2.0, 1.0]),)], ["v"])
    with pytest.raises(NormstatsInputError) as e:
        BatchNorm(inputCol="v").fit(df)
    assert str(e.value) == ("column 'v' has 1 NaN or infinite and 0 null values in v[1] "
                            "(handleInvalid=error; set it to skip or keep)")
    assert e.value.exit_code == 1
    assert "\n" not in str(e.value)
    # "keep" leaves the NaN out of the statistics
    kept = BatchNorm(inputCol="v", handleInvalid="keep").fit(df)
    assert list(kept.mean) == [1.5, 1.0]
    ragged = spark.createDataFrame([(Vectors.dense([1.0, 2.0]),), (Vectors.dense([1.0]),)], ["v"])
    with pytest.raises(NormstatsInputError, match="column 'v'.*length"):
        BatchNorm(inputCol="v").fit(ragged)


def test_a_model_from_given_statistics(spark):
    from pyspark.errors import IllegalArgumentException
    from normstats.ml import BatchNormModel

    model = BatchNormModel.from_statistics([1.0, -2.0], [4.0, 0.25], inputCol="x",
                                           outputCol="y", epsilon=0.0, bias=Vectors.dense([0, 1]))
    assert list(model.mean) == [1.0, -2.0] and list(model.variance) == [4.0, 0.25]
    assert model.getEpsilon() == 0.0 and model.getOutputCol() == "y"
    df = spark.createDataFrame([(Vectors.dense([3.0, -1.0]),)], ["x"])
    # (3 - 1) / 2 = 1; (-1 + 2) / 0.5 + 1 = 3
    assert list(model.transform(df).first()["y"]) == [1.0, 3.0]
    with pytest.raises(IllegalArgumentException, match="same, non-zero length"):
        BatchNormModel.from_statistics([1.0], [1.0, 2.0])
    with pytest.raises(IllegalArgumentException, match="channel 0 has mean 0.0 and variance -1.0"):
        BatchNormModel.from_statistics([0.0], [-1.0])
