"""BatchNorm inside PySpark's model selection."""

from __future__ import annotations

import random

from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import MulticlassClassificationEvaluator
from pyspark.ml.linalg import Vectors
from pyspark.ml.tuning import CrossValidator, ParamGridBuilder


def test_cross_validator_over_epsilon(spark):
    from normstats.ml import BatchNorm, BatchNormModel

    # 70/30 labels separated along the first feature (offset 1e6); with a huge epsilon the
    # normalized features nearly vanish, and a regularized model that does not standardize its
    # features again predicts the majority class only
    rng = random.Random(11)
    rows = []
    for i in range(200):
        label = 1.0 if i % 10 < 3 else 0.0
        rows.append((label, Vectors.dense([1e6 + (2.0 if label else -2.0) + rng.gauss(0, 0.5),
                                           rng.gauss(0, 1)])))
    df = spark.createDataFrame(rows, ["label", "x"])
    bn = BatchNorm(inputCol="x", outputCol="features")
    lr = LogisticRegression(regParam=0.1, maxIter=50, standardization=False)
    grid = ParamGridBuilder().addGrid(bn.epsilon, [1e-5, 1e6]).build()
    cv = CrossValidator(estimator=Pipeline(stages=[bn, lr]), estimatorParamMaps=grid,
                        evaluator=MulticlassClassificationEvaluator(metricName="accuracy"),
                        numFolds=3, seed=5)
    model = cv.fit(df)
    assert model.avgMetrics[0] > 0.95
    assert model.avgMetrics[1] < 0.75
    best_bn = model.bestModel.stages[0]
    assert isinstance(best_bn, BatchNormModel)
    assert best_bn.getEpsilon() == 1e-5
    # the best model is refit on all rows: its statistics are those of the whole DataFrame
    assert list(best_bn.mean) == list(BatchNorm(inputCol="x").fit(df).mean)
