#!/usr/bin/env python3
"""Reads a weights file with PyTorch's own torch.load and prints what it holds, one tensor a line:

    name<TAB>shape (e.g. 16x3x3x3)<TAB>dtype<TAB>sum as float64

The engine tests compare these lines with the C++ module that wrote the file: a file that
torch.load cannot read, or that is not a plain dict of tensors, exits with status 1.

Usage: read_weights_file.py FILE
"""
import sys

import torch


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    state = torch.load(sys.argv[1], map_location="cpu")
    if not isinstance(state, dict):
        print(f"torch.load returned a {type(state).__name__}, not a dict", file=sys.stderr)
        return 1
    for name, tensor in state.items():
        if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
            print(f"entry {name!r} is not a named tensor", file=sys.stderr)
            return 1
        shape = "x".join(str(d) for d in tensor.shape)
        dtype = str(tensor.dtype).replace("torch.", "")
        total = tensor.to(torch.float64).sum().item()
        print(f"{name}\t{shape}\t{dtype}\t{total!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
