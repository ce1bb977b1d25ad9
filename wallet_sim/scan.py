"""Read a cross-device OpenID4VP request from a QR code image (digest §1.1, "Cross-device").

In the cross-device flow the verifier shows ``openid4vp://?client_id=...&request_uri=...`` (or
``haip-vp://...``, HAIP 1.0) as a QR code; a wallet on another device scans it. The simulator
gets a PNG/JPEG file or bytes instead - a rendered code, or a screenshot of a whole page - and
decodes it with ZXing-C++ (``zxingcpp``), which locates the symbol anywhere in the image, at
any scale and rotation.

Images are flattened onto white (a transparent screenshot must not turn into a black page) and
converted to 8-bit grey before decoding. If the first pass finds nothing, the image is tried
once more with a global-histogram binariser and once enlarged 2x (helps tiny, blurred codes).

Only :mod:`verifier.protocol` may be imported from ``verifier`` here (import rules), so this
module deliberately knows nothing of :mod:`verifier.presentations.qr`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image

__all__ = ["REQUEST_SCHEMES", "QRDecodeError", "decode_qr"]

REQUEST_SCHEMES = ("openid4vp://", "haip-vp://")
_MAX_PIXELS = 50_000_000  # a decompression bomb is not a screenshot


class QRDecodeError(Exception):
    """No QR code could be read from the image (or the input is not an image at all)."""


def _describe(image: bytes | str | Path) -> str:
    if isinstance(image, bytes | bytearray):
        return f"<{len(image)} bytes of image data>"
    return str(image)


def _load(image: bytes | str | Path, name: str) -> Image.Image:
    """Open the image and flatten it to 8-bit grey on a white background."""
    source: Any = io.BytesIO(image) if isinstance(image, bytes | bytearray) else Path(image)
    try:
        with Image.open(source) as opened:
            if opened.width * opened.height > _MAX_PIXELS:
                raise QRDecodeError(f"{name}: image of {opened.width}x{opened.height} is too big")
            opened.load()
            picture: Image.Image = opened.copy()
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (OSError, Image.DecompressionBombError, SyntaxError, ValueError) as exc:
        # OSError covers UnidentifiedImageError and truncated files
        raise QRDecodeError(f"{name}: not a readable image ({exc})") from None
    has_alpha = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
    if has_alpha:
        rgba = picture.convert("RGBA")
        picture = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return picture.convert("L")


def _attempts(grey: Image.Image) -> Iterator[list[zxingcpp.Barcode]]:
    """Decode passes, cheapest first; each yields the QR codes ZXing found (maybe none)."""
    formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    yield list(zxingcpp.read_barcodes(grey, formats=formats))
    yield list(
        zxingcpp.read_barcodes(grey, formats=formats, binarizer=zxingcpp.Binarizer.GlobalHistogram)
    )
    if grey.width * grey.height <= 4_000_000:
        bigger = grey.resize((grey.width * 2, grey.height * 2), Image.Resampling.BICUBIC)
        yield list(zxingcpp.read_barcodes(bigger, formats=formats))


def decode_qr(image: bytes | str | Path) -> str:
    """Return the text of the QR code in ``image`` (encoded bytes, or a file path).

    With several codes, the first whose text starts with ``openid4vp://`` or ``haip-vp://``
    wins, else the first found. Raises :class:`QRDecodeError` when there is none;
    a missing file raises :class:`FileNotFoundError` as usual.
    """
    name = _describe(image)
    grey = _load(image, name)
    for found in _attempts(grey):
        texts = [str(barcode.text) for barcode in found]
        if texts:
            for text in texts:
                if text.startswith(REQUEST_SCHEMES):
                    return text
            return texts[0]
    raise QRDecodeError(f"{name}: no QR code found in the {grey.width}x{grey.height} image")
