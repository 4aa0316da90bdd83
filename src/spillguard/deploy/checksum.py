"""The checksum an exported model carries: SHA-256 of its serialized bytes without the checksum entry.

``add_checksum`` appends one ``metadata_props`` entry (``spillguard_sha256``) to a serialized
``ModelProto``; ``content_checksum`` finds that entry again and hashes everything else, so any
changed byte (a flipped bit in the weights, an edited threshold) no longer matches. Both walk the
protobuf wire format of the model's top level by hand (a few fields; the graph is one
length-delimited field), so checking needs neither the ``onnx`` package nor torch.

Not a signature: it catches damage and careless edits, not someone who recomputes it.
"""

from __future__ import annotations

import hashlib

CHECKSUM_KEY = "spillguard_sha256"
METADATA_FIELD = 14  # ModelProto.metadata_props (repeated StringStringEntryProto: key=1, value=2)


class NotProtobuf(ValueError):
    """The bytes are not a protobuf message (truncated, foreign, damaged framing)."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the base-128 varint at ``pos``."""
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise NotProtobuf("varint runs past the end")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(data: bytes) -> list[tuple[int, int, int, int, int]]:
    """(field number, wire type, start of the field, start of its payload, end) for each top-level field."""
    out = []
    pos = 0
    while pos < len(data):
        start = pos
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise NotProtobuf("field number 0")
        if wire == 0:
            _, pos = _varint(data, pos)
            body = pos
        elif wire == 1:
            body, pos = pos, pos + 8
        elif wire == 2:
            length, body = _varint(data, pos)
            pos = body + length
        elif wire == 5:
            body, pos = pos, pos + 4
        else:  # groups (3/4) are not used by ONNX; 6/7 do not exist
            raise NotProtobuf(f"wire type {wire}")
        if pos > len(data):
            raise NotProtobuf("a field runs past the end")
        out.append((number, wire, start, body, pos))
    return out


def _entry_key_value(entry: bytes) -> tuple[bytes, bytes]:
    key = value = b""
    for number, wire, _, body, end in _fields(entry):
        if wire == 2 and number == 1:
            key = entry[body:end]
        elif wire == 2 and number == 2:
            value = entry[body:end]
    return key, value


def content_checksum(data: bytes) -> tuple[str | None, str]:
    """(the checksum the model states or None, the SHA-256 of its bytes without that entry).

    NotProtobuf for bytes that are not a protobuf message; a model stating two checksums states
    none that can be trusted (returned as "" so that it never matches).
    """
    stated: list[tuple[str, int, int]] = []
    for number, wire, start, body, end in _fields(data):
        if number == METADATA_FIELD and wire == 2:
            key, value = _entry_key_value(data[body:end])
            if key == CHECKSUM_KEY.encode():
                stated.append((value.decode("ascii", "replace"), start, end))
    if not stated:
        return None, hashlib.sha256(data).hexdigest()
    if len(stated) > 1:
        return "", ""
    digest, start, end = stated[0]
    return digest, hashlib.sha256(data[:start] + data[end:]).hexdigest()


def add_checksum(data: bytes) -> bytes:
    """``data`` (a serialized ModelProto without a checksum entry) with its checksum entry appended.

    A repeated field may appear anywhere in a protobuf message; appending it keeps every other byte
    where it was, so the digest is over exactly the bytes before it."""
    stated, digest = content_checksum(data)
    if stated is not None:
        raise ValueError("the model already carries a checksum")
    key, value = CHECKSUM_KEY.encode(), digest.encode()
    entry = b"\x0a" + _encode_varint(len(key)) + key + b"\x12" + _encode_varint(len(value)) + value
    tag = _encode_varint(METADATA_FIELD << 3 | 2)
    return data + tag + _encode_varint(len(entry)) + entry
