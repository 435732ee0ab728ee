#!/usr/bin/env python3
"""Turns an ONNX Runtime profile (ort_time.mjs --profile) into a per-operator-type table:
op type, nodes per forward, total ms per forward, share of the operators' time. The same
columns as LibTorch's profiler table grouped by operator (key_averages), so the two runtimes'
cost can be set side by side.

The profile holds every run of the session, warm-ups too: only the last --last runs (the timed
ones; ort_time.mjs prints their number as "runs") count. A node event is counted in the run whose
[ts, ts + dur] window holds it. Standard library only (any python3).
  profile_table.py PROFILE.json [--last R]
"""
import argparse
import bisect
import collections
import json
import sys


def summarize(events, last):
    runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events
                  if e.get("cat") == "Session" and e.get("name") == "model_run")
    if not runs:
        raise SystemExit("profile_table: the profile has no model_run event")
    kept = runs[-last:] if last else runs[1:] or runs  # default: all but the first (allocations)
    starts = [r[0] for r in kept]
    total = collections.defaultdict(float)  # microseconds, over the kept runs
    nodes = collections.Counter()
    for e in events:
        # Each node has three events: fence_before, kernel_time, fence_after; the kernel's is the
        # operator's work, the fences are synchronization around it (near zero on the CPU).
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        i = bisect.bisect_right(starts, e["ts"]) - 1
        if i < 0 or e["ts"] > kept[i][1]:
            continue  # a warm-up's or a run that was not kept
        op = e.get("args", {}).get("op_name", "?")
        total[op] += e["dur"]
        nodes[op] += 1
    n = len(kept)
    wall_ms = sum(end - start for start, end in kept) / n / 1e3
    return n, wall_ms, {op: (nodes[op] / n, total[op] / n / 1e3) for op in total}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile")
    parser.add_argument("--last", type=int, default=0,
                        help="count only the last R runs (default: all but the first)")
    args = parser.parse_args(argv)
    with open(args.profile) as f:
        events = json.load(f)
    n, wall_ms, ops = summarize(events, args.last)
    op_ms = sum(ms for _, ms in ops.values())
    print(f"ONNX Runtime profile {args.profile}: {n} run(s); per forward {wall_ms:.2f} ms "
          f"(model_run), of which operators {op_ms:.2f} ms")
    print()
    print("| op type | nodes/forward | ms/forward | share |")
    print("|---|---:|---:|---:|")
    for op, (count, ms) in sorted(ops.items(), key=lambda kv: -kv[1][1]):
        print(f"| {op} | {count:g} | {ms:.3f} | {100 * ms / op_ms:.1f}% |")
    print(f"| total | {sum(c for c, _ in ops.values()):g} | {op_ms:.3f} | 100.0% |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
