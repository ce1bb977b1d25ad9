"""QR codes for cross-device OpenID4VP requests (digest §1.1, "Cross-device").

The verifier renders ``openid4vp://?client_id=...&request_uri=...`` (or ``haip-vp://...``) as a
QR code; OpenID4VP 1.0 recommends ``request_uri`` precisely so the code stays small enough to
scan. Typical payloads are 150-300 characters, i.e. QR versions 8-13 at level M.

One symbol is built per call with the ``qrcode`` package (ISO/IEC 18004: error correction
level M, 15 % recovery, a good balance between density and robustness to screen glare and
JPEG artefacts; a 4-module quiet zone as the standard requires) and drawn twice from the same
module matrix:

- :func:`qr_png` - a 1-bit PNG, ``box_size`` pixels per module (8 by default, so a screenshot
  down-scaled by 2-3x still has several pixels per module),
- :func:`qr_svg` - a standalone SVG document sized only by its ``viewBox`` (one user unit per
  module), black modules as one ``<path>`` of 1-unit-wide horizontal strokes (one per run of
  dark modules) on a white background, so it scales to any container and stays small (about
  6 KB for a 250-character link). It has no XML declaration, so the same text can be served
  as ``image/svg+xml`` or inlined into HTML.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from PIL import Image
from qrcode.exceptions import DataOverflowError

__all__ = ["MAX_DATA_CHARS", "qr_png", "qr_svg"]

MAX_DATA_CHARS = 2000  # version 40-M holds 2331 bytes; request_uri links are far shorter
QUIET_ZONE = 4  # modules (ISO/IEC 18004 §6.3.8)
_MAX_BOX_SIZE = 64


def _matrix(data: str) -> list[list[bool]]:
    """The module matrix (quiet zone included), ``True`` = dark, as rows top to bottom."""
    if not isinstance(data, str) or not data:
        raise ValueError("QR data must be a non-empty string")
    if len(data) > MAX_DATA_CHARS:
        raise ValueError(f"QR data is {len(data)} characters, more than {MAX_DATA_CHARS}")
    code = qrcode.QRCode(
        version=None, error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE
    )
    code.add_data(data)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError):  # ValueError: "Invalid version (was 41 ...)"
        raise ValueError("QR data does not fit in a QR code at error correction M") from None
    return [[bool(module) for module in row] for row in code.get_matrix()]


def qr_png(data: str, *, box_size: int = 8) -> bytes:
    """Render ``data`` as a 1-bit PNG with ``box_size`` pixels per module."""
    if (
        isinstance(box_size, bool)
        or not isinstance(box_size, int)
        or not 1 <= box_size <= _MAX_BOX_SIZE
    ):
        raise ValueError(f"box_size must be an integer in [1, {_MAX_BOX_SIZE}]")
    matrix = _matrix(data)
    size = len(matrix)
    small = Image.new("1", (size, size), 1)
    small.putdata([0 if dark else 1 for row in matrix for dark in row])
    image = small.resize((size * box_size, size * box_size), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def qr_svg(data: str) -> str:
    """Render ``data`` as a standalone, scalable SVG document (one user unit per module)."""
    matrix = _matrix(data)
    size = len(matrix)
    rows: list[str] = []
    for y, row in enumerate(matrix):
        # Row y as horizontal 1-unit strokes: "M<x> <y>h<len>" then "m<gap> 0h<len>" per run.
        parts: list[str] = []
        pen = 0  # x where the previous run ended
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            move = f"M{start} {y}" if not parts else f"m{start - pen} 0"
            parts.append(f"{move}h{x - start}")
            pen = x
        rows.append("".join(parts))
    # The strokes are centred on their line, hence the half-unit shift down.
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        'shape-rendering="crispEdges" role="img" aria-label="QR code">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        '<path transform="translate(0 .5)" fill="none" stroke="#000" stroke-width="1" '
        f'd="{"".join(rows)}"/></svg>\n'
    )
