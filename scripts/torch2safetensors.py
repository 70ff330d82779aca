#!/usr/bin/env python3
"""Convert a PyTorch AlexNet state_dict (.pth/.pt, e.g. torchvision.models.alexnet) to a safetensors
file that `alexnet-wgsl --arch torchvision --init FILE` (or eval/predict --arch torchvision) loads.
Names and layouts are kept as PyTorch has them (OIHW conv weights, [out, in] linear weights).

  python3 scripts/torch2safetensors.py alexnet.pth alexnet.safetensors
Needs only torch (no safetensors package): the format is written by hand."""
import json, struct, sys
import torch


def save_safetensors(state, path):
    header, blobs, offset = {}, [], 0
    for name in sorted(state):
        t = state[name].detach().to(torch.float32).contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    state = torch.load(sys.argv[1], map_location="cpu")
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    save_safetensors({k: v for k, v in state.items() if torch.is_tensor(v)}, sys.argv[2])
