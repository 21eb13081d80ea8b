"""Minimal safetensors reader/writer (F32, F16, BF16, plus F64/I64/I32 for completeness).

Format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length N, then N bytes
of JSON mapping each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the
byte after the header), an optional "__metadata__" map of strings, then the raw little-endian data.
Written by us so the reference side needs no `safetensors` package.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from typing import Dict, Mapping, Optional

import torch

DTYPE_BY_NAME: Dict[str, torch.dtype] = {
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
    "I64": torch.int64,
    "I32": torch.int32,
}
NAME_BY_DTYPE: Dict[torch.dtype, str] = {dtype: name for name, dtype in DTYPE_BY_NAME.items()}

HEADER_LENGTH_BYTES = 8
# Largest header we accept; the format caps it at 100 MB to stop a corrupt length from allocating wildly.
MAX_HEADER_BYTES = 100 * 1024 * 1024

if sys.byteorder != "little":
    raise RuntimeError("safetensors_io: tensors are stored little-endian; this host is big-endian")


def _element_size(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    """Read every tensor of a .safetensors file, each in its stored dtype."""
    tensors, _ = read_safetensors_with_metadata(path)
    return tensors


def read_safetensors_with_metadata(path: str) -> "tuple[Dict[str, torch.Tensor], Dict[str, str]]":
    with open(path, "rb") as handle:
        blob = handle.read()
    if len(blob) < HEADER_LENGTH_BYTES:
        raise ValueError(f"read_safetensors: {path}: file is {len(blob)} bytes, shorter than the header length")
    (header_length,) = struct.unpack("<Q", blob[:HEADER_LENGTH_BYTES])
    if header_length > MAX_HEADER_BYTES or HEADER_LENGTH_BYTES + header_length > len(blob):
        raise ValueError(f"read_safetensors: {path}: header length {header_length} exceeds the file size {len(blob)}")
    header = json.loads(blob[HEADER_LENGTH_BYTES : HEADER_LENGTH_BYTES + header_length].decode("utf-8"))
    data = memoryview(blob)[HEADER_LENGTH_BYTES + header_length :]
    metadata = header.pop("__metadata__", None) or {}

    tensors: Dict[str, torch.Tensor] = {}
    for name, entry in header.items():
        dtype_name = entry.get("dtype")
        if dtype_name not in DTYPE_BY_NAME:
            raise ValueError(f"read_safetensors: {path}: tensor {name!r} has unsupported dtype {dtype_name!r}")
        dtype = DTYPE_BY_NAME[dtype_name]
        shape = [int(size) for size in entry["shape"]]
        begin, end = (int(offset) for offset in entry["data_offsets"])
        element_count = 1
        for size in shape:
            element_count *= size
        expected_bytes = element_count * _element_size(dtype)
        if end - begin != expected_bytes or begin < 0 or end > len(data):
            raise ValueError(
                f"read_safetensors: {path}: tensor {name!r} data_offsets [{begin}, {end}] do not hold "
                f"{dtype_name}{shape} ({expected_bytes} bytes) inside {len(data)} data bytes"
            )
        if element_count == 0:
            tensors[name] = torch.empty(shape, dtype=dtype)
            continue
        # bytearray() copies, so each tensor owns writable memory (torch.frombuffer warns on read-only buffers).
        flat = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype)
        tensors[name] = flat.reshape(shape)
    return tensors, dict(metadata)


def write_safetensors(
    path: str, tensors: Mapping[str, torch.Tensor], metadata: Optional[Mapping[str, str]] = None
) -> None:
    """Write tensors atomically (temp file, then rename). Wider dtypes first, then by name, as the reference
    implementation orders them: every tensor then starts at a multiple of its element size, so readers
    can view the bytes as typed arrays without copying."""
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(key): str(value) for key, value in metadata.items()}
    chunks = []
    offset = 0
    for name in sorted(tensors, key=lambda key: (-tensors[key].element_size(), key)):
        tensor = tensors[name].detach().cpu().contiguous()
        if tensor.dtype not in NAME_BY_DTYPE:
            raise ValueError(f"write_safetensors: {path}: tensor {name!r} has unsupported dtype {tensor.dtype}")
        raw = _tensor_bytes(tensor)
        header[name] = {
            "dtype": NAME_BY_DTYPE[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad with spaces so the data starts 8-byte aligned, as the reference implementation does.
    header_bytes += b" " * ((-len(header_bytes)) % 8)
    temporary_path = f"{path}.tmp-{os.getpid()}"
    with open(temporary_path, "wb") as handle:
        handle.write(struct.pack("<Q", len(header_bytes)))
        handle.write(header_bytes)
        for chunk in chunks:
            handle.write(chunk)
    os.replace(temporary_path, path)


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    if tensor.numel() == 0:
        return b""
    if tensor.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the 16-bit patterns as int16, which numpy can export.
        return tensor.view(torch.int16).numpy().tobytes()
    return tensor.numpy().tobytes()
