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
    result = normstats.image_stats(spark, df, "img", handle_invalid="skip")
    assert (result.images, result.skipped) == (1, 2)
    assert result.mean == [e[0] for e in pixel_moments([pillow_levels(good)], 3)]
    with pytest.raises(IllegalArgumentException, match="not binary image bytes"):
        normstats.image_stats(spark, spark.createDataFrame([(1,)], "img int"), "img")
    with pytest.raises(IllegalArgumentException, match="color must be one of"):
        normstats.image_stats(spark, df, "img", color="cmyk")
    with pytest.raises(ValueError, match="image_col"):
        normstats.image_stats(spark, df)


def torchvision_eval(data: bytes, resize: int, crop: int):
    """Resize(resize) then CenterCrop(crop) of torchvision, on Pillow, written out: the new size
    from the shorter side (int() of the float product), Pillow's bilinear resize, zero padding and
    the window at int(round((h - crop) / 2)) (round half to even)."""
    im = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(resize * long / short)
    new_w, new_h = (resize, new_long) if w <= h else (new_long, resize)
    a = np.asarray(im.resize((new_w, new_h), Image.BILINEAR), dtype=np.int64)
    pad_h, pad_w = max(crop - new_h, 0), max(crop - new_w, 0)
    a = np.pad(a, ((pad_h // 2, (pad_h + 1) // 2), (pad_w // 2, (pad_w + 1) // 2), (0, 0)))
    top = int(round((a.shape[0] - crop) / 2.0))
    left = int(round((a.shape[1] - crop) / 2.0))
    return a[top:top + crop, left:left + crop], 8


@pytest.mark.parametrize("resize,crop", [(256, 224), (97, 64), (64, 80)])
def test_resize_and_center_crop_are_torchvisions_on_pillow(spark, repo, resize, crop):
    files = sorted((repo / "sample-data" / "images" / "photos").glob("*.*"))
    result = normstats.image_stats(spark, str(repo / "sample-data" / "images" / "photos"),
                                   resize=resize, center_crop=crop)
    expected = pixel_moments((torchvision_eval(f.read_bytes(), resize, crop) for f in files), 3)
    assert result.images == len(files)
    assert result.mean == [e[0] for e in expected]
    assert result.std == [e[2] for e in expected]


def run_job(repo, *args: str) -> None:
    """Runs a normstats job with the launcher, as a user does (test_recalibration does too)."""
    import os
    import subprocess

    run = subprocess.run([str(repo / "jobs" / "normstats"), *args], cwd=str(repo),
                         env={**os.environ, "NORMSTATS_JAVA_OPTS": "-Xmx1g"},
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]


def test_recalibrate_on_images_is_recalibrate_on_torchvisions_tensors(spark, repo, tmp_path):
    """recalibrate --format image with Resize, CenterCrop and Normalize gives the bits of the same
    job on the tensors torchvision's eval transforms make (built here with Pillow and numpy in
    float32: ToTensor's level / 255, Normalize's (x - mean) / std), in the files' order."""
    import json

    photos = repo / "sample-data" / "images" / "photos"
    files = sorted(photos.glob("*.*"))
    rows = []
    for f in files:
        im = Image.open(f).convert("L")
        w, h = im.size
        short, long = (w, h) if w <= h else (h, w)
        size = (28, int(28 * long / short)) if w <= h else (int(28 * long / short), 28)
        a = np.asarray(im.resize(size, Image.BILINEAR))
        top = int(round((a.shape[0] - 28) / 2.0))
        left = int(round((a.shape[1] - 28) / 2.0))
        x = a[top:top + 28, left:left + 28].astype(np.float32) / np.float32(255)
        x = (x - np.float32(0.5)) / np.float32(0.25)
        rows.append(([float(v) for v in x.reshape(-1)],))
    tensors = str(tmp_path / "tensors.parquet")
    spark.createDataFrame(rows, "image array<float>").coalesce(1).write.parquet(tensors)
    model = str(repo / "sample-data" / "zoo" / "resnet" / "legacy.onnx")
    common = ["--model", model, "--batch-size", "2", "--precise-bn-batch-size", "2", "--master",
              "local[2]"]
    run_job(repo, "recalibrate", "--input", str(photos), "--color", "gray", "--resize", "28",
            "--center-crop", "28", "--normalize", "0.5:0.25", "--output",
            str(tmp_path / "from-images"), *common)
    run_job(repo, "recalibrate", "--input", tensors, "--vector-col", "image", "--output",
            str(tmp_path / "from-tensors"), *common)
    a = json.loads((tmp_path / "from-images" / "recalibrate.json").read_text())
    b = json.loads((tmp_path / "from-tensors" / "recalibrate.json").read_text())
    assert a["rows"] == b["rows"] == len(files)
    assert len(a["layers"]) == len(b["layers"]) > 0
    for la, lb in zip(a["layers"], b["layers"]):
        for field in ("mean", "var_pop", "var_samp", "one_pass", "precise_bn"):
            assert la[field] == lb[field], (la["node"], field)
