#!/usr/bin/env python3
"""Writes the fixture metrics directory of `streaminfer report`'s tests (deterministic).

A 4-stream yolov8n run of about 12 s: 200 batches of 4 frames, and at t = 6 s the model's
execution time steps up from ~28 ms to ~46 ms (as when another process takes the cores), so the
queues grow and live streams start dropping frames.
"""
import json
import os
import random

OUT = os.path.dirname(os.path.abspath(__file__))
MODEL, PID = "yolov8n", 4242
STREAMS = 4
rng = random.Random(7)

batches, frames = [], []
t = 0.0
next_frame = [0] * STREAMS
for step in range(200):
    read = rng.uniform(2.0, 6.0)
    t += read
    start = t
    prep = rng.uniform(3.5, 4.5)
    exec_ms = rng.gauss(46.0 if start >= 6000 else 28.0, 1.5)
    post = rng.uniform(1.2, 2.0)
    total = read + prep + exec_ms + post
    ids = [(step * 4 + i) % STREAMS for i in range(4)]
    batches.append((step, read, prep, exec_ms, post, total, 4, start, ids))
    done = start + prep + exec_ms + post
    for k, s in enumerate(ids):
        decode = rng.uniform(3.0, 5.0)
        queue = rng.uniform(5.0, 15.0) * (3.0 if start >= 6000 else 1.0)
        batch_wait = read * rng.uniform(0.3, 1.0)
        e2e = decode + queue + batch_wait + prep + exec_ms + post
        frames.append((s, next_frame[s], step, 4, decode, queue, batch_wait, prep,
                       0.2 * k, exec_ms, post, e2e, done, rng.randint(0, 6)))
        next_frame[s] += rng.choice([1, 1, 1, 2]) if start >= 6000 else 1
    t = done

with open(os.path.join(OUT, f"M_{MODEL}_P_{PID}_metrics.csv"), "w") as f:
    f.write("step,read_latency_ms,prep_latency_ms,exec_latency_ms,post_latency_ms,"
            "total_step_latency_ms,batch_size,loss,start_ms,streams\n")
    for b in batches:
        f.write("{},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f},{},,{:.3f},{}\n".format(
            *b[:7], b[7], ";".join(map(str, b[8]))))
with open(os.path.join(OUT, f"F_{MODEL}_P_{PID}_frames.csv"), "w") as f:
    f.write("stream,frame,step,batch_size,decode_ms,queue_wait_ms,batch_wait_ms,preprocess_ms,"
            "inference_wait_ms,exec_ms,post_ms,end_to_end_ms,done_ms,detections\n")
    for r in frames:
        f.write("{},{},{},{},".format(*r[:4]) +
                ",".join("{:.3f}".format(v) for v in r[4:13]) + ",{}\n".format(r[13]))
wall = t
dropped = [0] * STREAMS
with open(os.path.join(OUT, f"Q_{MODEL}_P_{PID}_queues.csv"), "w") as f:
    f.write("time_ms,stream,depth,dropped\n")
    for i in range(int(wall // 100) + 1):
        tm = i * 100.0
        for s in range(STREAMS):
            if tm < 6000:
                depth = rng.choice([0, 1, 1, 2])
            else:
                depth = min(8, 2 + int((tm - 6000) / 400) + rng.choice([0, 1]))
                if depth >= 8:
                    dropped[s] += rng.choice([0, 1, 1])
            f.write(f"{tm:.1f},{s},{depth},{dropped[s]}\n")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def stage(name, values, busy):
    return {"name": name, "count": len(values), "mean_ms": round(sum(values) / len(values), 3),
            "p50_ms": round(pct(values, 50), 3), "p95_ms": round(pct(values, 95), 3),
            "p99_ms": round(pct(values, 99), 3), "max_ms": round(max(values), 3),
            "busy_share": busy}


col = lambda i: [r[i] for r in frames]
summary = {
    "model": MODEL, "wall_seconds": round(wall / 1000, 3), "frames": len(frames),
    "fps": round(len(frames) / (wall / 1000), 2), "batches": len(batches),
    "streams": [{"id": s, "uri": f"synthetic:?width=1280&height=720&fps=30&seed={s + 1}",
                 "status": "ok", "frames": sum(1 for r in frames if r[0] == s),
                 "decoded": next_frame[s],
                 "fps": round(sum(1 for r in frames if r[0] == s) / (wall / 1000), 2),
                 "dropped": dropped[s], "decode_errors": 0} for s in range(STREAMS)],
    "stages": [stage("decode", col(4), 0.31), stage("queue_wait", col(5), 0.0),
               stage("batch_wait", col(6), 0.0), stage("preprocess", [b[2] for b in batches], 0.09),
               stage("inference", [b[3] for b in batches], 0.84),
               stage("postprocess", [b[4] for b in batches], 0.04),
               stage("end_to_end", col(11), 0.0)],
    "bottleneck": "inference",
    "system": {"cpu": "Intel(R) Xeon(R) Platinum 8481C (2 cores)", "memory_gib": 7.7,
               "os": "Debian GNU/Linux 12 (bookworm)", "torch": "2.1.2", "ffmpeg": "5.1.6",
               "device": "cpu", "precision": "fp32", "threads": 2, "batch_size": 4,
               "max_wait_ms": 10},
}
with open(os.path.join(OUT, f"S_{MODEL}_P_{PID}_summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")
