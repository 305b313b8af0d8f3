"""The Spark Connect client of test_connect.py, run in its own process.

A Connect session switches PySpark to remote mode for the whole process, so it cannot share one
with the tests' classic session. Prints one JSON object with what it computed.
Usage: connect_client.py sc://HOST:PORT DIR
"""

from __future__ import annotations

import json
import sys

import normstats  # noqa: F401  (registers io.normstats.ml for PySpark's loaders)
from normstats.ml import BatchNorm, BatchNormModel, LayerNorm
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.linalg import Vectors
from pyspark.sql import SparkSession


def values(df, col):
    return [list(map(float, r[col])) for r in df.orderBy("id").select(col).collect()]


def main(url: str, out: str) -> None:
    spark = SparkSession.builder.remote(url).getOrCreate()
    rows = [(i, Vectors.dense([1e9 + i * 0.25, float(2**50 + i % 3)])) for i in range(12)]
    df = spark.createDataFrame(rows, ["id", "x"])
    result = {}

    model = BatchNorm(inputCol="x", outputCol="y", epsilon=0.5).fit(df)
    result["model_class"] = type(model).__name__
    result["y"] = values(model.transform(df), "y")
    model.write().overwrite().save(f"{out}/bn")
    loaded = BatchNormModel.load(f"{out}/bn")
    result["loaded_epsilon"] = loaded.getEpsilon()
    result["loaded_y"] = values(loaded.transform(df), "y")
    try:
        model.mean
        result["mean_error"] = None
    except NotImplementedError as e:
        result["mean_error"] = str(e)

    estimator = BatchNorm(inputCol="x", outputCol="y", varianceMode="sample")
    estimator.write().overwrite().save(f"{out}/estimator")
    result["estimator_variance_mode"] = BatchNorm.load(f"{out}/estimator").getVarianceMode()

    pipeline = Pipeline(stages=[BatchNorm(inputCol="x", outputCol="y"),
                                LayerNorm(inputCol="y", outputCol="z")])
    fitted = pipeline.fit(df)
    result["z"] = values(fitted.transform(df), "z")
    fitted.write().overwrite().save(f"{out}/pipeline")
    reloaded = PipelineModel.load(f"{out}/pipeline")
    result["pipeline_stages"] = [type(s).__name__ for s in reloaded.stages]
    result["reloaded_z"] = values(reloaded.transform(df), "z")
    # the SQL functions, which the server has through spark.sql.extensions
    from normstats.sql.functions import exact_var_pop
    scalars = spark.createDataFrame([(float(2**50 + i % 7),) for i in range(50)], ["v"])
    result["exact_var_pop"] = scalars.agg(exact_var_pop("v")).first()[0]
    try:
        BatchNorm(inputCol="x", numChannels=3).fit(df)
        result["param_error"] = None
    except Exception as e:  # the server's IllegalArgumentException, as the Connect client raises it
        result["param_error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(result))
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
