"""Side-by-side benchmark: wrn-stream's libtorch engine against PyTorch on the same WRN, alternated in one run.

For each model and precision, every round runs `wrn-stream bench` and then bench/pytorch_wrn.py (the order flips
every round, so both sides see the same drift in machine load), each in a fresh process: median step time of
--steps steps after --warmup, peak RSS. fp32 is compared with PyTorch fp32, bf16 with PyTorch's CPU recipe
(autocast bf16 + channels_last). Writes JSON lines (format wrn-stream.bench-vs-pytorch/1) to stdout and --out, and a
table to stderr: per row the median over rounds of each side's images/s, the ratio wrn-stream / PyTorch, the peak RSS
of each side (largest over rounds) and their ratio, and the load average seen. On a machine shared with other work
the table adds the ratio of the fastest single steps, the ones least disturbed by that work.

  bin/bench-vs-pytorch --rounds 3 --steps 10 --out bench-vs-pytorch.jsonl
  bin/bench-vs-pytorch --summarize bench-vs-pytorch.jsonl    # the table again from a (partial) results file
  bin/bench-vs-pytorch --wrn-stream old=../base/bin/wrn-stream new=bin/wrn-stream   # two builds and PyTorch, rotated

With several --wrn-stream builds every round rotates the order of all sides (each build and PyTorch), and the table
gives each build's row against PyTorch and the ratio of every build to the first one.

wrn-stream's launcher runs the JVM with the native allocator of bin/allocator-env (jemalloc, or glibc with
bin/glibc-tunables: memory reused from step to step instead of faulted in afresh). PyTorch gains from it too, so by
default (--pytorch-allocator both) PyTorch runs twice per round: as users run it (side "pytorch", glibc's defaults) and
with the same allocator ("pytorch-same-allocator"), and the table sets wrn-stream against each.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FORMAT = "wrn-stream.bench-vs-pytorch/1"
DEFAULT_ROWS = ["wrn-40-1:128", "wrn-16-4:128", "wrn-28-10:32"]


def machine():
    """The machine named as lscpu names it, with AMX and AVX-512-BF16 yes/no, cores and memory."""
    info = {}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            info[k.strip()] = v.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    flags = set(info.get("Flags", "").split())
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {"cpu": info.get("Model name", "unknown"), "cores": os.cpu_count(),
            "amx": "amx_bf16" in flags, "avx512_bf16": "avx512_bf16" in flags,
            "memory_gb": round(mem_kb / 1024 / 1024, 1), "hypervisor": info.get("Hypervisor vendor", "")}


def load_avg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def last_json(stdout, what):
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"{what} printed no JSON line:\n{stdout[-2000:]}")


def run(cmd, what, timeout, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed with exit code {p.returncode}: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return last_json(p.stdout, what)


def a_best(runs):
    """images/s of the fastest single step over all runs of one side."""
    b = runs[0]["bench"]["batch"]
    return round(b / (min(r["bench"].get("step_ms_min", r["bench"]["step_ms_p50"]) for r in runs) / 1000), 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", nargs="+", default=DEFAULT_ROWS, metavar="MODEL:BATCH",
                    help="models and batch sizes (default: %(default)s)")
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    ap.add_argument("--rounds", type=int, default=3, help="alternations per row (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per run, median reported (default: %(default)s)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps per run (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=0, help="compute threads on both sides (0: all cores)")
    ap.add_argument("--out", default="bench-vs-pytorch.jsonl", help="JSON-lines file (default: %(default)s)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds one run may take (default: %(default)s)")
    ap.add_argument("--pytorch-allocator", choices=["default", "same", "both"], default="both",
                    help="PyTorch with glibc's allocator defaults, with wrn-stream's (bin/allocator-env), or both (default: %(default)s)")
    ap.add_argument("--wrn-stream", nargs="+", default=None, metavar="NAME=COMMAND", dest="builds",
                    help="wrn-stream builds to compare, each a name and its launcher (default: one, wrn-stream=$WRN_STREAM "
                         "or bin/wrn-stream)")
    a = ap.parse_args()
    if a.rounds < 1:
        ap.error(f"Invalid value {a.rounds} for --rounds: must be >= 1")
    if a.steps < 10:
        ap.error(f"Invalid value {a.steps} for --steps: must be >= 10 (medians of at least 10 steps)")
    rows = []
    for r in a.rows:
        model, _, batch = r.partition(":")
        if not batch.isdigit():
            ap.error(f"Invalid value '{r}' for --rows: must be MODEL:BATCH, e.g. wrn-16-4:128")
        rows.append((model, int(batch)))
    threads = a.threads or len(os.sched_getaffinity(0))
    builds = []
    for b in a.builds or ["wrn-stream=" + os.environ.get("WRN_STREAM", os.path.join(ROOT, "bin", "wrn-stream"))]:
        name, eq, cmd = b.partition("=")
        if not eq or not name or not cmd.strip() or name == "pytorch" or name in (n for n, _ in builds):
            ap.error(f"Invalid value '{b}' for --wrn-stream: must be NAME=COMMAND with a unique NAME other than pytorch")
        builds.append((name, cmd.split()))
    py = os.environ.get("PYTORCH_PYTHON", "/usr/bin/python3")
    plain_env = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_VARS}
    tuned = allocator_env(plain_env)
    tunables = " ".join(f"{k}={v}" for k, v in tuned.items())
    pytorch_sides = {"default": [("pytorch", plain_env)], "same": [("pytorch-same-allocator", {**plain_env, **tuned})]}
    pytorch_sides["both"] = pytorch_sides["default"] + pytorch_sides["same"]
    pytorch_sides = pytorch_sides[a.pytorch_allocator]

    out = open(a.out, "w")

    def emit(obj):
        line = json.dumps({"format": FORMAT, **obj})
        print(line, flush=True)
        out.write(line + "\n")
        out.flush()

    m = machine()
    torch_version = subprocess.run([py, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                                   text=True, check=True).stdout.strip()
    emit({"kind": "machine", **m, "pytorch": torch_version, "threads": threads, "load_avg_1m": load_avg(),
          "builds": {name: " ".join(cmd) for name, cmd in builds}, "allocator": tunables,
          "pytorch_sides": [name for name, _ in pytorch_sides],
          "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    common = ["--batch", None, "--steps", str(a.steps), "--warmup", str(a.warmup), "--threads", str(threads)]
    results = []
    for model, batch in rows:
        for prec in a.precisions:
            for rnd in range(a.rounds):
                args = ["--model", model] + [str(batch) if x is None else x for x in common] + ["--precision", prec]
                sides = [(name, cmd + ["bench", "--engine", "libtorch"] + args, None) for name, cmd in builds]
                sides += [(name, [py, os.path.join(HERE, "pytorch_wrn.py")] + args, env) for name, env in pytorch_sides]
                k = rnd % len(sides)  # rotate: every side takes every position in turn
                sides = sides[k:] + sides[:k]
                for side, cmd, env in sides:
                    before = load_avg()
                    b = run(cmd, side, a.timeout, env)
                    rec = {"kind": "run", "round": rnd, "side": side, "load_avg_1m": before, "bench": b}
                    results.append(rec)
                    emit(rec)
                    print(f"  {model} b{batch} {prec} round {rnd} {side:10s} {b['images_per_sec']:8.1f} images/s "
                          f"p50 {b['step_ms_p50']:7.1f} ms  RSS {b['peak_rss_mb']} MB  load {before}", file=sys.stderr)

    summarize(results, rows, a.precisions, a.rounds, a.steps, m, torch_version, threads, emit, [n for n, _ in builds])
    return 0


PYTORCH_SIDES = ("pytorch", "pytorch-same-allocator", "pytorch-tuned")  # pytorch-tuned: older files (glibc tunables)
ALLOCATOR_VARS = ("LD_PRELOAD", "MALLOC_CONF", "GLIBC_TUNABLES")


def allocator_env(env):
    """The NAME=VALUE settings bin/allocator-env gives wrn-stream's JVM (jemalloc or glibc tunables), as a dict."""
    out = subprocess.run([os.path.join(ROOT, "bin", "allocator-env")], capture_output=True, text=True, check=True, env=env).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def summarize(results, rows, precisions, rounds, steps, m, torch_version, threads, emit, builds):
    """Summary lines and the table, one row per build; rows with no run of one side yet are left out."""
    table = []
    for model, batch in rows:
        for prec in precisions:
            def of(side):
                return [r for r in results if r["side"] == side and r["bench"]["model"] == model
                        and r["bench"]["batch"] == batch and r["bench"]["precision"] == prec]
            for against in PYTORCH_SIDES:
                p = of(against)
                for build in builds:
                    w = of(build)
                    if not w or not p:
                        continue
                    summary_row(table, emit, build, model, batch, prec, w, p, against)
    print_table(table, rounds, steps, m, torch_version, threads, emit, builds)


