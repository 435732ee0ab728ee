#!/usr/bin/env python3
# The Python worker loop on 40 frames of the peer clip with the model as loaded, frozen, and
# frozen + optimize_for_inference: the per-frame forward time inside the loop and the FPS.
import sys, time, torch, cv2
sys.path.insert(0, "bench/peers")
import python_worker as pw
torch.set_num_threads(2)
base = torch.jit.load("bench-out/peer/yolov8n_640.torchscript").eval()
variants = {"plain": base, "freeze": torch.jit.freeze(base), "freeze+opt": torch.jit.optimize_for_inference(torch.jit.freeze(base))}
for name, m in variants.items():
    cap = cv2.VideoCapture("bench-out/peer/synthetic_1280x720_30fps_300.mp4")
    with torch.no_grad():
        for _ in range(3): m(torch.zeros(1,3,640,640))
        tm=0; a0=time.perf_counter()
        for i in range(40):
            ok, f = cap.read(); x, s, l, tp = pw.letterbox(f, 640)
            c=time.perf_counter(); o = m(x); tm+=time.perf_counter()-c
            pw.postprocess(o, 0.25, 0.45, 300)
        print(name, "model ms", round(tm/40*1000,1), "fps", round(40/(time.perf_counter()-a0),2))
