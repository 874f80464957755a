"""Helpers of the handheld's Chromium tests: what a grower types into each form field, and
pictures of QR and DataMatrix codes (PNG for the photo input, Y4M for the fake camera)."""

from __future__ import annotations

import struct
import zlib

import zxingcpp

WIDGET_SAMPLES: dict[str, object] = {
    "text": "样例文字",
    "decimal": "12.5",
    "integer": "3",
    "date": "2026-05-02",
    "datetime": "2026-05-02T08:30",
    "checkbox": True,
    "checks": ["washing", "drying"],
    "lines": "SN001\nSN002",
}
PATH_SAMPLES: dict[str, object] = {
    "batch": "FS-NEW-001",
    "herd": "SY-HERD-001",
    "packed_batch": "FS-PK-001",
    "outputs[0].batch": "FS-FP-001",
    "sensor": "dryer-1",
    "shipment": "SHP-2026-001",
    "to": "org-jian-processor",
    "to_site": "site-jian-plant",
    "sender": "org-fusong-coop",
    "lab": "org-jilin-lab",
    "product.gtin": "06901234567892",
    "product.lot": "JA2026HS001",
    "items[0].item": "moisture",
    "herb": "renshen",
    "area.unit": "mu",
    "input": "fertiliser",
    "dose.unit": "kg/mu",
    "activity": "velvet_cutting",
    "kind": "drying_room",
    "items[0].unit": "%",
    "result": "pass",
    "unit_quantity.unit": "g",
}
"""What a grower types into each form field, by path, else by widget."""


def sample(form_id: str, field: dict[str, str]) -> object:
    if form_id == "planting" and field["path"] == "method":
        return "forest_understory"
    if field["path"] in PATH_SAMPLES:
        return PATH_SAMPLES[field["path"]]
    if field["path"].endswith("quantity.unit"):
        return "kg"
    return WIDGET_SAMPLES[field["widget"]]


def code_image(text: str, kind: str, *, gs1: bool = False) -> tuple[int, int, bytes]:
    """A QR or DataMatrix code of `text` drawn by zxing-cpp, 10 px a module, with a white
    margin: (width, height, 8-bit grey pixels)."""
    code_format = (
        zxingcpp.BarcodeFormat.QRCode if kind == "qr" else zxingcpp.BarcodeFormat.DataMatrix
    )
    code = zxingcpp.create_barcode(text, code_format, gs1=gs1)
    view = memoryview(code.to_image(scale=10))
    height, width = view.shape
    pixels = view.tobytes()
    margin = 60
    full_width = width + 2 * margin
    full_width += full_width % 2
    blank = b"\xff" * full_width
    rows = [blank] * margin
    for y in range(height):
        row = b"\xff" * margin + pixels[y * width : (y + 1) * width]
        rows.append(row + b"\xff" * (full_width - len(row)))
    rows += [blank] * (margin + (height + 2 * margin) % 2)
    return full_width, len(rows), b"".join(rows)


def png(width: int, height: int, grey: bytes) -> bytes:
    """An 8-bit greyscale PNG of `grey` (rows of `width` bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + grey[y * width : (y + 1) * width] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def y4m(width: int, height: int, grey: bytes) -> bytes:
    """One frame of 4:2:0 video showing `grey` (even width and height), for Chromium's fake
    camera."""
    header = f"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n".encode()
    chroma = b"\x80" * (width // 2 * height // 2)
    return header + b"FRAME\n" + grey + chroma + chroma