def summary_row(table, emit, build, model, batch, prec, w, p, against="pytorch"):
    """One build against PyTorch for one model and precision: medians, fastest steps, peak RSS, load."""
    wi = statistics.median(r["bench"]["images_per_sec"] for r in w)
    pi = statistics.median(r["bench"]["images_per_sec"] for r in p)
    # the fastest step of all runs: on a shared machine the step least disturbed by other load
    wb = a_best(w)
    pb = a_best(p)
    wr = max(r["bench"]["peak_rss_mb"] for r in w)
    pr = max(r["bench"]["peak_rss_mb"] for r in p)
    loads = [r["load_avg_1m"] for r in w + p]
    row = {"kind": "summary", "side": build, "against": against, "model": model, "batch": batch, "precision": prec, "rounds": len(w),
           "wrn_stream_images_per_sec": wi, "pytorch_images_per_sec": pi, "speed_ratio": round(wi / pi, 3),
           "wrn_stream_best_images_per_sec": wb, "pytorch_best_images_per_sec": pb,
           "best_step_ratio": round(wb / pb, 3),
           "wrn_stream_peak_rss_mb": wr, "pytorch_peak_rss_mb": pr, "rss_ratio": round(wr / pr, 3),
           "wrn_stream_runs": [r["bench"]["images_per_sec"] for r in w],
           "pytorch_runs": [r["bench"]["images_per_sec"] for r in p],
           "load_avg_min": min(loads), "load_avg_max": max(loads)}
    table.append(row)
    emit(row)


