from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from openkyc import errors
from openkyc.biometrics.images import decode_image


def _png(mode: str, size: tuple[int, int] = (64, 48), **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format="PNG", **kw)
    return buf.getvalue()


def _huge_png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (no pixel data)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _jpeg(size: tuple[int, int] = (200, 150)) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def _gif_animated() -> bytes:
    buf = io.BytesIO()
    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def _png16_rgb() -> bytes:
    raw = b"".join(b"\x00" + b"\x12\x34" * 3 * 32 for _ in range(32))
    ihdr = struct.pack(">IIBBBBB", 32, 32, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "error", "code"),
    [
        (b"", errors.ImageEmpty, "InvalidParameterValue.ImageEmpty"),
        (b"hello, not an image", errors.ImageDecodeFailed, "InvalidParameterValue.ImageDecodeFailed"),
        (_jpeg()[:8000], errors.ImageTruncated, "InvalidParameterValue.ImageTruncated"),
        (_png("RGB", (1, 1)), errors.ImageTooSmall, "InvalidParameterValue.ImageTooSmall"),
        (_huge_png_header(30_000, 30_000), errors.ImageSizeTooLarge, "InvalidParameterValue.ImageSizeTooLarge"),
        (_huge_png_header(9_000, 9_000), errors.ImageSizeTooLarge, "InvalidParameterValue.ImageSizeTooLarge"),
        (_gif_animated(), errors.ImageAnimated, "InvalidParameterValue.ImageAnimated"),
        (_png("I;16"), errors.ImageBitDepthUnsupported, "InvalidParameterValue.ImageBitDepthUnsupported"),
        (_png16_rgb(), errors.ImageBitDepthUnsupported, "InvalidParameterValue.ImageBitDepthUnsupported"),
    ],
    ids=["empty", "not-image", "truncated", "1x1", "30k-png", "81mp", "animated-gif", "png16-grey", "png16-rgb"],
)
def test_bad_input_raises_specific_4xx(data: bytes, error: type[errors.OpenKYCError], code: str) -> None:
    with pytest.raises(error) as info:
        decode_image(data)
    assert type(info.value) is error
    assert info.value.error_code == code
    assert 400 <= info.value.status_code < 500


def test_too_many_bytes() -> None:
    with pytest.raises(errors.ImageSizeTooLarge):
        decode_image(_jpeg(), max_bytes=100)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK", "1"])
@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG", "BMP"])
def test_formats_and_modes_decode_to_bgr(mode: str, fmt: str) -> None:
    img = Image.new(mode, (40, 30))
    if (fmt, mode) in {
        ("JPEG", "RGBA"),
        ("JPEG", "LA"),
        ("JPEG", "P"),
        ("WEBP", "CMYK"),
        ("PNG", "CMYK"),
        ("BMP", "CMYK"),
        ("BMP", "LA"),
        ("WEBP", "LA"),
        ("JPEG", "1"),
    }:
        pytest.skip("Pillow cannot write this combination")
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    out = decode_image(buf.getvalue())
    assert out.shape == (30, 40, 3)
    assert out.dtype == np.uint8
    assert out.flags["C_CONTIGUOUS"]


def test_alpha_is_composited_on_white_and_channels_are_bgr() -> None:
    rgba = np.zeros((20, 20, 4), dtype=np.uint8)
    rgba[:10, :, :] = (255, 0, 0, 255)  # opaque red on top, transparent below
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    out = decode_image(buf.getvalue())
    assert out[0, 0].tolist() == [0, 0, 255]
    assert out[15, 0].tolist() == [255, 255, 255]


def test_exif_orientation_is_applied() -> None:
    img = Image.new("RGB", (60, 20), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    assert decode_image(buf.getvalue()).shape == (60, 20, 3)


def _saved(fmt: str, mode: str = "RGB", size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (40, 90, 160)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "mode"), [("EPS", "RGB"), ("PPM", "RGB"), ("PCX", "RGB"), ("SGI", "RGB")])
def test_another_format_is_refused_without_running_its_plugin(
    fmt: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Formats outside the allowed list are named from their prefix; their Pillow opener never runs
    (the EPS opener scans the whole file: seconds of CPU for a large upload)."""
    data = _saved(fmt, mode)
    Image.init()
    factory = Image.OPEN[fmt][0]
    ran: list[str] = []

    def spy(self: object) -> None:
        ran.append(fmt)
        raise SyntaxError("not expected to run")

    monkeypatch.setattr(factory, "_open", spy)
    with pytest.raises(errors.UnsupportedImageFormat) as info:
        decode_image(data)
    assert type(info.value) is errors.UnsupportedImageFormat
    assert fmt in str(info.value)
    assert ran == []


def test_a_multi_picture_jpeg_decodes_its_first_picture() -> None:
    first = Image.new("RGB", (40, 30), (10, 200, 30))
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[Image.new("RGB", (40, 30), (0, 0, 255))])
    out = decode_image(buf.getvalue())
    assert out.shape == (30, 40, 3)
    assert abs(int(out[15, 20, 1]) - 200) < 20  # green channel of the first picture (BGR)
