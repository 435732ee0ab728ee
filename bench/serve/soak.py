#!/usr/bin/env python3
"""Soak of `streaminfer serve`: 8 synthetic cameras, one added and another removed through the API
every 5 s, for MINUTES minutes. Every minute it samples the service's resident memory, open file
descriptors and threads (GET /stats, read from /proc by the service). At the end: SIGTERM (the
drain), then the JSONL is checked: no (stream, frame) reported twice, every stream's frames
numbered once each.

  bench/serve/soak.py [--bin build/streaminfer] [--minutes 30] [--cores 1] [--out bench-out/serve_soak]

Pass/fail lines: RSS from minute 2 to the end grows under 5%; descriptors and threads at the end
equal those at minute 2 (the streams running then and now are 8 either way); no duplicate.
"""
import argparse
import atexit
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request


def request(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def camera(seed):
    return f"synthetic:?width=640&height=360&fps=10&objects=4&seed={seed}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/streaminfer")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--cores", default="1")
    ap.add_argument("--out", default="bench-out/serve_soak")
    ap.add_argument("--period", type=float, default=5.0, help="seconds between add/remove")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    jsonl = os.path.join(args.out, "det.jsonl")
    cmd = [args.bin, "serve", "--listen", "127.0.0.1:0", "--imgsz", "320", "--batch-size", "8",
           "--micro-batch", "2", "--threads", "1", "--core-bind", args.cores, "--precision",
           "fp32", "--output", jsonl, "--metrics-dir", os.path.join(args.out, "metrics")]
    for seed in range(1, 9):
        cmd += ["--source", camera(seed)]
    out = open(os.path.join(args.out, "serve.out"), "w")
    err = open(os.path.join(args.out, "serve.err"), "w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=err)
    # Never left behind: a script that fails midway still ends the service.
    atexit.register(lambda: proc.poll() is None and proc.kill())
    base = None
    for _ in range(600):
        m = re.search(r"listening on (http://[0-9.]+:[0-9]+)",
                      open(os.path.join(args.out, "serve.out")).read())
        if m:
            base = m.group(1)
            break
        time.sleep(0.1)
    if not base:
        sys.exit("soak: serve never said where it listens")
    while request(base, "GET", "/readyz")[0] != 200:
        if proc.poll() is not None:
            sys.exit("soak: serve ended before it was ready")
        time.sleep(0.5)
    print(f"soak: serve pid {proc.pid} at {base}; {args.minutes:g} min, 8 streams 640x360 @ 10 fps, "
          f"one added and one removed every {args.period:g} s, 1 thread on cores {args.cores}",
          flush=True)
    samples = []  # (minute, rss, fds, threads, streams)
    start = time.time()
    next_sample = 60
    seed = 100
    added = removed = refused = 0
    while time.time() - start < args.minutes * 60:
        time.sleep(args.period)
        if proc.poll() is not None:
            sys.exit(f"soak: serve ended early with {proc.returncode}")
        seed += 1
        status, body = request(base, "POST", "/streams", {"uri": camera(seed), "name": f"cam-{seed}"})
        if status == 201:
            added += 1
        else:
            refused += 1
            print(f"soak: POST answered {status}: {body}", flush=True)
        status, listing = request(base, "GET", "/streams")
        oldest = min(s["id"] for s in listing["streams"])
        status, body = request(base, "DELETE", f"/streams/{oldest}")
        if status == 200:
            removed += 1
        else:
            refused += 1
            print(f"soak: DELETE answered {status}: {body}", flush=True)
        elapsed = time.time() - start
        if elapsed >= next_sample:
            _, stats = request(base, "GET", "/stats")
            p = stats["process"]
            minute = round(elapsed / 60)
            samples.append((minute, p["rss_bytes"] // 1024, p["open_fds"], p["threads"],
                            len(stats["streams"])))
            print(f"minute {minute}: RSS {p['rss_bytes'] // 1024} KiB, fds {p['open_fds']}, "
                  f"threads {p['threads']}, streams {len(stats['streams'])}, frames {stats['frames']}, "
                  f"fps {stats['fps']:.1f}", flush=True)
            next_sample += 60
    proc.send_signal(signal.SIGTERM)
    t0 = time.time()
    code = proc.wait(timeout=60)
    print(f"soak: serve exited with {code} {time.time() - t0:.2f} s after SIGTERM; "
          f"{added} streams added, {removed} removed, {refused} requests refused")
    seen = set()
    duplicates = lines = 0
    per_stream = {}
    with open(jsonl) as f:
        for line in f:
            j = json.loads(line)
            key = (j["stream"], j["frame"])
            duplicates += key in seen
            seen.add(key)
            per_stream.setdefault(j["stream"], []).append(j["frame"])
            lines += 1
    print(f"JSONL: {lines} lines from {len(per_stream)} streams; duplicates (stream, frame): "
          f"{duplicates}")
    base_sample = next((s for s in samples if s[0] >= 2), samples[0])
    last = samples[-1]
    growth = last[1] / base_sample[1] - 1
    print(f"RSS minute {base_sample[0]}: {base_sample[1]} KiB, minute {last[0]}: {last[1]} KiB, "
          f"growth {100 * growth:+.2f}% (target under 5%: {'met' if growth < 0.05 else 'MISSED'})")
    print(f"open fds minute {base_sample[0]}: {base_sample[2]}, minute {last[0]}: {last[2]} "
          f"({'same' if base_sample[2] == last[2] else 'DIFFERENT'}); threads {base_sample[3]} -> "
          f"{last[3]} ({'same' if base_sample[3] == last[3] else 'DIFFERENT'})")
    print(f"no stream reported twice: {'met' if duplicates == 0 else 'MISSED'}")
    with open(os.path.join(args.out, "samples.csv"), "w") as f:
        f.write("minute,rss_kib,open_fds,threads,streams\n")
        for s in samples:
            f.write(",".join(map(str, s)) + "\n")


if __name__ == "__main__":
    main()
