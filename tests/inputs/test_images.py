"""Thumbnail images: only JPEG, PNG and WebP, recognised by their bytes, of a sensible size."""

from __future__ import annotations

import struct

import pytest

from oyren.errors import InputError
from oyren.inputs.images import MAX_BYTES, MAX_SIDE, read_image
from oyren.sandbox.login import thumbnail_png


def jpeg(width: int, height: int) -> bytes:
    """The start of a baseline JPEG: SOI, an APP0 segment, then a SOF0 frame header."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xda\x00\x08" + b"\x00" * 20 + b"\xff\xd9"


def webp_lossy(width: int, height: int) -> bytes:
    frame = b"\x00\x00\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\x00" * 8
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(frame))
        + b"WEBP"
        + b"VP8 "
        + struct.pack("<I", len(frame))
        + frame
    )


def test_a_png_is_read_with_its_size() -> None:
    image = read_image(thumbnail_png("7340000000000000001"))
    assert (image.content_type, image.width, image.height) == ("image/png", 72, 128)


def test_a_jpeg_and_a_webp_are_read_with_their_size() -> None:
    assert read_image(jpeg(576, 1024)).content_type == "image/jpeg"
    assert (read_image(jpeg(576, 1024)).width, read_image(jpeg(576, 1024)).height) == (576, 1024)
    found = read_image(webp_lossy(300, 400))
    assert (found.content_type, found.width, found.height) == ("image/webp", 300, 400)


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<!doctype html><script>alert(1)</script>",
        b"GIF89a\x01\x00\x01\x00",
        b"",
        b"\x00" * 100,
    ],
    ids=["svg-with-script", "html", "gif", "empty", "zeros"],
)
def test_anything_but_the_three_raster_types_is_refused(data: bytes) -> None:
    with pytest.raises(InputError, match=r"cover\.jpeg: not a JPEG, PNG or WebP image"):
        read_image(data, source="cover.jpeg")


def test_a_png_header_whose_first_chunk_is_not_ihdr_is_broken() -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dtEXt" + b"\x00" * 20
    with pytest.raises(InputError, match="broken image/png header"):
        read_image(data)


def test_a_jpeg_without_a_frame_header_is_broken() -> None:
    with pytest.raises(InputError, match="broken image/jpeg header"):
        read_image(b"\xff\xd8\xff\xda\x00\x08" + b"\x00" * 40)


def test_a_huge_canvas_in_a_small_file_is_refused() -> None:
    data = thumbnail_png("1")
    bomb = data[:16] + struct.pack(">II", 60_000, 60_000) + data[24:]
    with pytest.raises(InputError, match=f"60,000 × 60,000 pixels; at most {MAX_SIDE:,}"):
        read_image(bomb)
    with pytest.raises(InputError, match="pixels"):
        read_image(jpeg(MAX_SIDE + 1, 10))


def test_a_file_larger_than_the_limit_is_refused() -> None:
    data = thumbnail_png("1") + b"\x00" * MAX_BYTES
    with pytest.raises(InputError, match=f"more than {MAX_BYTES:,}"):
        read_image(data)
