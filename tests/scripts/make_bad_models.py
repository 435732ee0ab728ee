"""TorchScript detectors that are broken in the ways a user's export can be, for the bad-input
suite (tests/integration/bad_input_suite_test.cpp). Each takes [B, 3, H, W] and returns
[B or 1, 4 + nc, 2100] (nc = 4, the anchors of a 320 input):

  fixed_batch.pt   traced at batch 1 with a fixed view: always [1, 8, 2100]
  nan.pt           every output value NaN (weights gone bad)
  inf_box.pt       finite scores, infinite box sizes
  no_sigmoid.pt    class scores of 1e9 (a head exported without its sigmoid)
  raises.pt        fails inside the TorchScript interpreter for batches of more than one frame

usage: make_bad_models.py OUT_DIR
"""
import sys

import torch

ANCHORS = 2100


class FixedBatch(torch.nn.Module):
    def forward(self, x):
        base = torch.sigmoid(torch.arange(8 * ANCHORS, dtype=torch.float32) * 0.001)
        # The batch's mean, viewed as one value: tracing bakes the batch size 1 into the graph.
        return (base + x.mean() * 0).view(1, 8, ANCHORS)


class Nan(torch.nn.Module):
    def forward(self, x):
        return torch.full((x.shape[0], 8, 2100), float("nan")) + x.mean() * 0


class InfBox(torch.nn.Module):
    def forward(self, x):
        out = torch.zeros(x.shape[0], 8, 2100)
        out[:, 0:2] = 100.0
        out[:, 2:4] = float("inf")
        out[:, 4] = 0.9
        return out + x.mean() * 0


class NoSigmoid(torch.nn.Module):
    def forward(self, x):
        out = torch.zeros(x.shape[0], 8, 2100)
        out[:, 0:2] = 100.0
        out[:, 2:4] = 20.0
        out[:, 4:] = 1e9
        return out + x.mean() * 0


class Raises(torch.nn.Module):
    def forward(self, x):
        if x.shape[0] > 1:
            return x.view(7, 13)
        return torch.zeros(x.shape[0], 8, 2100) + x.mean() * 0


def main():
    out = sys.argv[1]
    torch.jit.save(torch.jit.trace(FixedBatch(), torch.zeros(1, 3, 320, 320)), f"{out}/fixed_batch.pt")
    for name, module in [("nan", Nan()), ("inf_box", InfBox()), ("no_sigmoid", NoSigmoid()),
                         ("raises", Raises())]:
        torch.jit.save(torch.jit.script(module), f"{out}/{name}.pt")


if __name__ == "__main__":
    main()
