#!/usr/bin/python3
"""safetensors fixtures for tests/test_safetensors.c, both ways between PyTorch and libbnmlp.

Run with Debian's interpreter, which has python3-torch and python3-numpy (no safetensors package:
the format is an 8-byte little-endian header length, a JSON header, then the raw data):

    /usr/bin/python3 tools/gen_safetensors_fixtures.py
        writes tests/fixtures/safetensors/torch_model.safetensors (a PyTorch nn.Sequential with
        non-trivial running statistics, saved as safetensors without libbnmlp metadata) and
        tests/fixtures/safetensors/torch_reference.h (the architecture as libbnmlp's layer text,
        16 inputs and PyTorch's eval() outputs for them)

    /usr/bin/python3 tools/gen_safetensors_fixtures.py --check tests/fixtures/safetensors/libbnmlp_model.safetensors
        loads a file libbnmlp exported into the nn.Sequential that its "bnmlp.pytorch" metadata
        spells, with load_state_dict(strict=True) (it raises on any missing or unexpected key or
        shape), and writes tests/fixtures/safetensors/libbnmlp_check.h: 16 inputs and PyTorch's
        eval() outputs, which the C test compares with the library's predictions of the same file.

The outputs are deterministic (fixed seeds, no timestamps); they are committed, so building and
testing never need Python.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "safetensors")

DTYPES = {torch.float32: "F32", torch.int64: "I64"}
NUMPY = {"F32": "<f4", "I64": "<i8"}


class Normalization(nn.Module):
    """libbnmlp's (Keras's) Normalization: (x - mean) / max(sqrt(variance), 1e-7) per feature,
    the module docs/deploy.md shows for files with a normalization layer."""

    def __init__(self, features):
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("variance", torch.ones(features))

    def forward(self, x):
        return (x - self.mean) / torch.clamp(torch.sqrt(self.variance), min=1e-7)


def save_safetensors(path, tensors, metadata=None):
    """Writes tensors (name -> tensor) as safetensors: ordered by element size (largest first),
    then name, as the safetensors package orders them; header padded with spaces to 8 bytes."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, t in sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0])):
        data = t.detach().contiguous().numpy().astype(NUMPY[DTYPES[t.dtype]]).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode("utf-8")  # default separators: blanks the reader must take
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_safetensors(path):
    """(metadata, name -> tensor) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=NUMPY[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return metadata, tensors


def c_floats(name, values):
    values = np.asarray(values, dtype=np.float32).ravel()
    body = ",\n".join("    " + ", ".join(f"{float(v)!r}f" for v in values[i:i + 6])
                      for i in range(0, len(values), 6))
    return f"static const float {name}[{len(values)}] = {{\n{body}\n}};\n"


def torch_fixture():
    torch.manual_seed(18)
    model = nn.Sequential(
        nn.Linear(5, 8),                        # 0
        nn.BatchNorm1d(8, eps=1e-3),            # 1: Keras's epsilon, PyTorch's momentum 0.1
        nn.ReLU(),                              # 2
        nn.Dropout(0.2),                        # 3
        nn.Linear(8, 6),                        # 4
        nn.Tanh(),                              # 5
        nn.BatchNorm1d(6),                      # 6: PyTorch's defaults (eps 1e-5)
        nn.Linear(6, 3),                        # 7
        nn.Softmax(dim=1),                      # 8
    )
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.BatchNorm1d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    model.train()
    with torch.no_grad():
        for _ in range(7):  # running statistics far from their start (num_batches_tracked 7)
            model(torch.randn(32, 5) * 2.0 + 0.5)
    model.eval()
    x = (torch.randn(16, 5) * 2.0 + 0.5).float()
    with torch.no_grad():
        y = model(x)
    save_safetensors(os.path.join(HERE, "torch_model.safetensors"), model.state_dict(), {"format": "pt"})
    # libbnmlp's text of the same architecture: momentum is Keras's (1 - PyTorch's), the moving
    # variance PyTorch's unbiased estimator (it only matters for training on).
    layers = ";".join([
        "dense width=8",
        "batch_normalization width=8 epsilon=0.001 momentum=0.9 moving_variance_estimator=1",
        "activation width=8 activation=1",
        "dropout width=8 rate=0.2",
        "dense width=6",
        "activation width=6 activation=4",
        "batch_normalization width=6 epsilon=1e-05 momentum=0.9 moving_variance_estimator=1",
        "dense width=3",
        "activation width=3 activation=5",
    ])
    with open(os.path.join(HERE, "torch_reference.h"), "w") as f:
        f.write("/* Made by tools/gen_safetensors_fixtures.py (PyTorch %s): do not edit. */\n" % torch.__version__)
        f.write("#define TORCH_INPUTS 5\n#define TORCH_OUTPUTS 3\n#define TORCH_ROWS 16\n")
        f.write("#define TORCH_STEPS 7 /* num_batches_tracked of both BatchNorm1d */\n")
        f.write('static const char TORCH_LAYERS[] = "%s";\n' % layers)
        f.write(c_floats("TORCH_X", x.numpy()))
        f.write(c_floats("TORCH_Y", y.numpy()))


def check(path):
    metadata, tensors = load_safetensors(path)
    model = eval(metadata["bnmlp.pytorch"], {"nn": nn, "Normalization": Normalization})
    model.load_state_dict(tensors, strict=True)
    model.eval()
    width = int(metadata["bnmlp.input_width"])
    rng = np.random.RandomState(7)
    x = torch.from_numpy(rng.normal(0.0, 2.0, size=(16, width)).astype(np.float32))
    with torch.no_grad():
        y = model(x)
    with open(os.path.join(HERE, "libbnmlp_check.h"), "w") as f:
        f.write("/* Made by tools/gen_safetensors_fixtures.py --check (PyTorch %s): %s loaded with\n"
                " * load_state_dict(strict=True) into %s. Do not edit. */\n"
                % (torch.__version__, os.path.basename(path), metadata["bnmlp.pytorch"]))
        f.write("#define CHECK_INPUTS %d\n#define CHECK_OUTPUTS %d\n#define CHECK_ROWS 16\n" % (width, y.shape[1]))
        f.write(c_floats("CHECK_X", x.numpy()))
        f.write(c_floats("CHECK_Y", y.numpy()))
    print("strict load OK:", metadata["bnmlp.pytorch"])


def main():
    os.makedirs(HERE, exist_ok=True)
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    elif len(sys.argv) == 1:
        torch_fixture()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
