"""Writes test/fixtures/parquet/chat.<codec>.parquet: one small chat table, once per codec.

Every file holds the same four rows (an INT64 id, a list of {role, content} messages, an optional
source with one null; text in several scripts), so a reader must decode each to the same rows. No
Parquet writer is packaged for Debian, so the container is written here after the Parquet format
spec (apache/parquet-format, parquet.thrift: Thrift compact protocol, data page v1, PLAIN values,
levels in the RLE/bit-packed hybrid); the page data is compressed by the reference libraries
Debian ships (zlib, Brotli, LZ4, Zstandard, Snappy), as real writers do. LZ4 is the Hadoop framing
Arrow and parquet-mr write: per block, its uncompressed then compressed size (big-endian u32),
then the raw LZ4 block. Deterministic: rerunning rewrites byte-identical files.

    apt-get install -y python3-zstandard python3-brotli python3-lz4 python3-snappy
    /usr/bin/python3 reference/make_parquet_codecs.py      # from the repository root
"""

import gzip
import struct
import sys
from pathlib import Path

import brotli
import lz4.block
import snappy
import zstandard

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "parquet"

SYSTEM = ("system", "You are a helpful assistant. Answer briefly.")


def row(row_id, source, *turns):
    return {
        "id": row_id,
        "messages": [{"role": role, "content": content} for role, content in turns],
        "source": source,
    }


ROWS = [
    row(
        1,
        "de-chat",
        SYSTEM,
        ("user", "Grüße aus Zürich! Wie spät ist es?"),
        ("assistant", "Guten Tag! Ich habe keine Uhr, leider."),
    ),
    row(2, None, SYSTEM, ("user", "日本語で答えてください。"), ("assistant", "はい、日本語で答えます。")),
    row(
        3,
        "multilingual",
        ("user", "Say hello 👋 in three languages."),
        ("assistant", "Hello 👋, bonjour, привет."),
    ),
    row(4, "math", SYSTEM, ("user", "What is 2 + 2?"), ("assistant", "4.")),
]

# parquet.thrift enums.
INT64, BYTE_ARRAY = 2, 6
REQUIRED, OPTIONAL, REPEATED = 0, 1, 2
UTF8, LIST = 0, 3
PLAIN, RLE = 0, 3
DATA_PAGE = 0


def lz4_hadoop(data):
    block = lz4.block.compress(data, store_size=False)
    return struct.pack(">II", len(data), len(block)) + block


# Codec name, its parquet.thrift number, and how pages are compressed.
CODECS = [
    ("uncompressed", 0, lambda data: data),
    ("snappy", 1, snappy.compress),
    ("gzip", 2, lambda data: gzip.compress(data, mtime=0)),
    ("brotli", 4, brotli.compress),
    ("lz4", 5, lz4_hadoop),
    ("zstd", 6, lambda data: zstandard.ZstdCompressor(level=3).compress(data)),
    ("lz4_raw", 7, lambda data: lz4.block.compress(data, store_size=False)),
]


class Compact:
    """Thrift compact protocol, just the types the file metadata uses."""

    I32, I64, BINARY, LIST_TYPE, STRUCT = 5, 6, 8, 9, 12

    def __init__(self):
        self.out = bytearray()
        self.last = [0]

    def varint(self, value):
        while value >= 0x80:
            self.out.append((value & 0x7F) | 0x80)
            value >>= 7
        self.out.append(value)

    def zigzag(self, value):
        self.varint((value << 1) ^ (value >> 63))

    def field(self, field_id, kind):
        delta = field_id - self.last[-1]
        if 0 < delta <= 15:
            self.out.append((delta << 4) | kind)
        else:
            self.out.append(kind)
            self.zigzag(field_id)
        self.last[-1] = field_id

    def i32(self, field_id, value):
        self.field(field_id, self.I32)
        self.zigzag(value)
        return self

    def i64(self, field_id, value):
        self.field(field_id, self.I64)
        self.zigzag(value)
        return self

    def string(self, field_id, value):
        self.field(field_id, self.BINARY)
        self.binary(value)
        return self

    def binary(self, value):
        data = value.encode("utf-8")
        self.varint(len(data))
        self.out += data

    def struct(self, field_id, body):
        self.field(field_id, self.STRUCT)
        self.struct_body(body)
        return self

    def struct_body(self, body):
        self.last.append(0)
        body(self)
        self.out.append(0)
        self.last.pop()

    def list(self, field_id, kind, items, write):
        self.field(field_id, self.LIST_TYPE)
        if len(items) < 15:
            self.out.append((len(items) << 4) | kind)
        else:
            self.out.append(0xF0 | kind)
            self.varint(len(items))
        for item in items:
            if kind == self.STRUCT:
                self.struct_body(lambda w: write(w, item))
            else:
                write(self, item)
        return self

    def done(self):
        return bytes(self.out) + b"\x00"


