#!/usr/bin/env python3
"""A fleet of `streaminfer serve --fleet` workers on one machine (a real etcd, WORKERS workers,
CAMERAS synthetic cameras), one worker SIGKILLed KILLS times (started again after each, once the
others took its cameras over). Measured:
  - failover time: from the SIGKILL to the first JSONL line of the last of the killed worker's
    cameras on a survivor (every line is timestamped here as it is read, every 50 ms);
  - a restarted worker's share: from its "joined" line (model loaded, warm, registered) to its
    first JSONL line;
  - frames lost per failover: for each of those cameras, the frames its rate puts in the gap
    between its last line from the killed worker and its first from the survivor, minus one;
  - etcd requests per second per worker, from each worker's streaminfer_fleet_etcd_requests_total,
    over a quiet stretch and over the whole run of kills.

  bench/fleet/failover.py [--bin build/streaminfer] [--kills 10] [--workers 3] [--cameras 12]
                          [--ttl 5] [--fps 5] [--out bench-out/fleet]
"""
import argparse
import atexit
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def etcdctl(endpoint, *args):
    subprocess.run(["etcdctl", "--endpoints", endpoint, *args], check=True,
                   stdout=subprocess.DEVNULL)


class Worker:
    def __init__(self, args, wid, fleet, run):
        self.id = wid
        self.jsonl = os.path.join(args.out, f"{wid}-{run}.jsonl")
        self.log = os.path.join(args.out, f"{wid}-{run}.log")
        # A file of an earlier run into the same folder would be read first (its lines taken for
        # this run's) and then truncated by the worker, past the offset: its new lines unseen.
        for stale in (self.jsonl, self.log):
            try:
                os.remove(stale)
            except FileNotFoundError:
                pass
        cmd = [args.bin, "serve", "--listen", "127.0.0.1:0", "--fleet", fleet, "--fleet-ttl",
               str(args.ttl), "--worker-id", wid, "--output", self.jsonl, "--imgsz", "320",
               "--precision", "fp32", "--micro-batch", "2", "--threads", "1"]
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        atexit.register(lambda p=self.proc: p.poll() is None and p.kill())
        self.base = None
        self.offset = 0
        self.unnamed = 0  # lines without a camera name or worker id (counted, not used)
        for _ in range(600):
            m = re.search(r"listening on (http://[0-9.]+:[0-9]+)", open(self.log).read())
            if m:
                self.base = m.group(1)
                break
            if self.proc.poll() is not None:
                sys.exit(f"{wid} ended: {open(self.log).read()}")
            time.sleep(0.05)
        if not self.base:
            sys.exit(f"{wid} did not listen")

    def running(self):
        try:
            return set(json.loads(get(self.base + "/fleet")).get("running_here", []))
        except Exception:
            return set()

    def etcd_requests(self):
        text = get(self.base + "/metrics")
        m = re.search(r"^streaminfer_fleet_etcd_requests_total\{[^}]*\} ([0-9.e+]+)$", text, re.M)
        return float(m.group(1)) if m else float("nan")

    def new_lines(self):
        """(camera, worker) of the whole lines written since the last call."""
        out = []
        try:
            with open(self.jsonl, "rb") as f:
                if os.fstat(f.fileno()).st_size < self.offset:
                    self.offset = 0  # truncated (the worker opens it anew)
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return out
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            try:
                j = json.loads(line)
                out.append((j["name"], j["worker"]))
            except (ValueError, KeyError):
                self.unnamed += 1
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/streaminfer")
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--cameras", type=int, default=12)
    ap.add_argument("--ttl", type=int, default=5)
    ap.add_argument("--fps", type=float, default=5)
    ap.add_argument("--quiet", type=float, default=30, help="seconds of the quiet etcd window")
    ap.add_argument("--out", default="bench-out/fleet")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    client, peer = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{client}"
    data = os.path.join(args.out, "etcd-data")
    subprocess.run(["rm", "-rf", data], check=True)
    etcd = subprocess.Popen(
        ["etcd", "--name", "bench", "--data-dir", data, "--listen-client-urls", endpoint,
         "--advertise-client-urls", endpoint, "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}", "--initial-cluster",
         f"bench=http://127.0.0.1:{peer}", "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(args.out, "etcd.log"), "w"))
    atexit.register(lambda: etcd.poll() is None and etcd.kill())
    time.sleep(1.5)
    fleet = f"etcd://127.0.0.1:{client}/bench"
    for i in range(args.cameras):
        etcdctl(endpoint, "put", f"bench/streams/cam-{i}",
                f"synthetic:?width=160&height=96&fps={args.fps:g}&objects=3&seed={i}")
    workers = {f"w{k + 1}": Worker(args, f"w{k + 1}", fleet, 0) for k in range(args.workers)}
    last = {}  # camera -> (worker, time of its last line)

    def pump():
        now = time.monotonic()
        seen = []
        for w in workers.values():
            for camera, wid in w.new_lines():
                last[camera] = (wid, now)
                seen.append((camera, wid))
        return seen

    # Settled: one snapshot of every worker's cameras in which each camera runs on exactly one
    # worker and every worker runs some, unchanged for 2 s (a hand-over under way shows as a
    # change: the old owner stops a camera before the new one starts it).
    stable = {"runs": None, "since": 0.0}

    def settled():
        runs = {w.id: frozenset(w.running()) for w in workers.values()}
        now = time.monotonic()
        if runs != stable["runs"]:
            stable["runs"], stable["since"] = runs, now
        owned = [c for cams in runs.values() for c in cams]
        once = len(owned) == len(set(owned)) == args.cameras and all(runs.values())
        return once and now - stable["since"] >= 2.0

    def wait_for(condition, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pump()
            if condition():
                return
            time.sleep(0.05)
        sys.exit(f"timed out waiting for {what}")

    wait_for(settled, 300, "every camera on one worker")
    wait_for(lambda: len(last) == args.cameras, 60, "every camera delivering")
    # Quiet: what a steady fleet costs etcd.
    before = {w.id: w.etcd_requests() for w in workers.values()}
    t0 = time.monotonic()
    while time.monotonic() - t0 < args.quiet:
        pump()
        time.sleep(0.05)
    quiet_rates = [(workers[i].etcd_requests() - before[i]) / (time.monotonic() - t0)
                   for i in before]

    failovers, lost_per_failover, rejoins = [], [], []
    unnamed_of_killed = 0
    kills_start = time.monotonic()
    for k in range(args.kills):
        victim = workers[f"w{k % args.workers + 1}"]
        orphans = victim.running()
        pump()
        t_kill = time.monotonic()
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        just_read = pump()
        last_old = {c: last[c][1] for c in orphans if c in last and last[c][0] == victim.id}
        first_new = {c: time.monotonic() for c, wid in just_read if c in orphans and wid != victim.id}
        end = t_kill + 60
        while len(first_new) < len(orphans) and time.monotonic() < end:
            for camera, wid in pump():
                if camera in orphans and wid != victim.id and camera not in first_new:
                    first_new[camera] = time.monotonic()
            time.sleep(0.05)
        if len(first_new) < len(orphans):
            sys.exit(f"kill {k + 1}: {len(orphans) - len(first_new)} camera(s) never resumed")
        failovers.append(max(first_new.values()) - t_kill)
        lost = sum(max(0, round((first_new[c] - last_old.get(c, t_kill)) * args.fps) - 1)
                   for c in orphans)
        lost_per_failover.append(lost)
        print(f"kill {k + 1}: {victim.id} with {len(orphans)} camera(s): resumed after "
              f"{failovers[-1]:.2f} s, {lost} frame(s) lost", flush=True)
        unnamed_of_killed += victim.unnamed
        back = Worker(args, victim.id, fleet, k + 1)
        workers[victim.id] = back
        # Its share: from its "joined" line (model loaded and warm) to its first result.
        t_joined = t_first = None
        end = time.monotonic() + 300
        while t_first is None and time.monotonic() < end:
            if t_joined is None and " joined " in open(back.log).read():
                t_joined = time.monotonic()
            for camera, wid in pump():
                if wid == back.id and t_joined is not None and t_first is None:
                    t_first = time.monotonic()
            time.sleep(0.05)
        if t_first is None:
            sys.exit(f"kill {k + 1}: {back.id} started again but got no camera")
        rejoins.append(t_first - t_joined)
        wait_for(settled, 300, f"{victim.id} back with a share")
    kills_seconds = time.monotonic() - kills_start

    for w in workers.values():
        w.proc.send_signal(signal.SIGTERM)
    for w in workers.values():
        w.proc.wait(timeout=60)
    etcd.send_signal(signal.SIGTERM)
    etcd.wait(timeout=30)

    def p50(v):
        return statistics.median(v)

    print(f"fleet: {args.workers} workers, {args.cameras} synthetic cameras at {args.fps:g} fps, "
          f"--fleet-ttl {args.ttl}, {args.kills} SIGKILLs over {kills_seconds:.0f} s")
    print(f"failover (kill -> last orphan camera's first line on a survivor): "
          f"p50 {p50(failovers):.2f} s, max {max(failovers):.2f} s "
          f"(bound TTL + 5 = {args.ttl + 5} s)")
    print(f"a restarted worker's share (its 'joined' line -> its first result): "
          f"p50 {p50(rejoins):.2f} s, max {max(rejoins):.2f} s (bound TTL + 5 = {args.ttl + 5} s)")
    print(f"frames lost per failover (all of the killed worker's cameras): "
          f"p50 {p50(lost_per_failover):g}, max {max(lost_per_failover)}")
    print(f"etcd requests per second per worker, steady ({args.quiet:.0f} s): "
          + ", ".join(f"{r:.2f}" for r in quiet_rates)
          + f" (mean {statistics.mean(quiet_rates):.2f})")
    unnamed = unnamed_of_killed + sum(w.unnamed for w in workers.values())
    print(f"JSONL lines without a camera name or worker id (not counted above): {unnamed}")


if __name__ == "__main__":
    main()
