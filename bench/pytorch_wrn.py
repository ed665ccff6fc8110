"""The PyTorch side of bin/bench-vs-pytorch: the same pre-activation WRN-d-k as wrn-stream (the paper's reference
code: BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3 plus identity or 1x1 projection of the first BN-ReLU output,
no conv bias, BN eps 1e-5 momentum 0.1, global average pooling, linear classifier), timed for SGD steps with
Nesterov momentum 0.9 and weight decay 5e-4, on random data after warm-up.

  python3 bench/pytorch_wrn.py --model wrn-40-1 --batch 128 --precision bf16 --threads 2 --steps 10

fp32: plain fp32, model and input channels_last (measured here 16-20% faster than contiguous; --memory-format
contiguous for the other). bf16: PyTorch's CPU mixed-precision recipe: torch.autocast("cpu", dtype=torch.bfloat16)
around forward and loss, model and input in channels_last, fp32 master weights. Last line of stdout: one JSON object
(format wrn-stream.bench/1, the fields of `wrn-stream bench`).
"""
import argparse
import json
import os
import re
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride, dropout):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.dropout = dropout
        self.shortcut = None if cin == cout and stride == 1 else nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        y = self.conv1(a)
        y = F.relu(self.bn2(y))
        if self.dropout > 0:
            y = F.dropout(y, self.dropout, self.training)
        y = self.conv2(y)
        return y + (x if self.shortcut is None else self.shortcut(a))


class WideResNet(nn.Module):
    def __init__(self, depth, widen, classes=10, dropout=0.0):
        super().__init__()
        if (depth - 4) % 6 != 0:
            raise ValueError(f"Invalid value {depth} for depth: must be 6n+4 (10, 16, 22, 28, 40, ...)")
        n = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        self.stem = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        layers, cin = [], widths[0]
        for g in range(3):
            for b in range(n):
                layers.append(Block(cin, widths[g + 1], 2 if b == 0 and g > 0 else 1, dropout))
                cin = widths[g + 1]
        self.blocks = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(cin)
        self.fc = nn.Linear(cin, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")

    def forward(self, x):
        h = self.blocks(self.stem(x))
        h = F.relu(self.bn(h))
        return self.fc(h.mean((2, 3)))


def parse_model(spec):
    m = re.fullmatch(r"wrn-(\d+)-(\d+)", spec.lower())
    if not m:
        raise SystemExit(f"error: Invalid value '{spec}' for --model: must be wrn-D-K, e.g. wrn-16-4")
    return int(m.group(1)), int(m.group(2))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="wrn-16-4")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: all cores)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--foreach", choices=["on", "off"], default="off", help="multi-tensor SGD (torch._foreach_*)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--memory-format", choices=["auto", "channels-last", "contiguous"], default="auto",
                   help="model and input layout (auto: channels-last, PyTorch's fastest on the CPU in both precisions)")
    a = p.parse_args()
    depth, widen = parse_model(a.model)
    threads = a.threads or len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    torch.manual_seed(a.seed)

    bf16 = a.precision == "bf16"
    cl = a.memory_format != "contiguous"
    fmt = torch.channels_last if cl else torch.contiguous_format
    model = WideResNet(depth, widen, dropout=a.dropout).to(memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
                          foreach=a.foreach == "on")
    x = torch.randn(a.batch, 3, 32, 32).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
            loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    ms = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    p50 = statistics.median(ms)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    print(json.dumps({"format": "wrn-stream.bench/1", "model": a.model.lower(), "batch": a.batch, "engine": "pytorch",
                      "engine_version": torch.__version__, "precision": a.precision,
                      "images_per_sec": round(a.batch / (p50 / 1000), 1), "step_ms_p50": round(p50, 1),
                      "step_ms_p90": round(p90, 1), "step_ms_min": round(ms[0], 1), "steps": a.steps, "peak_rss_mb": peak_rss_mb(),
                      "threads": threads, "foreach": a.foreach == "on", "channels_last": cl,
                      "params": sum(t.numel() for t in model.parameters())}))


if __name__ == "__main__":
    sys.exit(main())
