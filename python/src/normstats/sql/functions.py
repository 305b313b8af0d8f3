"""Exact aggregate functions for PySpark DataFrames, like ``pyspark.sql.functions``.

Drop-in replacements for ``avg``, ``var_pop``, ``var_samp``, ``stddev_pop`` and ``stddev_samp``:
each result is the double nearest the exact value over the group's non-null values (one
rounding; the standard deviations the correctly rounded square root of the exact variance),
bit-for-bit the same for any partitioning, in batch and in Structured Streaming aggregations.
They wrap the JVM's ``io.normstats.sql.ExactFunctions``.

Semantics as Spark's own: the input (double, float, integer, long or decimal) is cast to double;
NULLs are ignored; a group without a non-null value gives NULL, as does var_samp of one value; a NaN
or an infinity makes the mean and variances NaN.

Using them changes nothing in the session. Several functions of one column in one aggregation
share one state (the same bits, less shuffle) in a session started with
``spark.sql.extensions=io.normstats.sql.NormstatsExtensions``, or after :func:`register`.

Over Spark Connect they call the SQL functions of the same names, which the server has when it runs
with ``spark.sql.extensions=io.normstats.sql.NormstatsExtensions`` and the normstats jar.

Examples
--------
>>> from normstats.sql.functions import exact_mean, exact_var_pop
>>> df.groupBy("day").agg(exact_mean("x"), exact_var_pop("x"))        # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from pyspark.sql import is_remote

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession

ColumnOrName = Union["Column", str]

__all__ = ["exact_mean", "exact_var_pop", "exact_var_samp", "exact_stddev_pop",
           "exact_stddev_samp", "exact_moments", "register"]


def _call(name: str, col: ColumnOrName) -> "Column":
    if is_remote():
        from pyspark.sql.functions import call_function

        return call_function(name, col)
    from pyspark import SparkContext
    from pyspark.sql.classic.column import Column as ClassicColumn, _to_java_column

    sc = SparkContext._active_spark_context
    if sc is None or sc._jvm is None:
        raise RuntimeError(f"{name} needs an active SparkSession with the normstats jar")
    functions = getattr(sc._jvm, "io.normstats.sql.ExactFunctions")
    return ClassicColumn(getattr(functions, name)(_to_java_column(col)))


def exact_mean(col: ColumnOrName) -> "Column":
    """The correctly rounded mean of the non-null values (double; NULL for none)."""
    return _call("exact_mean", col)


def exact_var_pop(col: ColumnOrName) -> "Column":
    """The correctly rounded population variance (/n) of the non-null values; NULL for none."""
    return _call("exact_var_pop", col)


def exact_var_samp(col: ColumnOrName) -> "Column":
    """The correctly rounded sample variance (/(n-1)); NULL for fewer than two values."""
    return _call("exact_var_samp", col)


def exact_stddev_pop(col: ColumnOrName) -> "Column":
    """The correctly rounded square root of the exact population variance; NULL for none."""
    return _call("exact_stddev_pop", col)


def exact_stddev_samp(col: ColumnOrName) -> "Column":
    """The correctly rounded square root of the exact sample variance; NULL for fewer than two."""
    return _call("exact_stddev_samp", col)


def exact_moments(col: ColumnOrName) -> "Column":
    """Every statistic as a struct.

    Fields: count (long, non-null values), mean, var_pop, var_samp, std_pop, std_samp, min, max
    (double; NULL without a value, var_samp and std_samp NULL for one value), null_count and
    nan_count (long; NaN and infinite values).

    Over a ``pyspark.ml.linalg`` Vector column or an array of numbers: an array of such structs,
    element ``i`` summarizing the ``i``-th values of the group's rows. Every non-NULL row of a
    group must have the same length (otherwise the query fails naming both lengths); a NULL row
    counts as a null for every element; a group without a non-NULL row gives NULL.
    """
    return _call("exact_moments", col)


def register(spark: "SparkSession") -> None:
    """Lets the exact functions of one column in one aggregation share one state in ``spark``.

    Adds normstats' optimizer rule to the session's extra optimizations, once (what
    ``spark.sql.extensions=io.normstats.sql.NormstatsExtensions`` does for every session). The
    results are the same bits with or without it.

    Raises
    ------
    NotImplementedError
        Over Spark Connect, where the server's ``spark.sql.extensions`` decides.
    """
    if is_remote():
        raise NotImplementedError(
            "register needs a classic SparkSession; over Spark Connect, start the server with "
            "spark.sql.extensions=io.normstats.sql.NormstatsExtensions")
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    getattr(jvm, "io.normstats.sql.ExactFunctions").register(
        spark._jsparkSession)  # type: ignore[attr-defined]
