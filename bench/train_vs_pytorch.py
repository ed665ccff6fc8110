"""Time to accuracy: `wrn-stream train` (libtorch engine) against the same training in PyTorch (bench/pytorch_train.py),
alternated in one run, per precision and seed: one epoch (default) of a WRN on the shared CIFAR-10 with the paper's
recipe, then test error on the whole test set. One evaluation swings by a point or two, so each side runs several
seeds; the summary gives each side's mean test error with its range over seeds, the median training wall time, and
the time ratio PyTorch / wrn-stream (above 1: wrn-stream faster). JSON lines (format wrn-stream.train-vs-pytorch/1)
to stdout and --out, a table to stderr.

  bin/train-vs-pytorch --data ../shared/datasets/cifar10-jpeg --seeds 1 2 --out train-vs-pytorch.jsonl

wrn-stream's launcher runs with the native allocator of bin/allocator-env; --pytorch-allocator both (default) also
runs PyTorch with it (side "pytorch-same-allocator") besides as users run it ("pytorch"), and the summary sets
wrn-stream against each.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from bench_vs_pytorch import ALLOCATOR_VARS, allocator_env, last_json, load_avg, machine

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FORMAT = "wrn-stream.train-vs-pytorch/1"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets", "cifar10-jpeg"))
    ap.add_argument("--model", default="wrn-16-2")
    ap.add_argument("--precisions", nargs="+", default=["bf16", "fp32"], choices=["fp32", "bf16"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--out", default="train-vs-pytorch.jsonl")
    ap.add_argument("--pytorch-allocator", choices=["default", "same", "both"], default="both",
                    help="PyTorch with glibc's allocator defaults, with wrn-stream's (bin/allocator-env), or both (default: %(default)s)")
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        ap.error(f"Invalid value '{a.data}' for --data: no such folder (the shared CIFAR-10 JPEG zips)")
    if len(a.seeds) < 2:
        ap.error("Invalid value for --seeds: give at least 2 seeds (one evaluation swings by a point or two)")
    wrn = os.environ.get("WRN_STREAM", os.path.join(ROOT, "bin", "wrn-stream")).split()
    py = os.environ.get("PYTORCH_PYTHON", "/usr/bin/python3")
    out = open(a.out, "w")

    def emit(obj):
        line = json.dumps({"format": FORMAT, **obj})
        print(line, flush=True)
        out.write(line + "\n")
        out.flush()

    plain_env = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_VARS}
    tuned = allocator_env(plain_env)
    tunables = " ".join(f"{k}={v}" for k, v in tuned.items())
    pytorch_envs = {"pytorch": plain_env, "pytorch-same-allocator": {**plain_env, **tuned}}
    pytorch_sides = {"default": ["pytorch"], "same": ["pytorch-same-allocator"], "both": ["pytorch", "pytorch-same-allocator"]}[a.pytorch_allocator]
    m = machine()
    emit({"kind": "machine", **m, "load_avg_1m": load_avg(), "allocator": tunables})
    runs = []
    tmp = tempfile.mkdtemp(prefix="train-vs-pytorch-")
    for prec in a.precisions:
        for i, seed in enumerate(a.seeds):
            sides = [("wrn-stream", wrn + ["train", "--data", a.data, "--model", a.model, "--epochs", str(a.epochs),
                                           "--engine", "libtorch", "--precision", prec, "--seed", str(seed),
                                           "--out", os.path.join(tmp, f"{prec}-{seed}.wrn")], None)]
            sides += [(name, [py, os.path.join(HERE, "pytorch_train.py"), "--data", a.data, "--model", a.model,
                              "--epochs", str(a.epochs), "--precision", prec, "--seed", str(seed)], pytorch_envs[name])
                      for name in pytorch_sides]
            if i % 2 == 1:
                sides.reverse()
            for side, cmd, env in sides:
                before = load_avg()
                p = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if p.returncode != 0:
                    raise SystemExit(f"error: {side} failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
                r = last_json(p.stdout, side)
                train_s = r.get("train_seconds", round(r["elapsed_seconds"] - r["eval_seconds"], 1))
                rec = {"kind": "run", "side": side, "precision": prec, "seed": seed, "test_error": r["test_error"],
                       "train_seconds": train_s, "eval_seconds": r["eval_seconds"],
                       "elapsed_seconds": r["elapsed_seconds"], "load_avg_1m": before, "result": r}
                runs.append(rec)
                emit(rec)
                print(f"  {prec} seed {seed} {side:10s} test error {r['test_error']:.4f} train {train_s:.1f} s "
                      f"eval {r['eval_seconds']} s load {before}", file=sys.stderr)
    rows = []
    for prec, against in [(prec, against) for prec in a.precisions for against in pytorch_sides]:
        def of(side):
            return [r for r in runs if r["side"] == side and r["precision"] == prec]
        w, p = of("wrn-stream"), of(against)
        row = {"kind": "summary", "against": against, "model": a.model, "precision": prec, "epochs": a.epochs, "seeds": a.seeds}
        for name, rs in (("wrn_stream", w), ("pytorch", p)):
            errs = [r["test_error"] for r in rs]
            row[name + "_test_error_mean"] = round(statistics.mean(errs), 4)
            row[name + "_test_error_range"] = [min(errs), max(errs)]
            row[name + "_train_seconds_median"] = statistics.median(r["train_seconds"] for r in rs)
        row["time_ratio"] = round(row["pytorch_train_seconds_median"] / row["wrn_stream_train_seconds_median"], 3)
        loads = [r["load_avg_1m"] for r in w + p]
        row["load_avg_min"], row["load_avg_max"] = min(loads), max(loads)
        rows.append(row)
        emit(row)
    e = sys.stderr
    print(f"\nMachine: {m['cpu']}, {m['cores']} cores, AMX {'yes' if m['amx'] else 'no'}; {a.model}, {a.epochs} epoch(s), "
          f"seeds {a.seeds}; test error mean (range over seeds), median training wall time\n", file=e)
    print("| precision | PyTorch's allocator | wrn-stream test error | PyTorch test error | wrn-stream train s | PyTorch train s "
          "| time ratio (PyTorch / wrn-stream) | load avg |", file=e)
    print("|---|---|---|---|---|---|---|---|", file=e)
    for r in rows:
        wr, pr = r["wrn_stream_test_error_range"], r["pytorch_test_error_range"]
        alloc = "as users run it" if r["against"] == "pytorch" else "wrn-stream's"
        print(f"| {r['precision']} | {alloc} | {100 * r['wrn_stream_test_error_mean']:.1f}% ({100 * wr[0]:.1f}-{100 * wr[1]:.1f}) "
              f"| {100 * r['pytorch_test_error_mean']:.1f}% ({100 * pr[0]:.1f}-{100 * pr[1]:.1f}) "
              f"| {r['wrn_stream_train_seconds_median']:.0f} | {r['pytorch_train_seconds_median']:.0f} "
              f"| **{r['time_ratio']:.2f}** | {r['load_avg_min']:.1f}-{r['load_avg_max']:.1f} |", file=e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
