#!/usr/bin/env python3
"""tests/fuzz/make-log-seeds.py DIR — writes the fuzz_log seeds (tests/fuzz/fuzz_log.cc's input:
a flags byte, then a log's bytes, 64 or 128 log blocks) into DIR: a clean log, a dirty one, one that wrapped, one with
extended record headers.  Records are laid out as docs/log.md "Records" says; the flags byte asks
the target to set UUIDs and CRCs, so they are left zero here."""
import os
import struct
import sys

BLOCK = 512


def record(log, blk, cycle, tail, data, nops, size=32768, prev=0xFFFFFFFF):
    nblocks = len(log) // BLOCK
    length = (len(data) + BLOCK - 1) // BLOCK * BLOCK
    data = data.ljust(length, b"\0")
    hblocks = 1 if size <= 32768 else (size + 32767) // 32768
    slots = [0] * (hblocks * 64)
    out = bytearray(hblocks * BLOCK + length)
    for i in range(length // BLOCK):
        slots[i] = struct.unpack_from(">I", data, i * BLOCK)[0]
        out[(hblocks + i) * BLOCK:(hblocks + i + 1) * BLOCK] = data[i * BLOCK:(i + 1) * BLOCK]
        stamp = cycle + 1 if blk + hblocks + i >= nblocks else cycle
        struct.pack_into(">I", out, (hblocks + i) * BLOCK, stamp)
    struct.pack_into(">IIIIQQIII", out, 0, 0xFEEDBABE, cycle, 2, length, cycle << 32 | blk, tail, 0, prev, nops)
    struct.pack_into(">64I", out, 44, *slots[:64])
    struct.pack_into(">I16sI", out, 300, 1, bytes(16), size)
    for e in range(1, hblocks):
        struct.pack_into(">I64I", out, e * BLOCK, cycle, *slots[e * 64:(e + 1) * 64])
    for i in range(len(out) // BLOCK):
        b = (blk + i) % nblocks
        log[b * BLOCK:(b + 1) * BLOCK] = out[i * BLOCK:(i + 1) * BLOCK]
    return len(out) // BLOCK


def op(client, flags, payload=b"", tid=0x1234):
    return struct.pack(">IIBBH", tid, len(payload), client, flags, 0) + payload


def unmount():
    return op(0xAA, 0x20)


def trans(n, tid=0x1234):
    """A committed transaction: START, the header, one buffer item of two regions, COMMIT."""
    header = struct.pack("<IIII", 0x5452414E, 40, tid, 2)
    item = struct.pack("<HH", 0x123C, 2) + bytes(16)
    return (op(0x69, 0x01, tid=tid) + op(0x69, 0, header, tid) + op(0x69, 0, item, tid) +
            op(0x69, 0, b"\x5a" * n, tid) + op(0x69, 0x02, tid=tid))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {}
    log = bytearray(64 * BLOCK)
    record(log, 0, 1, 1 << 32, unmount(), 1)
    seeds["clean"] = bytes(log)
    at = 2
    for n in (3000, 200, 9000):
        at += record(log, at, 1, 1 << 32 | 2, trans(n), 5)
    seeds["dirty"] = bytes(log)
    log = bytearray(128 * BLOCK)
    at, cycle = 0, 1
    while at < 128 + 40:
        n = record(log, at % 128, cycle, (cycle << 32) | (at % 128), trans(6000), 5)
        at += n
        if at >= 128 * cycle:
            cycle += 1
    seeds["wrapped"] = bytes(log)
    log = bytearray(128 * BLOCK)
    record(log, 0, 1, 1 << 32, trans(40000), 5, size=65536)
    seeds["ext-header"] = bytes(log)
    for name, body in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"\x01" + body)


if __name__ == "__main__":
    main()
