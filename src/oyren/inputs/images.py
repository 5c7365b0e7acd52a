"""Thumbnail images as they come in: only JPEG, PNG and WebP, recognised by their bytes.

A thumbnail is fetched from an address someone else gave us (oEmbed's ``thumbnail_url``, the
Display API's ``cover_image_url``) and later served from Öyrən's own origin, so it is read here
as hostile: :func:`read_image` trusts no ``Content-Type`` header and no file name, only the
bytes. It accepts the three raster formats browsers show without running anything (never SVG,
HTML or anything else that might carry script), reads the width and height from the header
without decoding the picture, and refuses an image larger than :data:`MAX_BYTES` or
:data:`MAX_SIDE` pixels a side (a small file may still claim a huge canvas that a browser would
have to allocate). The ``Content-Type`` Öyrən sends is the one found here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from oyren.errors import InputError

__all__ = ["MAX_BYTES", "MAX_SIDE", "RASTER_TYPES", "Image", "read_image"]

MAX_BYTES = 1_000_000  # a TikTok cover is some tens of kilobytes
MAX_SIDE = 4096  # pixels a side; TikTok's covers are at most 1080 × 1920
RASTER_TYPES = ("image/jpeg", "image/png", "image/webp")


@dataclass(frozen=True, slots=True)
class Image:
    """A checked raster image: its bytes, the media type found in them, and its size."""

    content_type: str
    data: bytes
    width: int
    height: int


def read_image(data: bytes, *, source: str = "<image>") -> Image:
    """Check ``data`` is one JPEG, PNG or WebP image of a sensible size, or raise
    :class:`~oyren.errors.InputError` naming ``source`` and what is wrong."""
    if len(data) > MAX_BYTES:
        raise InputError(f"the image is {len(data):,} bytes, more than {MAX_BYTES:,}", path=source)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind, size = "image/png", _png_size(data)
    elif data.startswith(b"\xff\xd8\xff"):
        kind, size = "image/jpeg", _jpeg_size(data)
    elif len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind, size = "image/webp", _webp_size(data)
    else:
        raise InputError("not a JPEG, PNG or WebP image", path=source)
    if size is None:
        raise InputError(f"a broken {kind} header: no width and height", path=source)
    width, height = size
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise InputError(
            f"the image claims {width:,} × {height:,} pixels; at most {MAX_SIDE:,} a side",
            path=source,
        )
    return Image(kind, data, width, height)


def _png_size(data: bytes) -> tuple[int, int] | None:
    # The first chunk must be IHDR: length 13, then width and height, big-endian.
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


# Start-of-frame markers carry the size; C4 (Huffman tables), C8 and CC are not frames.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if length < 2:
            return None
        if marker in _SOF:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return int(width), int(height)
        if marker == 0xDA:  # the picture starts before any frame header: broken
            return None
        at += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    return None
