"""Image decoding with bad-input handling, shared by biometrics, liveness and documents.

``decode_image`` turns untrusted bytes into a BGR ``uint8`` array or raises a specific 4xx error
from :mod:`openkyc.errors`. The dimensions are read from the header (Pillow opens lazily) and
checked before any pixel is decoded, so a small file that claims 30,000 x 30,000 pixels costs
nothing. EXIF orientation is applied; alpha is composited on white; grayscale, palette and CMYK
images are converted to colour.

Only the plugins of ``ALLOWED_FORMATS`` ever parse the bytes: Pillow's other openers (EPS, PSD, FLI,
...) run on ``Image.open`` before any format check, and some scan the whole file (a 6 MB EPS cost
3 s of CPU to be refused). Another format is named by the plugins' cheap prefix tests alone and
refused as ``UnsupportedImageFormat``.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from openkyc.biometrics.types import Image
from openkyc.errors import (
    ImageAnimated,
    ImageBitDepthUnsupported,
    ImageDecodeFailed,
    ImageEmpty,
    ImageSizeTooLarge,
    ImageTooSmall,
    ImageTruncated,
    UnsupportedImageFormat,
)

DEFAULT_MAX_PIXELS = 40_000_000
"""40 megapixels: larger than any phone photo, ~120 MB once decoded to BGR."""
DEFAULT_MAX_BYTES = 15 * 1024 * 1024
DEFAULT_MIN_SIDE = 16
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF"})
_OPEN_FORMATS = tuple(sorted(ALLOWED_FORMATS - {"MPO"}))  # an MPO opens through the JPEG plugin
_HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F", "RGBA;16B"})


def decode_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    min_side: int = DEFAULT_MIN_SIDE,
) -> Image:
    """Decode untrusted image bytes to a contiguous ``(h, w, 3)`` BGR ``uint8`` array.

    Raises ``ImageEmpty``, ``ImageSizeTooLarge`` (bytes or pixels), ``ImageDecodeFailed`` (not an
    image), ``ImageTruncated``, ``UnsupportedImageFormat`` (and its ``ImageAnimated`` and
    ``ImageBitDepthUnsupported``) or ``ImageTooSmall``; all are 400s.
    """
    if not data:
        raise ImageEmpty()
    if len(data) > max_bytes:
        raise ImageSizeTooLarge(f"The image is larger than {max_bytes} bytes.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
        lazy = _open(data)
        try:
            _check_header(lazy, data, max_pixels=max_pixels, min_side=min_side)
            return img_to_bgr(_load(lazy))
        finally:
            lazy.close()


def _open(data: bytes) -> PILImage.Image:
    try:
        return PILImage.open(io.BytesIO(data), formats=_OPEN_FORMATS)
    except PILImage.DecompressionBombError as exc:
        raise ImageSizeTooLarge("The image has too many pixels.") from exc
    except UnidentifiedImageError as exc:
        other = _other_format(data)
        if other is not None:
            raise UnsupportedImageFormat(f"Image format {other} is not supported.") from exc
        raise ImageDecodeFailed("The data is not a recognised image.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeFailed() from exc


def _other_format(data: bytes) -> str | None:
    """The format another Pillow plugin claims from the first 16 bytes, without running its opener."""
    PILImage.init()
    prefix = data[:16]
    for name in PILImage.ID:
        if name in ALLOWED_FORMATS:
            continue
        accept = PILImage.OPEN[name][1]
        try:
            if accept is not None and accept(prefix):
                return name
        except Exception:  # a plugin's prefix test: any failure means "not this format"
            continue
    return None


def _check_header(img: PILImage.Image, data: bytes, *, max_pixels: int, min_side: int) -> None:
    if img.format not in ALLOWED_FORMATS:
        raise UnsupportedImageFormat(f"Image format {img.format} is not supported.")
    width, height = img.size
    if width * height > max_pixels:
        raise ImageSizeTooLarge(f"The image has more than {max_pixels} pixels.")
    if min(width, height) < min_side:
        raise ImageTooSmall(f"The image is smaller than {min_side} pixels on a side.")
    if getattr(img, "is_animated", False) and getattr(img, "n_frames", 1) > 1:
        if img.format != "MPO":  # phone JPEGs carry a second (depth/preview) frame: use the first
            raise ImageAnimated()
    if img.mode in _HIGH_DEPTH_MODES or _png_bit_depth(data) > 8:
        raise ImageBitDepthUnsupported()


def _png_bit_depth(data: bytes) -> int:
    """Bit depth from the PNG IHDR (Pillow silently narrows 16-bit colour PNGs to 8 bits)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 24 and data[12:16] == b"IHDR":
        return data[24]
    return 8


def _load(img: PILImage.Image) -> PILImage.Image:
    try:
        img.load()
        return ImageOps.exif_transpose(img) or img
    except PILImage.DecompressionBombError as exc:
        raise ImageSizeTooLarge("The image has too many pixels.") from exc
    except OSError as exc:
        if "truncated" in str(exc).lower() or "premature" in str(exc).lower():
            raise ImageTruncated() from exc
        raise ImageDecodeFailed() from exc
    except (SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageDecodeFailed() from exc


def img_to_bgr(img: PILImage.Image) -> Image:
    """Convert any 8-bit Pillow image to BGR, compositing transparency on white."""
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = PILImage.alpha_composite(background, rgba)
    if img.mode != "RGB":
        try:
            img = img.convert("RGB")
        except (ValueError, OSError) as exc:
            raise UnsupportedImageFormat(f"Image mode {img.mode} is not supported.") from exc
    rgb = np.asarray(img, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])
