"""Uploaded-file helpers: image dimensions and photo size ladders (no image library needed)."""

from __future__ import annotations

import mimetypes
import struct
from dataclasses import dataclass


@dataclass
class Upload:
    """One file part of a multipart Bot API request."""

    filename: str
    content_type: str | None
    content: bytes


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, WebP or JPEG image, or None if not recognised."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            pos += 1
            continue
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def photo_ladder(width: int, height: int) -> list[tuple[int, int]]:
    """The (width, height) sizes Telegram would offer for a photo, smallest first."""
    longest = max(width, height, 1)
    sizes: list[tuple[int, int]] = []
    for bound in (90, 320, 800, 1280):
        if bound < longest:
            scale = bound / longest
            sizes.append((max(1, round(width * scale)), max(1, round(height * scale))))
    scale = min(1.0, 1280 / longest)
    sizes.append((max(1, round(width * scale)), max(1, round(height * scale))))
    return sizes


def guess_mime(filename: str | None, fallback: str = "application/octet-stream") -> str:
    """MIME type from a file name."""
    if not filename:
        return fallback
    return mimetypes.guess_type(filename)[0] or fallback


def extension_for(filename: str | None, mime_type: str | None, default: str) -> str:
    """File extension (with dot) to use in a file_path."""
    if filename and "." in filename:
        return "." + filename.rsplit(".", 1)[1].lower()[:8]
    if mime_type:
        ext = mimetypes.guess_extension(mime_type)
        if ext:
            return ext
    return default
