"""The PyTorch side of bin/train-vs-pytorch: `wrn-stream train` for a given number of epochs, written as a PyTorch
user would, on the same data with the same recipe: the WRN of pytorch_wrn.py, SGD lr 0.1 (the step schedule's first
60 epochs are at 0.1), Nesterov momentum 0.9, weight decay 5e-4, batch 128, a fresh seeded shuffle per epoch,
reflection pad 4 + random 32x32 crop + horizontal flip with p 0.5, (x/255 - mean)/std with CIFAR-10's statistics;
evaluation on the whole test set at the end. fp32, or bf16 = autocast("cpu", bfloat16); model and input channels_last
in both (PyTorch's fastest layout on the CPU, as in pytorch_wrn.py).

  python3 bench/pytorch_train.py --data ../shared/datasets/cifar10-jpeg --model wrn-16-2 --precision bf16 --seed 1

The images are decoded into memory before the clock starts (as `wrn-stream train` does); the augmentation runs in
the training process, as in wrn-stream. Last line of stdout: one JSON object with the keys of `wrn-stream train`'s
evaluation line (test_error, elapsed_seconds, eval_seconds) and format wrn-stream.train/1.
"""
import argparse
import io
import json
import os
import sys
import time
import zipfile

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_wrn import WideResNet, parse_model, peak_rss_mb  # noqa: E402

MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
STD = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)


def read_split(folder, split):
    """uint8 [N, 3, 32, 32] and labels from <folder>/cifar10-<split>-jpeg.zip laid out <split>/<class>/<file>."""
    path = os.path.join(folder, f"cifar10-{split}-jpeg.zip")
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if n.lower().endswith((".jpg", ".jpeg", ".png")))
        classes = sorted({n.split("/")[1] for n in names})
        index = {c: i for i, c in enumerate(classes)}
        x = np.empty((len(names), 32, 32, 3), dtype=np.uint8)
        y = np.empty(len(names), dtype=np.int64)
        for i, n in enumerate(names):
            x[i] = np.asarray(Image.open(io.BytesIO(z.read(n))).convert("RGB"))
            y[i] = index[n.split("/")[1]]
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y)


def normalise(u8):
    return (u8.float() / 255 - MEAN) / STD


def augment(u8, gen):
    """Reflection pad 4, a random 32x32 crop and a flip with p 0.5 per image, then normalisation."""
    n = u8.shape[0]
    padded = F.pad(normalise(u8), (4, 4, 4, 4), mode="reflect")
    dy = torch.randint(0, 9, (n,), generator=gen)
    dx = torch.randint(0, 9, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    out = torch.empty(n, 3, 32, 32)
    for i in range(n):
        crop = padded[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32]
        out[i] = crop.flip(2) if flip[i] else crop
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--model", default="wrn-16-2")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    depth, widen = parse_model(a.model)
    threads = a.threads or len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    torch.manual_seed(a.seed)
    xtr, ytr = read_split(a.data, "train")
    xte, yte = read_split(a.data, "test")
    bf16 = a.precision == "bf16"
    fmt = torch.channels_last
    model = WideResNet(depth, widen).to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(a.seed)
    total = round(a.epochs * len(xtr))
    t0 = time.perf_counter()
    seen, losses = 0, []
    model.train()
    while seen < total:
        order = torch.randperm(len(xtr), generator=gen)
        for s in range(0, len(order), 128):
            if seen >= total:
                break
            idx = order[s:s + 128]
            x = augment(xtr[idx], gen).contiguous(memory_format=fmt)
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(model(x), ytr[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
            seen += len(idx)
    t1 = time.perf_counter()
    model.eval()
    wrong, loss_sum = 0, 0.0
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for s in range(0, len(xte), 256):
            out = model(normalise(xte[s:s + 256]).contiguous(memory_format=fmt)).float()
            loss_sum += F.cross_entropy(out, yte[s:s + 256], reduction="sum").item()
            wrong += (out.argmax(1) != yte[s:s + 256]).sum().item()
    t2 = time.perf_counter()
    print(json.dumps({"format": "wrn-stream.train/1", "engine": "pytorch", "engine_version": torch.__version__,
                      "model": a.model, "precision": a.precision, "seed": a.seed, "images_seen": seen,
                      "epochs": round(seen / len(xtr), 3), "test_error": wrong / len(xte),
                      "test_loss": loss_sum / len(xte), "test_images": len(xte),
                      "train_seconds": round(t1 - t0, 1), "eval_seconds": round(t2 - t1, 2),
                      "elapsed_seconds": round(t2 - t0, 1), "final_train_loss": float(np.mean(losses[-20:])),
                      "peak_rss_mb": peak_rss_mb(), "threads": threads}))


if __name__ == "__main__":
    sys.exit(main())
