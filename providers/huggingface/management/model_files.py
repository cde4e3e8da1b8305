"""Reading a model's metadata without trusting its files: every read is of a regular file (a FIFO or a
device is refused, never opened for a blocking read), of a bounded size, and JSON of bounded depth; a
safetensors header is checked against its own file (length, dtypes, shapes, offsets) before any number in
it is used; a GGUF file's metadata is walked with every count and length checked against the file's size;
a folder's links must stay under the allowed model folders. Each refusal is a ``BadModelFile`` naming the
file and what is wrong."""

from __future__ import annotations

import json
import os
import stat
import struct
from pathlib import Path
from typing import Any

from llmaas._json import is_array, is_object

MAX_JSON_BYTES = 8 * 2**20  # config.json and friends are kilobytes; a tokenizer.json is a few MB
MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit on a header
MAX_FOLDER_ENTRIES = 10_000
MAX_ELEMENTS = 2**40  # a tensor of more elements is not a model this machine serves
MAX_GGUF_KV = 65_536
MAX_GGUF_ARRAY = 2**20  # items in one metadata array (vocabularies are at most a few hundred thousand)
MAX_GGUF_STRING = 2**20
# real GGUF files hold about one metadata item (a token, a merge) per kilobyte of weights; a file that is
# mostly metadata is crafted, and parsing it is what is slow
BYTES_PER_GGUF_ITEM = 64
MIN_GGUF_ITEMS = 100_000
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8,
               "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


class BadModelFile(ValueError):
    """A model file that cannot be used, and why; ``code`` says whether it is no model at all or an unsafe one."""

    def __init__(self, message: str, code: str = "invalid_model_file") -> None:
        super().__init__(message)
        self.code = code


def open_regular(path: Path) -> int:
    """A read descriptor of ``path`` if it is a regular file (opened without blocking, so a FIFO is refused
    rather than waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise BadModelFile(f"{path} cannot be opened: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BadModelFile(f"{path} is not a regular file")
    os.set_blocking(fd, True)
    return fd


def read_regular(path: Path, limit: int) -> bytes:
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise BadModelFile(f"{path} is {size} bytes, more than the {limit} such a file may have")
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(limit + 1)[:limit]
    finally:
        os.close(fd)


def parse_json(data: bytes, where: object) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise BadModelFile(f"{where} is JSON nested too deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadModelFile(f"{where} is not valid JSON: {exc}", "not_a_model") from None


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    return parse_json(read_regular(path, limit), path)


def safetensors_header(path: Path) -> dict[str, Any]:
    """The tensors a safetensors file declares (name -> dtype, shape, offsets), each checked against the
    file: the header's length, every dtype known, every shape a list of sizes, offsets inside the data and
    as long as the shape and dtype say."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        with os.fdopen(os.dup(fd), "rb") as f:
            raw = f.read(8)
            if len(raw) < 8:
                raise BadModelFile(f"{path} is too short to be a safetensors file")
            (length,) = struct.unpack("<Q", raw)
            if length < 2 or length > min(MAX_HEADER_BYTES, size - 8):
                raise BadModelFile(f"{path} declares a header of {length} bytes, which the file "
                                   f"({size} bytes) cannot hold")
            header = parse_json(f.read(length), path)
    finally:
        os.close(fd)
    if not is_object(header):
        raise BadModelFile(f"{path}'s header is not a JSON object")
    data_bytes = size - 8 - length
    for name, info in header.items():
        if name == "__metadata__":
            continue
        _check_tensor(path, name, info, data_bytes)
    return header


