"""PyTorch's own WRN step, the baseline of bin/gpu-check: the network as idiomatic nn.Modules (Conv2d, BatchNorm2d,
Linear), torch.optim.SGD(nesterov=True) and torch.autocast, timed in a plain Python loop on the same device as the
worker engine. The blocks come from the JVM (`wrn-stream params --model M`, WrnConfig.blocks()), so this file holds
no topology of its own either.

    python3 wrn_baseline.py --blocks-json '{"model": ..., "blocks": [...]}' --batch 128 --precision bf16 --steps 10
Prints one JSON line (format wrn-stream.torch-baseline/1): images/s, median step ms, peak device memory.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, b, dropout):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(b["in"])
        self.conv1 = nn.Conv2d(b["in"], b["out"], 3, b["stride"], 1, bias=False)
        self.bn2 = nn.BatchNorm2d(b["out"])
        self.conv2 = nn.Conv2d(b["out"], b["out"], 3, 1, 1, bias=False)
        self.shortcut = nn.Conv2d(b["in"], b["out"], 1, b["stride"], 0, bias=False) if b["projection"] else None
        self.dropout = dropout

    def forward(self, x):
        a = F.relu(self.bn1(x))
        y = F.relu(self.bn2(self.conv1(a)))
        if self.dropout > 0:
            y = F.dropout(y, self.dropout, self.training)
        y = self.conv2(y)
        return y + (self.shortcut(a) if self.shortcut is not None else x)


class Wrn(nn.Module):
    def __init__(self, blocks, classes=10, channels=3, dropout=0.0):
        super().__init__()
        self.stem = nn.Conv2d(channels, blocks[0]["in"], 3, 1, 1, bias=False)
        self.blocks = nn.Sequential(*[Block(b, dropout) for b in blocks])
        self.bn = nn.BatchNorm2d(blocks[-1]["out"])
        self.fc = nn.Linear(blocks[-1]["out"], classes)

    def forward(self, x):
        h = F.relu(self.bn(self.blocks(self.stem(x))))
        return self.fc(h.mean((2, 3)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks-json", required=True)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    spec = json.loads(a.blocks_json)
    if a.threads:
        torch.set_num_threads(a.threads)
    cuda = torch.cuda.is_available() and a.device != "cpu"
    dev = torch.device("cuda:0" if cuda else "cpu")
    if cuda:
        torch.backends.cudnn.benchmark = True
    bf16 = a.precision == "bf16"
    fmt = torch.channels_last if bf16 else torch.contiguous_format
    model = Wrn(spec["blocks"]).to(dev).to(memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    g = torch.Generator().manual_seed(42)
    x = torch.randn(a.batch, 3, 32, 32, generator=g).to(dev).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (a.batch,), generator=g).to(dev)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
        loss = F.cross_entropy(out.float(), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    ms = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        loss.item()  # the worker engine syncs on the loss too
        ms.append((time.perf_counter() - t0) * 1000)
    p50 = statistics.median(ms)
    print(json.dumps({"format": "wrn-stream.torch-baseline/1", "engine": "pytorch", "model": spec["model"], "batch": a.batch,
                      "precision": a.precision, "images_per_sec": round(a.batch / (p50 / 1000), 1), "step_ms_p50": round(p50, 1),
                      "steps": a.steps, "device": "%s (%s, PyTorch %s)" % (dev, torch.cuda.get_device_name(0) if cuda else "cpu", torch.__version__),
                      "peak_device_mb": round(torch.cuda.max_memory_allocated() / 1048576) if cuda else None}))


if __name__ == "__main__":
    sys.exit(main())
