"""QR rendering (verifier.presentations.qr) and scanning (wallet_sim.scan): round trips,
screenshots, SVG."""

from __future__ import annotations

import io
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import qrcode
import qrcode.constants
from PIL import Image, ImageDraw

from verifier.presentations.qr import qr_png, qr_svg
from wallet_sim.scan import QRDecodeError, decode_qr

SVG_NS = "{http://www.w3.org/2000/svg}"
CLIENT_ID = "x509_hash%3AUvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk"
REQUEST_URI = "https%3A%2F%2Fverifier.example%2Foid4vp%2Frequest%2F"


def request_link(length: int, *, scheme: str = "openid4vp://") -> str:
    """A realistic cross-device link padded (inside the request id) to exactly ``length``."""
    head = f"{scheme}?client_id={CLIENT_ID}&request_uri={REQUEST_URI}"
    tail = "&request_uri_method=post"
    rnd = random.Random(length)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    ident = "".join(rnd.choice(alphabet) for _ in range(length - len(head) - len(tail)))
    link = head + ident + tail
    assert len(link) == length
    return link


LINKS = [
    "openid4vp://?client_id=redirect_uri%3Ahttps%3A%2F%2Fv.example%2Fcb&request_uri=https%3A%2F%2Fv.example%2Fr%2F1",
    request_link(180),
    request_link(220, scheme="haip-vp://"),
    request_link(250),
    request_link(300),
]


def reference_matrix(data: str) -> list[list[bool]]:
    """What ``qrcode`` itself builds for level M and a 4-module quiet zone."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    return [[bool(m) for m in row] for row in code.get_matrix()]


def png_matrix(png: bytes, box_size: int) -> list[list[bool]]:
    """Sample the centre pixel of every module of a rendered PNG."""
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.width == image.height
    assert image.width % box_size == 0
    size = image.width // box_size
    half = box_size // 2
    return [
        [image.getpixel((c * box_size + half, r * box_size + half)) == 0 for c in range(size)]
        for r in range(size)
    ]


def svg_matrix(svg: str) -> list[list[bool]]:
    """Rebuild the module matrix from the SVG: viewBox size and the one path's strokes."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    x0, y0, width, height = (int(v) for v in root.attrib["viewBox"].split())
    assert (x0, y0) == (0, 0)
    assert width == height
    paths = root.findall(f"{SVG_NS}path")
    assert len(paths) == 1
    path = paths[0]
    assert path.attrib["stroke"] == "#000"
    assert path.attrib["stroke-width"] == "1"
    assert path.attrib["transform"] == "translate(0 .5)"
    matrix = [[False] * width for _ in range(height)]
    x = y = 0
    for cmd, a, b in re.findall(r"([MmHh])\s*(-?\d+)(?:[ ,](-?\d+))?", path.attrib["d"]):
        if cmd == "M":
            x, y = int(a), int(b)
        elif cmd == "m":
            x, y = x + int(a), y + int(b)
        else:
            end = int(a) if cmd == "H" else x + int(a)
            for col in range(x, end):
                assert not matrix[y][col], "overlapping runs"
                matrix[y][col] = True
            x = end
    return matrix


@pytest.mark.parametrize("link", LINKS, ids=lambda link: f"{len(link)}chars")
def test_png_round_trip(link: str) -> None:
    assert decode_qr(qr_png(link)) == link


@pytest.mark.parametrize("link", LINKS[1::2], ids=lambda link: f"{len(link)}chars")
def test_png_and_svg_draw_the_reference_matrix_at_level_m(link: str) -> None:
    expected = reference_matrix(link)
    assert png_matrix(qr_png(link), 8) == expected
    assert png_matrix(qr_png(link, box_size=3), 3) == expected
    assert svg_matrix(qr_svg(link)) == expected
    # 4-module light quiet zone on every side
    size = len(expected)
    for i in range(4):
        assert not any(expected[i]) and not any(expected[size - 1 - i])
        assert not any(row[i] or row[size - 1 - i] for row in expected)


def test_png_is_a_crisp_one_bit_png() -> None:
    link = request_link(250)
    png = qr_png(link)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.mode == "1"
    assert image.size == (len(reference_matrix(link)) * 8,) * 2
    assert len(png) < 4000


def test_svg_is_a_standalone_scalable_document() -> None:
    link = request_link(250)
    svg = qr_svg(link)
    root = ET.fromstring(svg)
    size = len(reference_matrix(link))
    assert root.attrib["viewBox"] == f"0 0 {size} {size}"
    assert "width" not in root.attrib and "height" not in root.attrib
    rect = root.find(f"{SVG_NS}rect")
    assert rect is not None and rect.attrib["fill"] == "#fff"
    assert len(svg) < 12_000


def test_file_paths_str_and_path(tmp_path: Path) -> None:
    link = LINKS[3]
    target = tmp_path / "request.png"
    target.write_bytes(qr_png(link))
    assert decode_qr(target) == link
    assert decode_qr(str(target)) == link


