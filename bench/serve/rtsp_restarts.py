#!/usr/bin/env python3
"""One `streaminfer serve` run with an RTSP camera (the GStreamer RTSP test server of the tests)
whose server is killed and started again RESTARTS times, beside a video file and a synthetic
camera. Measured: the reconnects the service counts for the camera, the frames the file and the
synthetic streams lost (decoded - done - skipped, and dropped), and the p99 end-to-end latency of
those two streams while the camera comes and goes against a quiet stretch before (from the
per-frame CSV of --metrics-dir).

  bench/serve/rtsp_restarts.py [--bin build/streaminfer] [--rtsp-server build/tests/rtsp_test_server]
                               [--restarts 10] [--out bench-out/serve_rtsp] [--cores 0]
                               [--camera-nice 19]
The camera's server runs on this machine, unlike a real camera: its start-up (GStreamer loading
its plugins, opening the clip) takes CPU from the service on a 2-core machine at each restart.
--camera-nice N starts it at that nice value, so that it takes what the service leaves (0: as
the service).
"""
import argparse
import atexit
import csv
import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return json.loads(r.read())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def p99(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(0.99 * len(values)))] if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/streaminfer")
    ap.add_argument("--rtsp-server", default="build/tests/rtsp_test_server")
    ap.add_argument("--restarts", type=int, default=10)
    ap.add_argument("--out", default="bench-out/serve_rtsp")
    ap.add_argument("--cores", default="", help="--core-bind of the service (empty: not bound)")
    ap.add_argument("--settle", type=float, default=15, help="seconds before the quiet window")
    ap.add_argument("--camera-nice", type=int, default=0,
                    help="nice value of the camera's server (a real camera is another machine)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    camera_clip = os.path.join(args.out, "camera.mp4")
    file_clip = os.path.join(args.out, "file.mp4")
    # Long enough that neither ends during the run: the camera's clip restarts at every
    # connection, the file is read once at its frame rate.
    for path, seconds, src in ((camera_clip, 600, "testsrc"), (file_clip, 600, "testsrc2")):
        if not os.path.exists(path):
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            f"{src}=size=640x360:rate=10", "-t", str(seconds), "-c:v", "libx264",
                            "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p", path],
                           check=True)
    port = free_port()

    def start_camera(n):
        log = open(os.path.join(args.out, f"rtsp_{n}.out"), "w")
        proc = subprocess.Popen(["nice", "-n", str(args.camera_nice), args.rtsp_server, str(port),
                                 "cam", camera_clip], stdout=log, stderr=subprocess.STDOUT)
        # Never left behind: a script that fails midway still ends the camera.
        atexit.register(lambda: proc.poll() is None and proc.kill())
        for _ in range(200):
            if "ready" in open(os.path.join(args.out, f"rtsp_{n}.out")).read():
                return proc
            time.sleep(0.05)
        sys.exit("rtsp_test_server did not start")

    camera = start_camera(0)
    cmd = [args.bin, "serve", "--listen", "127.0.0.1:0", "--imgsz", "320", "--batch-size", "4",
           "--micro-batch", "2", "--precision", "fp32", "--pace", "realtime", "--stall-timeout",
           "2", "--metrics-dir", os.path.join(args.out, "metrics"), "--output",
           os.path.join(args.out, "det.jsonl"),
           "--source", file_clip,
           "--source", "synthetic:?width=640&height=360&fps=10&objects=4&seed=1",
           "--source", f"rtsp://127.0.0.1:{port}/cam"]
    if args.cores:
        cmd += ["--core-bind", args.cores]
    out_path = os.path.join(args.out, "serve.out")
    proc = subprocess.Popen(cmd, stdout=open(out_path, "w"),
                            stderr=open(os.path.join(args.out, "serve.err"), "w"))
    # Never left behind: a script that fails midway still ends the service.
    atexit.register(lambda: proc.poll() is None and proc.kill())
    base = None
    while base is None:
        m = re.search(r"listening on (http://[0-9.]+:[0-9]+)", open(out_path).read())
        base = m.group(1) if m else None
        if proc.poll() is not None:
            sys.exit("serve ended at start")
        time.sleep(0.1)
    while urllib.request.urlopen(base + "/healthz").status != 200 or \
            not any(s["frames_done"] > 0 for s in get(base, "/streams")["streams"]):
        time.sleep(0.5)
    t0 = time.time()
    print(f"serve pid {proc.pid}: file + synthetic + rtsp camera at port {port}; settling for "
          f"{args.settle:g} s, then quiet for 30 s", flush=True)
    # The first seconds are not the quiet reference: the model's first forwards, the queues
    # filling, the OpenMP team waking.
    time.sleep(args.settle + 30)
    quiet_end = time.time()
    for i in range(1, args.restarts + 1):
        camera.kill()
        camera.wait()
        time.sleep(2)
        camera = start_camera(i)
        # Until the camera delivers again (a reconnect counted and frames arriving).
        before = get(base, "/streams/2")["frames_done"]
        deadline = time.time() + 30
        while time.time() < deadline and get(base, "/streams/2")["frames_done"] < before + 10:
            time.sleep(0.2)
        s = get(base, "/streams/2")
        print(f"restart {i}: camera back, {s['reconnects']} reconnect(s) counted, "
              f"{s['frames_done']} frames", flush=True)
    restarts_end = time.time()
    streams = get(base, "/streams")["streams"]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    camera.kill()
    summary = json.load(open(glob.glob(os.path.join(args.out, "metrics", "S_*.json"))[0]))
    # Per-frame CSV: done_ms is when the frame's result was written, from the run's start.
    frames = list(csv.DictReader(open(glob.glob(os.path.join(args.out, "metrics", "F_*.csv"))[0])))
    # The run's clock: the first result's done_ms is close to when /streams first showed one.
    first_done = min(float(f["done_ms"]) for f in frames) / 1000
    run_start = t0 - first_done
    quiet = (quiet_end - run_start - 30, quiet_end - run_start)
    noisy = (quiet_end - run_start, restarts_end - run_start)
    print(f"\nexit code {proc.returncode}; quiet window {quiet[0]:.0f}-{quiet[1]:.0f} s, "
          f"restart window {noisy[0]:.0f}-{noisy[1]:.0f} s of the run")
    for s in summary["streams"]:
        lost = s["decoded"] - s["frames"] - s["skipped"] - s["dropped"] - s["unprocessed"]
        lat_q = [float(f["end_to_end_ms"]) for f in frames if int(f["stream"]) == s["id"]
                 and quiet[0] <= float(f["done_ms"]) / 1000 < quiet[1]]
        lat_n = [float(f["end_to_end_ms"]) for f in frames if int(f["stream"]) == s["id"]
                 and noisy[0] <= float(f["done_ms"]) / 1000 < noisy[1]]
        change = p99(lat_n) / p99(lat_q) - 1 if lat_q and lat_n else float("nan")
        print(f"stream {s['id']} {s['uri'][:60]}: status {s['status']}, frames {s['frames']}, "
              f"decoded {s['decoded']}, dropped {s['dropped']}, lost {lost}, reconnects "
              f"{s['reconnects']}; p99 e2e quiet {p99(lat_q):.1f} ms, during restarts "
              f"{p99(lat_n):.1f} ms ({100 * change:+.1f}%)")
    camera_row = summary["streams"][2]
    others = summary["streams"][:2]
    print(f"\nreconnects counted: {camera_row['reconnects']} (restarts {args.restarts}): "
          f"{'met' if camera_row['reconnects'] >= args.restarts else 'MISSED'}")
    print("file and synthetic lost 0 frames (dropped + lost): " +
          ("met" if all(s["dropped"] == 0 and s["decoded"] - s["frames"] - s["skipped"] == 0
                        for s in others) else "MISSED"))


if __name__ == "__main__":
    main()
