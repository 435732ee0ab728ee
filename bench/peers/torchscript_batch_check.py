#!/usr/bin/env python3
# Per-frame forward of the peer TorchScript yolov8n (bench-out/peer/, written by
# python_worker_vs_engine.sh) at batch 1 and 4, as loaded and frozen + optimize_for_inference.
import time, torch
torch.set_num_threads(2)
def bench(m, b, ctx, n=8):
    x = torch.rand(b,3,640,640)
    with ctx():
        for _ in range(3): m(x)
        ts=[]
        for _ in range(n):
            a=time.perf_counter(); m(x); ts.append(time.perf_counter()-a)
    ts.sort(); return ts[len(ts)//2]*1000/b
m = torch.jit.load("bench-out/peer/yolov8n_640.torchscript").eval()
print("plain inference_mode b1", bench(m,1,torch.inference_mode))
print("plain no_grad b1", bench(m,1,torch.no_grad))
print("plain no_grad b4", bench(m,4,torch.no_grad))
f = torch.jit.optimize_for_inference(torch.jit.freeze(m))
print("frozen+opt no_grad b1", bench(f,1,torch.no_grad))
print("frozen+opt no_grad b4", bench(f,4,torch.no_grad))
