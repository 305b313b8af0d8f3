"""normstats.exact_stats against fractions oracles."""

from __future__ import annotations

import math
import random

import pytest
from pyspark.ml.linalg import Vectors

from oracle import exact_moments

COLUMNS = ["name", "index", "count", "mean", "var_pop", "var_samp", "std_pop", "std_samp", "min",
           "max", "null_count", "nan_count"]


def test_scalar_columns_with_offsets_nulls_and_nans(spark):
    import normstats

    rng = random.Random(3)
    a = [1e9 + rng.random() for _ in range(50)]
    b = [float(2**50 + rng.randint(-3, 3)) for _ in range(50)]
    rows = [(a[i], b[i] if i % 10 else None, float("nan") if i == 7 else i * 0.5)
            for i in range(50)]
    df = spark.createDataFrame(rows, "a double, b double, c double").repartition(5)
    stats = normstats.exact_stats(df)
    assert stats.columns == COLUMNS
    got = {r["name"]: r for r in stats.collect()}
    assert sorted(got) == ["a", "b", "c"]
    for name, values, nulls, nans in (("a", a, 0, 0),
                                      ("b", [b[i] for i in range(50) if i % 10], 5, 0),
                                      ("c", [i * 0.5 for i in range(50) if i != 7], 0, 1)):
        mean, var_pop, var_samp = exact_moments(values)
        r = got[name]
        assert (r["count"], r["null_count"], r["nan_count"]) == (len(values), nulls, nans)
        assert (r["mean"], r["var_pop"], r["var_samp"]) == (mean, var_pop, var_samp), name
        assert (r["min"], r["max"]) == (min(values), max(values))
        # the square root of the exact variance, correctly rounded or at worst 1 ulp off
        assert abs(r["std_pop"] - math.sqrt(var_pop)) <= math.ulp(r["std_pop"])
    only_a = normstats.exact_stats(df, features=["a"]).collect()
    assert [r["name"] for r in only_a] == ["a"] and only_a[0]["mean"] == got["a"]["mean"]


def test_vector_column_per_channel(spark):
    import normstats

    rows = [[float(i + 4 * k) for k in range(6)] for i in range(9)]
    df = spark.createDataFrame([(Vectors.dense(r),) for r in rows], ["v"])
    per_element = normstats.exact_stats(df, vector_col="v").orderBy("index").collect()
    assert len(per_element) == 6
    assert per_element[2]["mean"] == exact_moments(r[2] for r in rows)[0]
    per_channel = normstats.exact_stats(df, vector_col="v", channels=2).orderBy("index").collect()
    assert len(per_channel) == 2
    for c in range(2):
        mean, var_pop, var_samp = exact_moments(r[k] for r in rows for k in range(3 * c, 3 * c + 3))
        assert (per_channel[c]["mean"], per_channel[c]["var_pop"]) == (mean, var_pop)
        assert per_channel[c]["count"] == 27


def test_bad_arguments(spark):
    from pyspark.errors import IllegalArgumentException
    import normstats

    df = spark.createDataFrame([(1.0, "a")], "x double, s string")
    with pytest.raises(ValueError, match="either features or vector_col"):
        normstats.exact_stats(df, features=["x"], vector_col="v")
    with pytest.raises(ValueError, match="list of column names"):
        normstats.exact_stats(df, features="x")
    with pytest.raises(ValueError, match="positive int"):
        normstats.exact_stats(df, channels=0)
    with pytest.raises(IllegalArgumentException, match="column 's' is string, not numeric"):
        normstats.exact_stats(df, features=["s"])
    with pytest.raises(IllegalArgumentException, match="channels need a vector column"):
        normstats.exact_stats(df, features=["x"], channels=2)