def _check_tensor(path: Path, name: str, info: Any, data_bytes: int) -> None:
    bad = f"{path}: tensor {name[:80]!r}"
    if not is_object(info):
        raise BadModelFile(f"{bad} is not described by an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        raise BadModelFile(f"{bad} has an unknown dtype {str(dtype)[:20]!r}")
    if not is_array(shape) or len(shape) > 8 or not all(_size_like(d) for d in shape):
        raise BadModelFile(f"{bad} has a shape that is not a list of at most 8 sizes")
    elements = 1
    for dim in shape:
        elements *= int(dim)
        if elements > MAX_ELEMENTS:
            raise BadModelFile(f"{bad} has a shape of more than {MAX_ELEMENTS} elements")
    if not is_array(offsets) or len(offsets) != 2 or not all(_size_like(o) for o in offsets):
        raise BadModelFile(f"{bad} has no valid data_offsets")
    start, end = int(offsets[0]), int(offsets[1])
    if not start <= end <= data_bytes or end - start != elements * DTYPE_BYTES[str(dtype)]:
        raise BadModelFile(f"{bad}: its data_offsets do not match its shape and dtype inside the file")


def _size_like(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parameter_count(folder: Path) -> int | None:
    """The parameter count from the (checked) safetensors headers, weights unread."""
    total, found = 0, False
    for file in sorted(folder.glob("*.safetensors")):
        for name, info in safetensors_header(file).items():
            if name != "__metadata__":
                count = 1
                for dim in info["shape"]:
                    count *= int(dim)
                total += count
                found = True
    return total if found else None


def check_tree(folder: Path, roots: list[Path] | None) -> None:
    """Every entry under ``folder`` is a folder or a regular file, and every link in it resolves under one
    of ``roots`` (None: anywhere, as in process)."""
    count = 0
    for here, dirs, files in os.walk(folder, followlinks=False):
        for name in [*dirs, *files]:
            count += 1
            if count > MAX_FOLDER_ENTRIES:
                raise BadModelFile(f"{folder} holds more than {MAX_FOLDER_ENTRIES} files")
            entry = Path(here) / name
            mode = entry.lstat().st_mode
            if stat.S_ISLNK(mode):
                _check_link(entry, roots)
                mode = entry.stat().st_mode if entry.exists() else mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                raise BadModelFile(f"{entry} is not a regular file or a folder")


def _check_link(entry: Path, roots: list[Path] | None) -> None:
    try:
        real = entry.resolve(strict=True)
    except (OSError, RuntimeError):
        raise BadModelFile(f"{entry} is a link that leads nowhere") from None
    if roots is not None and not any(real == r or real.is_relative_to(r) for r in roots):
        raise BadModelFile(f"{entry} is a link to {real}, outside the allowed model folders")
    if real.is_dir():
        raise BadModelFile(f"{entry} is a link to a folder; model folders may link files only")


WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.gguf", "*.pt", "*.pth")


def weights_sha256(path: Path) -> str:
    """The hash of a model's weights: a GGUF file's bytes, or a folder's weight files (names and bytes, in
    name order)."""
    import hashlib

    digest = hashlib.sha256()
    files = [path] if not path.is_dir() else sorted({f for p in WEIGHT_PATTERNS for f in path.glob(p)})
    for file in files:
        digest.update(file.name.encode() + b"\0")
        fd = open_regular(file)
        with os.fdopen(fd, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


# -- GGUF ------------------------------------------------------------------------------------------------

_GGUF_SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # type -> bytes
_GGUF_STRING, _GGUF_ARRAY = 8, 9


class _Cursor:
    def __init__(self, f: Any, size: int, path: Path) -> None:
        self.f, self.size, self.path = f, size, path

    def take(self, n: int) -> bytes:
        if n < 0 or self.f.tell() + n > self.size:
            raise BadModelFile(f"{self.path} is truncated or declares more data than it holds", "not_a_model")
        return self.f.read(n)

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def string(self) -> bytes:
        length = self.u64()
        if length > MAX_GGUF_STRING:
            raise BadModelFile(f"{self.path} holds a string of {length} bytes")
        return self.take(length)

    def skip(self, kind: int, count: int = 1) -> None:
        if kind in _GGUF_SCALARS:
            self.take(_GGUF_SCALARS[kind] * count)
        elif kind == _GGUF_STRING:
            for _ in range(count):
                self.string()
        else:
            raise BadModelFile(f"{self.path} holds a value of unknown type {kind}")


def gguf_architecture(path: Path) -> str:
    """``general.architecture`` of a GGUF file, after walking all its metadata with every count and length
    bounded by the file (a crafted file is refused in time linear in its size, never parsed for minutes)."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        with os.fdopen(os.dup(fd), "rb") as f:
            cur = _Cursor(f, size, path)
            if cur.take(4) != b"GGUF":
                raise BadModelFile(f"{path} is not a GGUF file (its first bytes are not 'GGUF')", "not_a_model")
            version = cur.u32()
            if version not in (2, 3):
                raise BadModelFile(f"{path} is GGUF version {version}; versions 2 and 3 are read")
            tensors, kvs = cur.u64(), cur.u64()
            if kvs > MAX_GGUF_KV or tensors > size // 24:
                raise BadModelFile(f"{path} declares {kvs} metadata entries and {tensors} tensors, more than "
                                   "it can hold")
            arch: str | None = None
            items_left = max(MIN_GGUF_ITEMS, size // BYTES_PER_GGUF_ITEM)
            for _ in range(kvs):
                key = cur.string()
                kind = cur.u32()
                if kind == _GGUF_ARRAY:
                    item, count = cur.u32(), cur.u64()
                    items_left -= count
                    if count > MAX_GGUF_ARRAY or items_left < 0:
                        raise BadModelFile(f"{path}: metadata {key[:60]!r} is an array of {count} items, more "
                                           f"than a model file of {size} bytes holds")
                    cur.skip(item, count)
                elif key == b"general.architecture" and kind == _GGUF_STRING:
                    arch = cur.string().decode("utf-8", "replace")
                else:
                    cur.skip(kind)
    finally:
        os.close(fd)
    if arch is None:
        raise BadModelFile(f"{path} names no general.architecture")
    return arch
