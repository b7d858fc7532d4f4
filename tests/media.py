"""Small real media files for tests: an MP4 whose header gives its duration, PNG/JPEG images."""

from __future__ import annotations

import io
import os

from PIL import Image


def _box(kind: bytes, body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def mp4(seconds: float = 12.5, payload: bytes | None = None) -> bytes:
    """An MP4 (ftyp, moov/mvhd with the duration, mdat): different `payload`, different MD5."""
    scale = 1000
    mvhd = (
        b"\x00\x00\x00\x00"  # version 0, flags
        + (0).to_bytes(4, "big")  # creation time
        + (0).to_bytes(4, "big")  # modification time
        + scale.to_bytes(4, "big")
        + round(seconds * scale).to_bytes(4, "big")
        + b"\x00" * 80
    )
    body = payload if payload is not None else os.urandom(4096)
    return (
        _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
        + _box(b"moov", _box(b"mvhd", mvhd))
        + _box(b"mdat", body)
    )


def image(
    width: int, height: int, fmt: str = "PNG", color: tuple[int, int, int] = (200, 40, 90)
) -> bytes:
    """A PNG or JPEG of one colour with a gradient (so two colours give two checksums)."""
    img = Image.new("RGB", (width, height), color)
    for x in range(0, width, max(1, width // 16)):
        img.putpixel((x, x * height // max(width, 1)), (x % 256, 255 - x % 256, 0))
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()
