#!/usr/bin/env python3
# PyTorch's own int8 workflow (FX post-training quantization, Debian's python3-torch 1.13, the
# "onednn" quantized engine: this build has no fbgemm) on the YOLOv8n of
# tests/scripts/make_yolov8_torchscript.py, backbone, neck and head convolutions (no box decode),
# batch 4, 2 threads: fp32 frozen against int8 frozen, then where the int8 forward's time goes
# (autograd profiler). The reference that `--precision int8` was built against (README); a
# benchmark peer only, never part of the product.
#   /usr/bin/python3 bench/peers/int8_fx_profile.py onednn 640
import sys, time, copy
sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "../../tests/scripts"))
import torch, torch.nn as nn
import make_yolov8_torchscript as mk
from make_yolov8_torchscript import DetectionModel, random_rectangles
def c2f_forward(self, x):
    t = self.cv1(x)
    y = [t[:, :self.c], t[:, self.c:]]
    for m in self.m:
        y.append(m(y[-1]))
    return self.cv2(torch.cat(y, 1))
mk.C2f.forward = c2f_forward
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import prepare_fx, convert_fx

torch.set_num_threads(2)
engine = sys.argv[1] if len(sys.argv) > 1 else "onednn"
imgsz = int(sys.argv[2]) if len(sys.argv) > 2 else 640
B = 4

class Raw(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.model = m.model
    def forward(self, x):
        L = self.model
        x0 = L[0](x); x1 = L[1](x0); x2 = L[2](x1); x3 = L[3](x2); x4 = L[4](x3)
        x5 = L[5](x4); x6 = L[6](x5); x7 = L[7](x6); x8 = L[8](x7); x9 = L[9](x8)
        x12 = L[12](torch.cat([L[10](x9), x6], 1))
        x15 = L[15](torch.cat([L[13](x12), x4], 1))
        x18 = L[18](torch.cat([L[16](x15), x12], 1))
        x21 = L[21](torch.cat([L[19](x18), x9], 1))
        h = L[22]
        return [torch.cat((h.cv2[i](f), h.cv3[i](f)), 1) for i, f in enumerate([x15, x18, x21])]

m = DetectionModel("n", 80).eval()
raw = Raw(m).eval()
g = torch.Generator().manual_seed(0)
x = random_rectangles(B, imgsz, g)

def bench(f, x, n=8):
    with torch.inference_mode():
        for _ in range(2): f(x)
        ts = []
        for _ in range(n):
            t = time.perf_counter(); f(x); ts.append(time.perf_counter() - t)
    ts.sort(); return ts[len(ts)//2] * 1000

with torch.no_grad():
    fp = torch.jit.freeze(torch.jit.trace(raw, x).eval())
print("fp32 frozen", bench(fp, x))
torch.backends.quantized.engine = engine
qm = prepare_fx(copy.deepcopy(raw), get_default_qconfig_mapping(engine), (x,))
with torch.no_grad():
    for _ in range(4): qm(random_rectangles(B, imgsz, g))
qc = convert_fx(qm)
with torch.no_grad():
    qs = torch.jit.freeze(torch.jit.trace(qc, x).eval())
print(engine, "int8 frozen", bench(qs, x))
print("fp32 frozen again", bench(fp, x))
with torch.no_grad():
    a = fp(x); b = qs(x)
print("max abs diff", max(float((p - q).abs().max()) for p, q in zip(a, b)), "ref scale", float(a[0].abs().max()))
with torch.inference_mode(), torch.autograd.profiler.profile() as prof:
    qs(x)
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
with torch.inference_mode(), torch.autograd.profiler.profile() as prof:
    fp(x)
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))
