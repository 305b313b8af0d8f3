"""normstats.image_stats against Pillow's pixels and a fractions oracle, on real photographs, the
Hugging Face layout and bad images."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pyspark.errors import IllegalArgumentException

import normstats
from oracle import pixel_moments


def pillow_levels(data: bytes, color: str = "rgb"):
    im = Image.open(io.BytesIO(data))
    if im.mode in ("I;16", "I;16B", "I"):
        a = np.asarray(im, dtype=np.int64)[..., None]
        return (np.repeat(a, 3, axis=2) if color == "rgb" else a), 16
    a = np.asarray(im.convert("RGB" if color == "rgb" else "L"), dtype=np.int64)
    return (a if a.ndim == 3 else a[..., None]), 8


def test_photographs_match_pillow_exactly(spark, repo):
    photos = sorted((repo / "sample-data" / "images" / "photos").glob("*.png"))
    for color, channels in (("rgb", 3), ("gray", 1)):
        stats, mean, std, images, skipped = normstats.image_stats(
            spark, str(repo / "sample-data" / "images" / "photos" / "*.png"), color=color)
        expected = pixel_moments((pillow_levels(p.read_bytes(), color) for p in photos), channels)
        assert (images, skipped) == (len(photos), 0)
        assert mean == [e[0] for e in expected]
        assert std == [e[2] for e in expected]
        rows = stats.orderBy("index").collect()
        assert [r["name"] for r in rows] == (["R", "G", "B"] if color == "rgb" else ["L"])
        assert [r["var_pop"] for r in rows] == [e[1] for e in expected]
        assert [r["std_pop"] for r in rows] == std


def test_a_hugging_face_image_column(spark, repo):
    df = spark.read.parquet(str(repo / "sample-data" / "images" / "hf" / "images.parquet"))
    result = normstats.image_stats(spark, df, "image")
    blobs = [r["image"]["bytes"] for r in df.select("image").collect()]
    expected = pixel_moments((pillow_levels(b) for b in blobs), 3)
    assert result.mean == [e[0] for e in expected]
    assert result.std == [e[2] for e in expected]
    assert result.images == len(blobs)


def test_bad_images_fail_naming_them_or_are_skipped(spark, repo):
    good = (repo / "sample-data" / "images" / "synthetic" / "rgb_32x24.png").read_bytes()
    df = spark.createDataFrame([(bytearray(good),), (bytearray(good[:100]),), (None,)],
                               "img binary")
    with pytest.raises(normstats.NormstatsInputError, match="truncated or corrupt PNG"):
        normstats.image_stats(spark, df, "img")
    result = normstats.image_stats(spark, df, "img", invalid="skip")
    assert (result.images, result.skipped) == (1, 2)
    assert result.mean == [e[0] for e in pixel_moments([pillow_levels(good)], 3)]
    with pytest.raises(IllegalArgumentException, match="not binary image bytes"):
        normstats.image_stats(spark, spark.createDataFrame([(1,)], "img int"), "img")
    with pytest.raises(IllegalArgumentException, match="color must be one of"):
        normstats.image_stats(spark, df, "img", color="cmyk")
    with pytest.raises(ValueError, match="image_col"):
        normstats.image_stats(spark, df)
