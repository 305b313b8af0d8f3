"""Writes a domain-shifted copy of an IDX image file: every pixel p becomes round(0.5 p + 60).

Lower contrast and brighter, as images from another camera or scanner might be: the sample CNN,
trained on the original images, loses most of its accuracy on them with its stored BatchNorm
statistics, and gets it back when the statistics are recomputed on the shifted images (AdaBN,
Li et al. 2016, arXiv:1603.04779). round() rounds halves to even, as numpy does.

Python 3 standard library only:

    python3 shift_domain.py IN-images-idx3-ubyte.gz OUT-images-idx3-ubyte.gz
"""

import gzip
import struct
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: shift_domain.py IN-images-idx3-ubyte[.gz] OUT-images-idx3-ubyte.gz")
    source, target = sys.argv[1], sys.argv[2]
    opener = gzip.open if source.endswith(".gz") else open
    with opener(source, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">i", data[:4])
    if magic >> 8 != 0x08:
        sys.exit(f"{source}: not an IDX file of unsigned bytes (magic {magic:#x})")
    header = 4 + 4 * (magic & 0xFF)
    table = bytes(round(0.5 * p + 60) for p in range(256))
    with gzip.open(target, "wb") as f:
        f.write(data[:header] + data[header:].translate(table))


if __name__ == "__main__":
    main()
