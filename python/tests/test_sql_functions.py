"""normstats.sql.functions against fractions oracles, per group."""

from __future__ import annotations

import math
import random

from oracle import exact_moments


def test_exact_functions_per_group(spark):
    from pyspark.sql import functions as F
    from normstats.sql.functions import (exact_mean, exact_moments as moments, exact_stddev_pop,
                                         exact_var_pop, exact_var_samp)

    rng = random.Random(9)
    groups = {
        "offset": [1e9 + rng.random() for _ in range(200)],
        "bigints": [float(2**50 + rng.randint(-1000, 1000)) for _ in range(200)],
        "one": [2.5],
    }
    rows = [(g, x) for g, xs in groups.items() for x in xs] + [("nulls", None), ("one", None)]
    rng.shuffle(rows)
    df = spark.createDataFrame(rows, "g string, x double").repartition(7)
    out = {r["g"]: r for r in df.groupBy("g").agg(
        exact_mean("x").alias("mean"), exact_var_pop(F.col("x")).alias("var_pop"),
        exact_var_samp("x").alias("var_samp"), exact_stddev_pop("x").alias("std"),
        moments("x").alias("m")).collect()}
    for g, xs in groups.items():
        mean, var_pop, var_samp = exact_moments(xs)
        r = out[g]
        assert (r["mean"], r["var_pop"]) == (mean, var_pop), g
        assert r["var_samp"] == (var_samp if len(xs) > 1 else None), g
        assert abs(r["std"] - math.sqrt(var_pop)) <= math.ulp(r["std"]), g
        assert r["m"]["count"] == len(xs) and r["m"]["mean"] == mean
    assert out["one"]["m"]["null_count"] == 1
    assert out["nulls"]["mean"] is None and out["nulls"]["m"]["count"] == 0


def test_exact_moments_of_vector_and_array_columns(spark):
    from pyspark.ml.linalg import Vectors
    from normstats.sql.functions import exact_moments as moments

    rng = random.Random(12)
    rows = []
    values = {"a": [], "b": []}
    for g in values:
        for i in range(60):
            v = [1e9 + rng.random(), float(2**50 + rng.randint(-50, 50)), 0.0 if i % 3 else 1e-310]
            values[g].append(v)
            vector = Vectors.dense(v) if i % 2 else Vectors.sparse(3, {k: x for k, x in
                                                                       enumerate(v) if x})
            rows.append((g, vector, v))
        rows.append((g, None, None))
    rng.shuffle(rows)
    df = spark.createDataFrame(rows, ["g", "v", "a"])  # v: VectorUDT, a: array<double>
    out = {r["g"]: r for r in df.repartition(5).groupBy("g")
           .agg(moments("v").alias("v"), moments("a").alias("a")).collect()}
    for g, vs in values.items():
        for column in ("v", "a"):
            elements = out[g][column]
            assert len(elements) == 3, (g, column)
            for j, m in enumerate(elements):
                mean, var_pop, _ = exact_moments(v[j] for v in vs)
                assert (m["count"], m["mean"], m["var_pop"]) == (len(vs), mean, var_pop), \
                    (g, column, j)
                assert m["null_count"] == 1, "the NULL row is a null for every element"


def test_register_lets_one_column_share_one_state_with_the_same_bits(spark):
    from normstats.sql.functions import exact_mean, exact_var_pop, register

    def run():
        df = spark.range(600).selectExpr("id % 3 AS g", "CAST(id AS DOUBLE) * 0.1 + 1e9 AS x")
        agg = df.groupBy("g").agg(exact_mean("x"), exact_var_pop("x")).orderBy("g")
        plan = agg._jdf.queryExecution().executedPlan().toString()
        return plan, [tuple(r) for r in agg.collect()]

    rules = spark._jsparkSession.experimental().extraOptimizations()
    before = rules.size()
    plan, rows = run()
    assert spark._jsparkSession.experimental().extraOptimizations().size() == before
    assert "exact_var_pop(x#" in plan and "exact_moments(x#" not in plan
    register(spark)
    register(spark)
    assert spark._jsparkSession.experimental().extraOptimizations().size() == before + 1
    shared_plan, shared_rows = run()
    assert "exact_moments(x#" in shared_plan and "exact_var_pop(x#" not in shared_plan
    assert shared_rows == rows