def print_table(table, rounds, steps, m, torch_version, threads, emit, builds):
    e = sys.stderr
    print(f"\nMachine: {m['cpu']}, {m['cores']} cores, AMX {'yes' if m['amx'] else 'no'}, "
          f"AVX-512-BF16 {'yes' if m['avx512_bf16'] else 'no'}, {m['memory_gb']} GB; PyTorch {torch_version}; "
          f"{threads} threads; median of {rounds} alternated runs, each the median of {steps} steps\n", file=e)
    several = len(builds) > 1
    both = len({r["against"] for r in table}) > 1
    print(("| model, batch | precision |" + (" build |" if several else "") + (" PyTorch's native allocator |" if both else "")
           + " wrn-stream images/s | PyTorch images/s | ratio | best step ratio "
           "| wrn-stream peak RSS MB | PyTorch peak RSS MB | RSS ratio | load avg |"), file=e)
    print("|---|---|" + ("---|" if several else "") + ("---|" if both else "") + "---|---|---|---|---|---|---|---|", file=e)
    for r in table:
        recipe = "fp32" if r["precision"] == "fp32" else "bf16 (PyTorch: autocast + channels-last)"
        build = f" {r['side']} |" if several else ""
        if both:
            build += {"pytorch": " as users run it |", "pytorch-tuned": " glibc tunables |"}.get(r["against"], " wrn-stream's |")
        print(f"| {r['model']}, {r['batch']} | {recipe} |{build} {r['wrn_stream_images_per_sec']:.1f} "
              f"| {r['pytorch_images_per_sec']:.1f} | **{r['speed_ratio']:.2f}** | {r['best_step_ratio']:.2f} "
              f"| {r['wrn_stream_peak_rss_mb']} "
              f"| {r['pytorch_peak_rss_mb']} | {r['rss_ratio']:.2f} | {r['load_avg_min']:.1f}-{r['load_avg_max']:.1f} |",
              file=e)
    if several:
        base = builds[0]
        print(f"\n| model, batch | precision | build | images/s | / {base} | best step / {base} | peak RSS MB / {base} |", file=e)
        print("|---|---|---|---|---|---|---|", file=e)
        for r in table:
            b = next((x for x in table if x["side"] == base and x["model"] == r["model"] and x["batch"] == r["batch"]
                      and x["precision"] == r["precision"]), None)
            if b is None or r["side"] == base or r["against"] != "pytorch":
                continue
            ratio = {"kind": "build-ratio", "side": r["side"], "base": base, "model": r["model"], "batch": r["batch"],
                     "precision": r["precision"],
                     "speed_ratio": round(r["wrn_stream_images_per_sec"] / b["wrn_stream_images_per_sec"], 3),
                     "best_step_ratio": round(r["wrn_stream_best_images_per_sec"] / b["wrn_stream_best_images_per_sec"], 3),
                     "rss_ratio": round(r["wrn_stream_peak_rss_mb"] / b["wrn_stream_peak_rss_mb"], 3)}
            emit(ratio)
            print(f"| {r['model']}, {r['batch']} | {r['precision']} | {r['side']} | {r['wrn_stream_images_per_sec']:.1f} "
                  f"| **{ratio['speed_ratio']:.2f}** | {ratio['best_step_ratio']:.2f} | {ratio['rss_ratio']:.2f} |", file=e)


def summarize_file(path):
    """The table again from a JSON-lines file written by this script (also a partial one)."""
    recs = [json.loads(line) for line in open(path) if line.strip()]
    m = next(r for r in recs if r.get("kind") == "machine")
    runs = [r for r in recs if r.get("kind") == "run"]
    rows, precisions = [], []
    for r in runs:
        key = (r["bench"]["model"], r["bench"]["batch"])
        if key not in rows:
            rows.append(key)
        if r["bench"]["precision"] not in precisions:
            precisions.append(r["bench"]["precision"])
    rounds = max(r["round"] for r in runs) + 1
    builds = list(m.get("builds", {"wrn-stream": None}))
    summarize(runs, rows, precisions, rounds, runs[0]["bench"]["steps"], m, m["pytorch"], m["threads"],
              lambda obj: print(json.dumps({"format": FORMAT, **obj})), builds)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--summarize":
        sys.exit(summarize_file(sys.argv[2]))
    sys.exit(main())