def screenshot(code: Image.Image, *, scale: float, at: tuple[int, int]) -> Image.Image:
    """A 1280x900 'page': tinted background, text-like noise, the code scaled by ``scale``."""
    page = Image.new("RGB", (1280, 900), (238, 242, 248))
    draw = ImageDraw.Draw(page)
    rnd = random.Random(7)
    draw.rectangle((0, 0, 1280, 60), fill=(32, 64, 128))
    draw.text((20, 20), "agentvp verifier - scan with your wallet", fill=(255, 255, 255))
    for _ in range(60):
        x, y = rnd.randrange(0, 560), rnd.randrange(80, 880)
        draw.text((x, y), "Lorem ipsum dolor sit amet, consectetur", fill=(40, 40, 40))
    size = round(code.width * scale)
    assert at[0] + size <= page.width and at[1] + size <= page.height, "code must fit the page"
    page.paste(code.convert("RGB").resize((size, size), Image.Resampling.BILINEAR), at)
    return page


def encode(image: Image.Image, fmt: str, **options: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def test_screenshot_like_composite_at_non_integer_scale() -> None:
    link = request_link(250)
    code = Image.open(io.BytesIO(qr_png(link)))  # 69 modules x 8 px = 552 px
    page = screenshot(code, scale=1.37, at=(480, 100))
    assert decode_qr(encode(page, "PNG")) == link
    small = screenshot(code, scale=0.43, at=(900, 400))
    assert decode_qr(encode(small, "PNG")) == link
    longest = request_link(300)
    code = Image.open(io.BytesIO(qr_png(longest, box_size=6)))  # 77 modules x 6 px
    page = screenshot(code, scale=1.37, at=(600, 150))
    assert decode_qr(encode(page, "PNG")) == longest


@pytest.mark.parametrize("quality", [90, 60])
def test_jpeg(quality: int) -> None:
    link = request_link(250)
    code = Image.open(io.BytesIO(qr_png(link)))
    assert decode_qr(encode(code.convert("RGB"), "JPEG", quality=quality)) == link
    page = screenshot(code, scale=0.71, at=(700, 200))
    assert decode_qr(encode(page, "JPEG", quality=quality)) == link


def test_transparent_background_is_flattened_onto_white() -> None:
    link = LINKS[1]
    code = Image.open(io.BytesIO(qr_png(link))).convert("L")
    rgba = Image.new("RGBA", code.size, (0, 0, 0, 0))  # transparent *black*
    rgba.putalpha(code.point(lambda v: 255 - v))  # only the dark modules are opaque
    assert decode_qr(encode(rgba, "PNG")) == link


def test_prefers_the_request_link_among_several_codes() -> None:
    other = "https://example.com/help"
    link = LINKS[2]  # haip-vp://
    page = Image.new("RGB", (1400, 800), "white")
    page.paste(Image.open(io.BytesIO(qr_png(other, box_size=6))).convert("RGB"), (0, 0))
    page.paste(Image.open(io.BytesIO(qr_png(link))).convert("RGB"), (700, 100))
    assert decode_qr(encode(page, "PNG")) == link

    page = Image.new("RGB", (1400, 800), "white")
    page.paste(Image.open(io.BytesIO(qr_png(other, box_size=6))).convert("RGB"), (0, 0))
    page.paste(Image.open(io.BytesIO(qr_png("plain text"))).convert("RGB"), (700, 100))
    assert decode_qr(encode(page, "PNG")) in {other, "plain text"}


def test_blank_image_raises_naming_the_file(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("RGB", (800, 600), "white").save(blank)
    with pytest.raises(QRDecodeError, match=r"blank\.png.*no QR code"):
        decode_qr(blank)
    with pytest.raises(QRDecodeError, match="no QR code"):
        decode_qr(blank.read_bytes())


def test_non_image_raises_qr_decode_error() -> None:
    with pytest.raises(QRDecodeError, match="not a readable image"):
        decode_qr(b"this is not an image")
    with pytest.raises(QRDecodeError, match="not a readable image"):
        decode_qr(qr_png(LINKS[0])[:300])  # truncated PNG


def test_missing_file_is_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        decode_qr(tmp_path / "nope.png")


@pytest.mark.parametrize("render", [qr_png, qr_svg])
def test_rejects_empty_and_oversized_data(render: object) -> None:
    assert callable(render)
    with pytest.raises(ValueError, match="non-empty"):
        render("")
    with pytest.raises(ValueError, match="more than 2000"):
        render("a" * 2001)
    with pytest.raises(ValueError, match="does not fit"):
        render("€" * 1000)  # 3000 UTF-8 bytes > 2331, the level-M capacity


def test_long_but_valid_data_and_box_size_bounds() -> None:
    assert decode_qr(qr_png("a" * 2000, box_size=4)) == "a" * 2000
    with pytest.raises(ValueError, match="box_size"):
        qr_png("x", box_size=0)
