#!/usr/bin/env python3
"""Writes tiny.tflite: a hand-made TFLite model (no flatbuffers library) that nn/ loads end to end.

input [1,224,224,3] -> CONV_2D 1x1 (uint8 weights, int32 bias, RELU6) -> AVERAGE_POOL_2D 224x224 VALID
-> RESHAPE [1,3] -> SOFTMAX, with the labels "a", "b", "c" in a stored zip appended like TFLite metadata.
It seeds the reader's fuzz corpus and gives tests a model whose answer is easy to work out by hand:
channel out[o] = clamp(sum_c w[o][c] * mean(input[..., c]) + bias[o], 0, 6), then softmax.

The layout is written front to back: every object is placed after whatever refers to it, because a
flatbuffer offset (uoffset) always points forward.  usage: make_tiny.py OUT
"""
import io
import struct
import sys
import zipfile


class Writer:
    def __init__(self):
        self.buf = bytearray()

    def align(self, n):
        while len(self.buf) % n:
            self.buf.append(0)

    def patch_offset(self, at, target):
        struct.pack_into("<I", self.buf, at, target - at)

    # Each object is a function that writes it and returns its position.
    def table(self, fields):
        """fields: list by field id of None or (fmt, value); fmt 'obj' means value is an object writer."""
        layout, off = [], 4
        for f in fields:
            if f is None:
                layout.append(0)
                continue
            size = 4 if f[0] == "obj" else struct.calcsize("<" + f[0])
            off = (off + size - 1) // size * size
            layout.append(off)
            off += size
        obj_size = (off + 7) // 8 * 8
        self.align(2)
        vt = len(self.buf)
        self.buf += struct.pack("<HH", 4 + 2 * len(fields), obj_size)
        self.buf += b"".join(struct.pack("<H", o) for o in layout)
        self.align(8)
        pos = len(self.buf)
        self.buf += bytes(obj_size)
        struct.pack_into("<i", self.buf, pos, pos - vt)
        children = []
        for f, o in zip(fields, layout):
            if f is None:
                continue
            if f[0] == "obj":
                children.append((pos + o, f[1]))
            else:
                struct.pack_into("<" + f[0], self.buf, pos + o, f[1])
        for at, child in children:
            self.patch_offset(at, child(self))
        return pos

    def scalars(self, fmt, values, align=4):
        self.align(max(align, 4))
        if struct.calcsize("<" + fmt) == 8 and len(self.buf) % 8 == 0:
            self.buf += bytes(4)  # so the elements after the length word are 8-aligned
        pos = len(self.buf)
        self.buf += struct.pack("<I", len(values))
        self.buf += b"".join(struct.pack("<" + fmt, v) for v in values)
        return pos

    def bytes_vec(self, data):
        self.align(4)
        pos = len(self.buf)
        self.buf += struct.pack("<I", len(data)) + data
        return pos

    def string(self, s):
        pos = self.bytes_vec(s.encode())
        self.buf.append(0)
        return pos

    def tables(self, items):
        self.align(4)
        pos = len(self.buf)
        self.buf += struct.pack("<I", len(items)) + bytes(4 * len(items))
        for i, item in enumerate(items):
            self.patch_offset(pos + 4 + 4 * i, item(self))
        return pos


def obj(fn, *args):
    return ("obj", lambda w: fn(w, *args))


def tensor(name, shape, ttype, buffer, scale=None, zero_point=None):
    quant = None
    if scale is not None:
        quant = obj(Writer.table, [None, None, obj(Writer.scalars, "f", scale),
                                   obj(Writer.scalars, "q", zero_point), None, None, ("i", 0)])
    return lambda w: w.table([obj(Writer.scalars, "i", shape), ("B", ttype), ("I", buffer),
                              obj(Writer.string, name), quant])


def operator(opcode_index, inputs, outputs, options_type=0, options=None):
    return lambda w: w.table([("I", opcode_index), obj(Writer.scalars, "i", inputs),
                              obj(Writer.scalars, "i", outputs), ("B", options_type) if options else None,
                              obj(Writer.table, options) if options else None])


def buffer(data):
    return lambda w: w.table([obj(Writer.bytes_vec, data) if data else None])


def opcode(code):
    return lambda w: w.table([("b", code), None, ("i", 1), ("i", code)])


FLOAT32, INT32, UINT8 = 0, 2, 3
CONV, AVGPOOL, RESHAPE, SOFTMAX = 3, 1, 22, 25
SAME, VALID, RELU6 = 0, 1, 3

weights = bytes([128 + 100, 128, 128,  128, 128 + 50, 128 - 50,  128, 128, 128 + 25])  # [3 out][1][1][3 in]
bias = struct.pack("<3i", 0, 1000, -1000)                                            # scale 1e-4
tensors = [
    tensor("input", [1, 224, 224, 3], FLOAT32, 0),
    tensor("conv/weights", [3, 1, 1, 3], UINT8, 1, [0.01], [128]),
    tensor("conv/bias", [3], INT32, 2, [1e-4], [0]),
    tensor("conv/out", [1, 224, 224, 3], FLOAT32, 0),
    tensor("pool/out", [1, 1, 1, 3], FLOAT32, 0),
    tensor("reshape/shape", [2], INT32, 3),
    tensor("reshape/out", [1, 3], FLOAT32, 0),
    tensor("probs", [1, 3], FLOAT32, 0),
]
ops = [
    operator(0, [0, 1, 2], [3], 1, [("B", SAME), ("i", 1), ("i", 1), ("B", RELU6)]),
    operator(1, [3], [4], 5, [("B", VALID), ("i", 1), ("i", 1), ("i", 224), ("i", 224), ("B", 0)]),
    operator(2, [4, 5], [6], 17, [obj(Writer.scalars, "i", [1, 3])]),
    operator(3, [6], [7], 9, [("f", 1.0)]),
]
subgraph = lambda w: w.table([obj(Writer.tables, tensors), obj(Writer.scalars, "i", [0]),
                              obj(Writer.scalars, "i", [7]), obj(Writer.tables, ops), obj(Writer.string, "main")])
model = lambda w: w.table([("I", 3), obj(Writer.tables, [opcode(c) for c in (CONV, AVGPOOL, RESHAPE, SOFTMAX)]),
                           obj(Writer.tables, [subgraph]), obj(Writer.string, "hand-made"),
                           obj(Writer.tables, [buffer(b"")] + [buffer(d) for d in (weights, bias, struct.pack("<2i", 1, 3))])])

w = Writer()
w.buf += bytes(4) + b"TFL3"
w.patch_offset(0, model(w))
labels = io.BytesIO()
with zipfile.ZipFile(labels, "w", zipfile.ZIP_STORED) as z:
    z.writestr("labels.txt", "a\nb\nc\n")
with open(sys.argv[1], "wb") as f:
    f.write(bytes(w.buf) + labels.getvalue())