def bit_packed_levels(levels):
    """Levels of bit width 1 as one bit-packed run, with the 4-byte length a v1 data page gives them."""
    groups = (len(levels) + 7) // 8
    packed = bytearray(groups)
    for i, level in enumerate(levels):
        packed[i // 8] |= level << (i % 8)
    run = bytes([(groups << 1) | 1]) + bytes(packed)
    return struct.pack("<I", len(run)) + run


def plain(values):
    out = bytearray()
    for value in values:
        if isinstance(value, int):
            out += struct.pack("<q", value)
        else:
            data = value.encode("utf-8")
            out += struct.pack("<I", len(data)) + data
    return bytes(out)


def leaf_columns():
    """Each leaf column: its path, type, and the page body (levels, then PLAIN values) and level count."""
    message_levels = [
        0 if i == 0 else 1 for row in ROWS for i, _ in enumerate(row["messages"])
    ]
    messages = [message for row in ROWS for message in row["messages"]]

    def nested(field):
        body = (
            bit_packed_levels(message_levels)
            + bit_packed_levels([1] * len(messages))
            + plain([message[field] for message in messages])
        )
        return (["messages", "list", "element", field], BYTE_ARRAY, body, len(messages))

    sources = [row["source"] for row in ROWS]
    return [
        (["id"], INT64, plain([row["id"] for row in ROWS]), len(ROWS)),
        nested("role"),
        nested("content"),
        (
            ["source"],
            BYTE_ARRAY,
            bit_packed_levels([0 if s is None else 1 for s in sources])
            + plain([s for s in sources if s is not None]),
            len(ROWS),
        ),
    ]


def schema(w, element):
    name, kind, repetition, children, converted = element
    if kind is not None:
        w.i32(1, kind)
    if repetition is not None:
        w.i32(3, repetition)
    w.string(4, name)
    if children:
        w.i32(5, children)
    if converted is not None:
        w.i32(6, converted)


SCHEMA = [
    ("schema", None, None, 3, None),
    ("id", INT64, REQUIRED, 0, None),
    ("messages", None, REQUIRED, 1, LIST),
    ("list", None, REPEATED, 1, None),
    ("element", None, REQUIRED, 2, None),
    ("role", BYTE_ARRAY, REQUIRED, 0, UTF8),
    ("content", BYTE_ARRAY, REQUIRED, 0, UTF8),
    ("source", BYTE_ARRAY, OPTIONAL, 0, UTF8),
]


def write_file(path, codec, compress):
    data = bytearray(b"PAR1")
    chunks = []
    for column_path, kind, body, levels in leaf_columns():
        stored = compress(body)
        header = (
            Compact()
            .i32(1, DATA_PAGE)
            .i32(2, len(body))
            .i32(3, len(stored))
            .struct(5, lambda w: w.i32(1, levels).i32(2, PLAIN).i32(3, RLE).i32(4, RLE))
            .done()
        )
        chunks.append((column_path, kind, levels, len(data), len(header) + len(body), len(header) + len(stored)))
        data += header + stored

    def column_chunk(w, chunk):
        column_path, kind, levels, offset, uncompressed, compressed = chunk
        w.i64(2, offset).struct(
            3,
            lambda m: m.i32(1, kind)
            .list(2, Compact.I32, [PLAIN, RLE], lambda l, v: l.zigzag(v))
            .list(3, Compact.BINARY, column_path, lambda l, v: l.binary(v))
            .i32(4, codec)
            .i64(5, levels)
            .i64(6, uncompressed)
            .i64(7, compressed)
            .i64(9, offset),
        )

    footer = (
        Compact()
        .i32(1, 1)
        .list(2, Compact.STRUCT, SCHEMA, schema)
        .i64(3, len(ROWS))
        .list(
            4,
            Compact.STRUCT,
            [chunks],
            lambda w, group: w.list(1, Compact.STRUCT, group, column_chunk)
            .i64(2, sum(chunk[4] for chunk in group))
            .i64(3, len(ROWS)),
        )
        .string(6, "finetune-studio reference/make_parquet_codecs.py")
        .done()
    )
    data += footer + struct.pack("<I", len(footer)) + b"PAR1"
    path.write_bytes(bytes(data))
    return len(data)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, codec, compress in CODECS:
        path = OUT / f"chat.{name}.parquet"
        size = write_file(path, codec, compress)
        print(f"{path.relative_to(OUT.parent.parent.parent)}: {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
