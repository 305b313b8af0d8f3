"""Makes the image test data of sample-data/images and its expected statistics.

    python make_images.py          # needs numpy, Pillow (with WebP), pyarrow and scikit-image

- synthetic/: small images of every mode and format the image reader takes, from seeded numpy
  arrays: RGB, gray, RGBA, gray with alpha, palette with transparency, 1-bit, 16-bit gray (PNG);
  RGB BMP, palette GIF, lossless WebP, RGB TIFF; and not-an-image.txt, which readers skip.
- photos/: real photographs from scikit-image's data directory (chelsea, coffee, camera: CC0 by
  their photographers; rocket: SpaceX, public domain), PNG as shipped, and chelsea as a JPEG
  (Pillow, quality 90); rocket.jpg is a JPEG as shipped.
- hf/images.parquet: the synthetic PNGs and camera.png in the Hugging Face datasets layout,
  a column `image` of struct<bytes: binary, path: string>, and a `label` column.
- expected.json: for each set and color mode, the exact per-channel statistics of the pixel values
  as Pillow decodes the files (convert("RGB") / convert("L"); 16-bit levels kept, / 65535), from
  integer sums and Fractions, each correctly rounded: the independent oracle of the Java tests.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

HERE = Path(__file__).resolve().parent
rng = np.random.default_rng(2026)


def synthetic(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), "RGB").save(out / "rgb_32x24.png")
    Image.fromarray(rng.integers(0, 256, (9, 17), dtype=np.uint8), "L").save(out / "gray_17x9.png")
    Image.fromarray(rng.integers(0, 256, (10, 10, 4), dtype=np.uint8), "RGBA").save(out / "rgba_10x10.png")
    Image.fromarray(rng.integers(0, 256, (6, 5, 2), dtype=np.uint8), "LA").save(out / "gray_alpha_5x6.png")
    p = Image.fromarray(rng.integers(0, 16, (15, 20), dtype=np.uint8), "P")
    p.putpalette(rng.integers(0, 256, 16 * 3, dtype=np.uint8).tolist())
    p.info["transparency"] = 3
    p.save(out / "palette_20x15.png", transparency=3)
    Image.fromarray(rng.integers(0, 2, (7, 9), dtype=np.uint8) * 255, "L").convert("1").save(out / "bw_9x7.png")
    Image.fromarray(rng.integers(0, 65536, (8, 12), dtype=np.uint16)).save(out / "gray16_12x8.png")
    Image.fromarray(rng.integers(0, 256, (11, 13, 3), dtype=np.uint8), "RGB").save(out / "rgb_13x11.bmp")
    g = Image.fromarray(rng.integers(0, 8, (8, 8), dtype=np.uint8), "P")
    g.putpalette(rng.integers(0, 256, 8 * 3, dtype=np.uint8).tolist())
    g.save(out / "palette_8x8.gif")
    Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), "RGB").save(out / "rgb_16x12.webp", lossless=True)
    Image.fromarray(rng.integers(0, 256, (10, 15, 3), dtype=np.uint8), "RGB").save(out / "rgb_15x10.tif")
    (out / "not-an-image.txt").write_text("readers skip files without an image extension\n")


def photos(out: Path) -> None:
    import skimage

    data = Path(skimage.__file__).parent / "data"
    out.mkdir(parents=True, exist_ok=True)
    for name in ["chelsea.png", "coffee.png", "camera.png", "rocket.jpg"]:
        shutil.copyfile(data / name, out / name)
    Image.open(data / "chelsea.png").convert("RGB").save(out / "chelsea.jpg", quality=90)


def hf_parquet(out: Path, files: list[Path]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    images = [{"bytes": f.read_bytes(), "path": f.name} for f in files]
    table = pa.table({
        "image": pa.array(images, pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
        "label": pa.array(list(range(len(files))), pa.int64()),
    })
    pq.write_table(table, out / "images.parquet")


def levels(path: Path, color: str) -> tuple[np.ndarray, int]:
    """(H x W x C levels as int64, the levels' maximum) as Pillow decodes the file."""
    im = Image.open(path)
    if im.mode in ("I;16", "I;16B", "I"):  # 16-bit gray: levels kept (Pillow's convert clips them)
        a = np.asarray(im, dtype=np.int64)[..., None]
        return (np.repeat(a, 3, axis=2) if color == "rgb" else a), 65535
    a = np.asarray(im.convert("RGB" if color == "rgb" else "L"), dtype=np.int64)
    return (a if a.ndim == 3 else a[..., None]), 255


def sqrt_nearest(q: Fraction) -> float:
    """The double nearest to sqrt(q), q >= 0: 200 extra bits, a sticky bit, one rounding."""
    if q == 0:
        return 0.0
    k = 200
    r = math.isqrt(q.numerator * (1 << (2 * k)) // q.denominator)
    if r * r * q.denominator != q.numerator * (1 << (2 * k)):
        r |= 1
    return math.ldexp(float(r), -k) if r.bit_length() <= 53 else float(Fraction(r, 1 << k))


def statistics(files: list[Path], color: str) -> dict:
    """Per channel: count, mean, var_pop, var_samp, std_pop, min, max of level / max (exact)."""
    channels = 3 if color == "rgb" else 1
    n = 0
    s1 = [0] * channels
    s2 = [0] * channels
    lo = [None] * channels
    hi = [None] * channels
    for f in files:
        a, top = levels(f, color)
        scale = 65535 // top  # 8-bit levels on the 16-bit scale: x 257
        n += a.shape[0] * a.shape[1]
        for c in range(channels):
            v = a[..., c].astype(object) * scale
            s1[c] += int(v.sum())
            s2[c] += int((v * v).sum())
            lo[c] = Fraction(int(v.min()), 65535) if lo[c] is None else min(lo[c], Fraction(int(v.min()), 65535))
            hi[c] = Fraction(int(v.max()), 65535) if hi[c] is None else max(hi[c], Fraction(int(v.max()), 65535))
    out = []
    for c in range(channels):
        mean = Fraction(s1[c], n * 65535)
        var_num = n * s2[c] - s1[c] * s1[c]
        var_pop = Fraction(var_num, n * n * 65535 * 65535)
        var_samp = Fraction(var_num, n * (n - 1) * 65535 * 65535)
        out.append({"name": "RGB"[c] if color == "rgb" else "L", "count": n, "mean": float(mean),
                    "var_pop": float(var_pop), "var_samp": float(var_samp),
                    "std_pop": sqrt_nearest(var_pop), "min": float(lo[c]), "max": float(hi[c])})
    return {"images": len(files), "features": out}


def main() -> None:
    synthetic(HERE / "synthetic")
    photos(HERE / "photos")
    images = sorted(p for p in (HERE / "synthetic").iterdir() if p.suffix != ".txt")
    pngs = sorted(p for p in (HERE / "photos").glob("*.png"))
    hf_files = [p for p in images if p.suffix == ".png"] + [HERE / "photos" / "camera.png"]
    hf_parquet(HERE / "hf", hf_files)
    expected = {
        "synthetic": {c: statistics(images, c) for c in ("rgb", "gray")},
        "photos_png": {c: statistics(pngs, c) for c in ("rgb", "gray")},
        "photos_jpeg": {"rgb": statistics(sorted((HERE / "photos").glob("*.jpg")), "rgb")},
        "hf": {"rgb": statistics(hf_files, "rgb")},
    }
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
