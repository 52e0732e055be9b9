"""A reader for the safetensors format, in NumPy, with no other dependency.

A file is an 8-byte little-endian header length ``n``, ``n`` bytes of JSON
mapping tensor names to ``{"dtype", "shape", "data_offsets": [begin, end]}``
(offsets relative to the end of the header; an optional ``__metadata__`` key
holds strings), then the raw little-endian tensor bytes. The tensors returned
are read-only views over one memory map of the file: loading is cheap and the
pages are shared between processes.
"""

from __future__ import annotations

import json
import mmap
import struct
from pathlib import Path

import numpy as np

_DTYPES: dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}

_MAX_HEADER = 100 * 1024 * 1024


class SafetensorsError(ValueError):
    """The file is not a valid safetensors file; the message names the file and the problem."""


def parse_header(raw: bytes | memoryview, *, source: str = "<bytes>") -> tuple[dict[str, dict], int]:
    """Return ``(tensor entries without __metadata__, offset of the data section)``."""
    if len(raw) < 8:
        raise SafetensorsError(f"{source}: too short for a safetensors header")
    (n,) = struct.unpack("<Q", bytes(raw[:8]))
    if n > _MAX_HEADER or 8 + n > len(raw):
        raise SafetensorsError(f"{source}: header length {n} does not fit in the file ({len(raw)} bytes)")
    try:
        header = json.loads(bytes(raw[8 : 8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"{source}: header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{source}: header is not a JSON object")
    header.pop("__metadata__", None)
    return header, 8 + n


def load_bytes(raw: bytes | memoryview | mmap.mmap, *, source: str = "<bytes>") -> dict[str, np.ndarray]:
    """Parse a whole safetensors buffer into named arrays (views, not copies)."""
    view = memoryview(raw)  # type: ignore[arg-type]
    header, start = parse_header(view, source=source)
    size = len(view) - start
    out: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        try:
            dtype = np.dtype(_DTYPES[entry["dtype"]])
            shape = tuple(int(d) for d in entry["shape"])
            begin, end = (int(o) for o in entry["data_offsets"])
        except KeyError as e:
            raise SafetensorsError(f"{source}: tensor {name!r}: missing or unsupported {e}") from None
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not 0 <= begin <= end <= size or end - begin != count * dtype.itemsize:
            raise SafetensorsError(
                f"{source}: tensor {name!r}: offsets [{begin}, {end}] do not match "
                f"shape {list(shape)} of {entry['dtype']} within {size} data bytes"
            )
        arr = np.frombuffer(view, dtype=dtype, count=count, offset=start + begin)
        out[name] = arr.reshape(shape)
    return out


def load_file(path: Path) -> dict[str, np.ndarray]:
    """Memory-map ``path`` and return its tensors."""
    with path.open("rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    return load_bytes(mm, source=str(path))
