"""QR codes of Digital Links: the PNG and the SVG decode to exactly the link's URI."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal

import png
import pytest
import zxingcpp
from api_support import api_settings
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes.qr import qr_matrix
from traceability.ledger import initialise

HOST = "id.example.cn"
GTIN = "06901234567892"
BATCH = f"/01/{GTIN}/10/FS2026A"
UNIT = f"{BATCH}/21/0001"
_SQUARE = re.compile(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H([\d.]+)z")


def decode(pixels: list[list[bool]]) -> list[str]:
    """Decode every QR code in a bitmap (True is dark) with zxing-cpp."""
    height, width = len(pixels), len(pixels[0])
    luminance = bytes(0 if dark else 255 for row in pixels for dark in row)
    image = zxingcpp.ImageView(luminance, width, height, zxingcpp.ImageFormat.Lum)
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def png_pixels(data: bytes) -> list[list[bool]]:
    """Read a greyscale PNG into a bitmap, True where dark."""
    width, height, rows, info = png.Reader(bytes=data).asDirect()
    assert info["greyscale"]
    top = 2 ** info["bitdepth"] - 1
    bitmap = [[value < top / 2 for value in row] for row in rows]
    assert (len(bitmap), len(bitmap[0])) == (height, width)
    return bitmap


def svg_modules(data: bytes) -> list[list[bool]]:
    """Read the SVG's one path of squares back into the grid of modules, quiet zone included."""
    root = ET.fromstring(data)  # noqa: S314 - our own server's output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    size = Decimal(root.attrib["width"].removesuffix("mm"))
    paths = root.findall("{http://www.w3.org/2000/svg}path")
    assert len(paths) == 1
    squares = _SQUARE.findall(paths[0].attrib["d"])
    assert squares
    module = Decimal(squares[0][2]) - Decimal(squares[0][0])
    assert module == Decimal("0.5")  # 0.5 mm a module
    count = int(size / module)
    grid = [[False] * count for _ in range(count)]
    for x, y, x2, y2, back in squares:
        assert (Decimal(x2) - Decimal(x), Decimal(y2) - Decimal(y), back) == (module, module, x)
        grid[int(Decimal(y) / module)][int(Decimal(x) / module)] = True
    return grid


def scaled(grid: list[list[bool]], factor: int) -> list[list[bool]]:
    """Enlarge a module grid so that each module is `factor` pixels square."""
    return [[cell for cell in row for _ in range(factor)] for row in grid for _ in range(factor)]


@pytest.fixture(name="client")
def _client(sqlite_url: str) -> Iterator[TestClient]:
    """A client of the app on a fresh database, its Digital Link host id.example.cn."""
    settings = api_settings(sqlite_url, digital_link_host=HOST)
    initialise(settings)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("path", [UNIT, BATCH, f"{BATCH}/21/A%2B1.x_y-z"])
def test_png_decodes_to_the_exact_uri(client: TestClient, path: str) -> None:
    """The PNG is a QR code whose text is exactly https://{host}{path}, cacheable."""
    response = client.get(f"{path}/qr.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "public, max-age=86400"
    assert decode(png_pixels(response.content)) == [f"https://{HOST}{path}"]


@pytest.mark.parametrize("path", [UNIT, BATCH])
def test_svg_is_the_same_symbol_and_decodes(client: TestClient, path: str) -> None:
    """The SVG's modules are exactly the QR symbol of the URI, and they decode to it."""
    uri = f"https://{HOST}{path}"
    response = client.get(f"{path}/qr.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    grid = svg_modules(response.content)
    assert grid == qr_matrix(uri)
    assert decode(scaled(grid, 4)) == [uri]


def test_png_scale_sets_pixels_per_module(client: TestClient) -> None:
    """?scale=N makes every module N pixels square: the symbol's width times N."""
    modules = len(qr_matrix(f"https://{HOST}{UNIT}"))
    for scale in (1, 3, 12):
        pixels = png_pixels(client.get(f"{UNIT}/qr.png", params={"scale": scale}).content)
        assert len(pixels) == len(pixels[0]) == modules * scale
        if scale >= 3:  # 1-pixel modules are below what a camera library reads reliably
            assert decode(pixels) == [f"https://{HOST}{UNIT}"]


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/01/06901234567893/10/X/qr.png", 400, "check digit"),
        ("/01/06901234567893/10/X/21/1/qr.svg", 400, "check digit"),
        (f"/01/{GTIN}/10/a%20b/qr.svg", 400, "82-character set"),
        (f"{UNIT}/qr.png?scale=0", 422, "scale"),
        (f"{UNIT}/qr.png?scale=41", 422, "scale"),
    ],
)
def test_bad_links_get_no_image_but_a_json_reason(
    client: TestClient, path: str, status: int, reason: str
) -> None:
    """A bad check digit, lot or scale gets a 4xx JSON error instead of an image."""
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert reason in response.json()["reason"]
