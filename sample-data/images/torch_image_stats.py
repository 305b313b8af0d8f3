"""The usual single-machine computation of an image dataset's Normalize numbers, timed for
`jobs/normstats bench --sections images`.

A torchvision user's loop: a Dataset of image files (Pillow's `Image.open(f).convert("RGB")`, then
`ToTensor`), a `DataLoader` with one worker process per core and batches of one image (the images
may differ in size), and per-channel sums of x and x^2 accumulated in float64. It prints one JSON
object with the seconds of each timed round (after one warm-up round) and the result:

    {"torch": VERSION, "images": N, "workers": W, "seconds": [...], "mean": [...], "std": [...]}

    python torch_image_stats.py --dir DIR [--workers 2] [--repeats 3]

Needs torch, torchvision and Pillow; the bench skips the comparison without them.
"""

import argparse
import json
import os
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class Files(Dataset):
    def __init__(self, root):
        self.files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                            if f.lower().endswith(EXTENSIONS))
        self.to_tensor = transforms.ToTensor()

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        with Image.open(self.files[i]) as im:
            return self.to_tensor(im.convert("RGB"))


def run(root, workers):
    loader = DataLoader(Files(root), batch_size=1, num_workers=workers)
    s1 = torch.zeros(3, dtype=torch.float64)
    s2 = torch.zeros(3, dtype=torch.float64)
    n = 0
    for x in loader:
        x = x.to(torch.float64)
        s1 += x.sum(dim=(0, 2, 3))
        s2 += (x * x).sum(dim=(0, 2, 3))
        n += x.shape[0] * x.shape[2] * x.shape[3]
    mean = s1 / n
    return mean.tolist(), (s2 / n - mean * mean).sqrt().tolist(), len(loader.dataset)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(1)
    run(a.dir, a.workers)
    seconds = []
    for _ in range(a.repeats):
        start = time.perf_counter()
        mean, std, n = run(a.dir, a.workers)
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"torch": torch.__version__, "images": n, "workers": a.workers,
                      "seconds": seconds, "mean": mean, "std": std}))


if __name__ == "__main__":
    main()
