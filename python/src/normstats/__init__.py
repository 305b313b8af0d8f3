"""normstats: exact dataset statistics for normalization layers, on Apache Spark.

The Python package wraps the JVM (the normstats jars inside this package, which
:func:`spark_jars` lists): Spark ML stages in :mod:`normstats.ml`, :func:`exact_stats` and
:func:`image_stats`.

A session needs the jars on ``spark.jars`` (``spark_jars(onnx=True)`` for the network stages)::

    import normstats
    spark = (SparkSession.builder.master("local[*]")
             .config("spark.jars", normstats.spark_jars()).getOrCreate())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, NamedTuple, Optional, Sequence, Union

from normstats import _defaults
from normstats._jvm import NormstatsInputError, java_errors, spark_jars
from normstats import ml  # registers io.normstats.ml for PySpark's loaders

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__version__ = "0.1.0.dev0"

__all__ = ["spark_jars", "exact_stats", "image_stats", "ImageStats", "NormstatsInputError", "ml",
           "__version__"]


def exact_stats(df: "DataFrame", features: Optional[Sequence[str]] = None,
                vector_col: Optional[str] = None,
                channels: Optional[int] = None) -> "DataFrame":
    """The exact statistics of every feature of ``df``, one pass over it when called.

    Each statistic is the double nearest the exact rational value (one rounding, ties to even),
    bit-for-bit the same for any partitioning; the standard deviations are the correctly rounded
    square roots of the exact variances (at worst 1 ulp off the true value). NaN and infinite
    values and nulls are left out and counted.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        A DataFrame of a classic (py4j) session with the normstats jar.
    features : sequence of str, optional
        Numeric scalar columns, one feature each.
    vector_col : str, optional
        A Vector, ``array<double>`` or ``array<float>`` column of length D: D features (or C
        channels with ``channels``). With neither ``features`` nor ``vector_col``: every numeric
        scalar column, or else the only vector column.
    channels : int, optional
        C: vectors of length C*H*W in channel-major order get one statistic per channel over all
        N*H*W values (BatchNorm2d). Needs a vector column.

    Returns
    -------
    pyspark.sql.DataFrame
        One row per feature or channel, the columns of the stats job's ``stats.parquet``:
        ``name`` (string), ``index`` (int, 0-based), ``count`` (long, valid values), ``mean``,
        ``var_pop``, ``var_samp``, ``std_pop``, ``std_samp``, ``min``, ``max`` (double, null where
        undefined: no valid value, or var_samp of one value), ``null_count``, ``nan_count``
        (long). Small: computed on the executors, collected to the driver.

    Raises
    ------
    ValueError
        If both ``features`` and ``vector_col`` are given, ``features`` is empty or not strings,
        or ``channels`` is not a positive int.
    pyspark.errors.IllegalArgumentException
        For an unknown or non-numeric column, or channels that do not divide the vector length
        (the JVM's message).
    normstats.NormstatsInputError
        For vectors of different lengths in ``vector_col``.
    NotImplementedError
        Over Spark Connect, which cannot call the JVM; fit a :class:`normstats.ml.BatchNorm` and
        save it there instead.
    """
    from pyspark.sql import DataFrame, is_remote

    if is_remote():
        raise NotImplementedError(
            "exact_stats needs a classic SparkSession: Spark Connect cannot call the normstats "
            "JVM API (its ML stages do work over Connect)")
    if features is not None and vector_col is not None:
        raise ValueError("give either features or vector_col, not both")
    if features is not None:
        if isinstance(features, str) or not all(isinstance(f, str) for f in features):
            raise ValueError(f"features must be a list of column names, not {features!r}")
        if len(features) == 0:
            raise ValueError("features lists no column")
    if channels is not None and (isinstance(channels, bool) or not isinstance(channels, int)
                                 or channels < 1):
        raise ValueError(f"channels must be a positive int, not {channels!r}")
    spark = df.sparkSession
    jvm = spark._jvm
    assert jvm is not None
    jfeatures = None
    if features is not None:
        jfeatures = jvm.java.util.ArrayList()
        for f in features:
            jfeatures.add(f)
    with java_errors():
        jdf = jvm.io.normstats.sql.ExactStats.of(df._jdf, jfeatures, vector_col,
                                                           channels or 0)
    return DataFrame(jdf, spark)


class ImageStats(NamedTuple):
    """What :func:`image_stats` returns: unpack it as ``stats, mean, std``.

    Attributes
    ----------
    stats : pyspark.sql.DataFrame
        One row per channel (``R``, ``G``, ``B``; ``L`` for gray; ``A`` with ``color="keep"``)
        with the columns of :func:`exact_stats`; ``count`` is the pixels counted.
    mean : list of float
        Per channel, the exact mean: the first list of ``torchvision.transforms.Normalize``.
    std : list of float
        Per channel, the population standard deviation: Normalize's second list.
    images : int
        The images counted.
    skipped : int
        The images left out (``handle_invalid="skip"``).
    """

    stats: "DataFrame"
    mean: List[float]
    std: List[float]
    images: int
    skipped: int


def image_stats(spark: "SparkSession", path_or_df: Union[str, "DataFrame"],
                image_col: Optional[str] = None, *, color: str = "rgb",
                pixel_values: str = "unit",
                handle_invalid: str = _defaults.HANDLE_INVALID,
                resize: Optional[int] = None,
                center_crop: Optional[Union[int, Sequence[int]]] = None) -> ImageStats:
    """The exact per-channel mean and standard deviation of an image dataset.

    Over every pixel of every image (any sizes), each statistic correctly rounded from the exact
    rational value and the same bits for any partitioning: the numbers of
    ``transforms.Normalize(mean, std)``, without a loop over a DataLoader::

        stats, mean, std, *_ = normstats.image_stats(spark, "data/train/")
        normalize = transforms.Normalize(mean, std)

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        A classic (py4j) session with the normstats jar.
    path_or_df : str or pyspark.sql.DataFrame
        Image files (PNG, JPEG, BMP, GIF, WebP, TIFF): a file, a directory read recursively, a
        glob, or several separated by commas, read with Spark's ``binaryFile`` source; or a
        DataFrame with an image column.
    image_col : str, optional
        With a DataFrame: a ``binary`` column of encoded images, or a struct with a ``bytes``
        field (and ``path``), as Hugging Face datasets store an ``Image`` in Parquet.
    color : {"rgb", "gray", "keep"}
        The channels: Pillow's ``convert("RGB")`` (gray replicated, palette looked up, alpha
        dropped), ``convert("L")`` (ITU-R 601-2 luma), or as stored (all images alike).
    pixel_values : {"unit", "raw"}
        Values in [0, 1] as torchvision's ``ToTensor`` gives them (level / 255, 16-bit level /
        65535), or the stored levels.
    handle_invalid : {"error", "skip"}
        Fail on an image that cannot be decoded, or leave it out and count it.
    resize : int, optional
        First resize each image, its shorter side to this, as ``transforms.Resize(resize)`` on a
        Pillow image (bilinear with antialias, bit for bit; 8-bit images).
    center_crop : int or (int, int), optional
        Then take the centre, as ``transforms.CenterCrop(center_crop)`` (zero padding for smaller
        images).

    Returns
    -------
    ImageStats
        ``(stats, mean, std, images, skipped)``.

    Raises
    ------
    ValueError
        For an unknown ``handle_invalid``, or a DataFrame without ``image_col``.
    pyspark.errors.IllegalArgumentException
        For a missing path or column, a column of another type, no image files, or an unknown
        ``color`` or ``pixel_values`` (the JVM's message).
    normstats.NormstatsInputError
        For an image that cannot be decoded (naming it) when ``handle_invalid="error"``, images of
        different channels with ``color="keep"``, or of 8 and 16 bits with ``pixel_values="raw"``.
    NotImplementedError
        Over Spark Connect, which cannot call the JVM.
    """
    from pyspark.sql import DataFrame, is_remote

    if is_remote():
        raise NotImplementedError("image_stats needs a classic SparkSession: Spark Connect "
                                  "cannot call the normstats JVM API")
    if handle_invalid not in ("error", "skip"):
        raise ValueError(f"handle_invalid must be 'error' or 'skip', not {handle_invalid!r}")
    crop = ([center_crop, center_crop] if isinstance(center_crop, int)
            else list(center_crop) if center_crop is not None else [0, 0])
    if len(crop) != 2 or not all(isinstance(s, int) and s > 0 for s in crop) and crop != [0, 0]:
        raise ValueError(f"center_crop must be a positive int or (height, width), not "
                         f"{center_crop!r}")
    if resize is not None and (not isinstance(resize, int) or resize < 1):
        raise ValueError(f"resize must be a positive int, not {resize!r}")
    jvm = spark._jvm
    assert jvm is not None
    if isinstance(path_or_df, str):
        path, jdf = path_or_df, None
    else:
        if image_col is None:
            raise ValueError("name the DataFrame's image column: image_col=...")
        path, jdf = None, path_or_df._jdf
    with java_errors():
        images = jvm.io.normstats.sql.ExactStats.images(
            spark._jsparkSession, path, jdf, image_col, color, pixel_values,  # type: ignore[attr-defined]
            handle_invalid == "skip", resize or 0, crop[0], crop[1])
    result = images.result()
    return ImageStats(DataFrame(images.table(), spark), list(result.normalizeMean()),
                      list(result.normalizeStd()), int(result.images()), int(result.skipped()))

