#!/usr/bin/env python3
"""COUNT random requests (fixed seed) against a running `streaminfer serve`: random routes and
methods, JSON bodies valid and not, random bytes, broken UTF-8, bodies up to 2 MiB, raw lines that
are not HTTP. Every answer must be an HTTP status line (100-599), the service must stay up, and its
two synthetic cameras must keep delivering; at the end SIGTERM must drain and exit 0.

  bench/serve/api_fuzz.py [--bin build/streaminfer] [--count 10000] [--seed 20261207]
"""
import argparse
import atexit
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/streaminfer")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--out", default="bench-out/serve_fuzz")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out_path = os.path.join(args.out, "serve.out")
    cam = "synthetic:?width=320&height=240&fps=10&objects=3&seed={}"
    proc = subprocess.Popen(
        [args.bin, "serve", "--listen", "127.0.0.1:0", "--imgsz", "320", "--micro-batch", "2",
         "--precision", "fp32", "--source", cam.format(1), "--source", cam.format(2)],
        stdout=open(out_path, "w"), stderr=open(os.path.join(args.out, "serve.err"), "w"))
    # Never left behind: a script that fails midway still ends the service.
    atexit.register(lambda: proc.poll() is None and proc.kill())
    port = None
    while port is None:
        m = re.search(r"listening on http://127\.0\.0\.1:([0-9]+)", open(out_path).read())
        port = int(m.group(1)) if m else None
        if proc.poll() is not None:
            sys.exit("serve ended at start")
        time.sleep(0.1)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                break
        except (ConnectionError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    rng = random.Random(args.seed)
    methods = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE", "BREW"]
    paths = ["/streams", "/streams/0", "/streams/1", "/streams/2", "/streams/999", "/streams/-1",
             "/streams/abc", "/streams/0/x", "/stats", "/metrics", "/reload", "/readyz",
             "/healthz", "/", "/%ff%fe", "/streams/%00", "/" + "a" * 5000, "/streams?x=1"]

    def body():
        kind = rng.randrange(8)
        if kind == 0:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        if kind == 1:  # a valid short stream that ends by itself
            return json.dumps({"uri": cam.format(rng.randrange(100)) + "&frames=5"}).encode()
        if kind == 2:
            return b'{"uri": "\xff\xfe\xfd"}'
        if kind == 3:
            keys = ["uri", "name", "sample_fps", "every_nth", "x", ""]
            values = [None, 1, -1, 1.5, "s", [], {}, True, "synthetic:", "/no/file", "rtsp://"]
            return json.dumps({rng.choice(keys): rng.choice(values)
                               for _ in range(rng.randrange(4))}).encode()
        if kind == 4:
            return b"{" * rng.choice([10, 1000, (1 << 20) + 1, 2 << 20])
        if kind == 5:
            return b'{"uri": "synthetic:", "name": "' + bytes([rng.randrange(256)]) * 3 + b'"}'
        return b""

    statuses = {}
    bad = 0
    for i in range(args.count):
        if rng.randrange(50) == 0:
            # Not HTTP at all, or a truncated request: the server must answer or close.
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(rng.choice([b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n",
                                      b"POST /streams HTTP/1.1\r\nContent-Length: 100\r\n\r\n{",
                                      b"GET /streams HTTP/9.9\r\n\r\n",
                                      b"GET /" + b"x" * 20000 + b" HTTP/1.1\r\n\r\n"]))
                s.shutdown(socket.SHUT_WR)
                reply = b""
                try:
                    while chunk := s.recv(4096):
                        reply += chunk
                except socket.timeout:
                    bad += 1
                    print(f"request {i}: raw request got no answer in 10 s")
                if reply and not re.match(rb"HTTP/1\.[01] [1-5][0-9][0-9]", reply):
                    bad += 1
                    print(f"request {i}: raw answer is not a status line: {reply[:80]!r}")
            continue
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        method = rng.choice(methods)
        path = rng.choice(paths)
        if method == "DELETE" and path in ("/streams/0", "/streams/1"):
            method = "GET"  # the two cameras stay: they show the service kept running
        data = body() if rng.randrange(3) else b""
        try:
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            answer = r.read()
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status >= 500:
                print(f"request {i}: {method} {path[:40]} ({len(data)} bytes) -> {r.status}: "
                      f"{answer[:200]!r}")
            if not 100 <= r.status <= 599:
                bad += 1
                print(f"request {i}: {method} {path[:40]} -> {r.status}")
        except (ConnectionError, http.client.HTTPException, socket.timeout) as e:
            # A server may close on a body over its limit before reading it all.
            if len(data) <= (1 << 20):
                bad += 1
                print(f"request {i}: {method} {path[:40]} ({len(data)} bytes): {e!r}")
        finally:
            conn.close()
        if proc.poll() is not None:
            sys.exit(f"request {i}: serve died with {proc.returncode}")
        if i % 50 == 0:  # keep the streams the fuzz added from piling up
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/streams")
            for s in json.loads(conn.getresponse().read())["streams"]:
                if s["id"] >= 2 and s["status"] == "ended":
                    c2 = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    c2.request("DELETE", f"/streams/{s['id']}")
                    c2.getresponse().read()
                    c2.close()
            conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/stats")
    stats = json.loads(conn.getresponse().read())
    first = {s["id"]: s["frames"] for s in stats["streams"] if s["id"] < 2}
    time.sleep(2)
    conn.request("GET", "/stats")
    later = {s["id"]: s["frames"] for s in json.loads(conn.getresponse().read())["streams"]
             if s["id"] < 2}
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)
    print(f"{args.count} requests (seed {args.seed}): statuses {dict(sorted(statuses.items()))}")
    print(f"answers that were not an HTTP status, or none: {bad}")
    print(f"the two cameras kept delivering: {first} -> {later} frames: "
          f"{'yes' if len(first) == 2 and all(later[k] > first[k] for k in first) else 'NO'}")
    print(f"serve exited with {code} after SIGTERM")
    sys.exit(0 if bad == 0 and code == 0 else 1)


if __name__ == "__main__":
    main()
