"""QR codes of Digital Link URIs, as PNG or SVG, for printing on batch and unit labels.

Each image encodes exactly the URI `https://{HERBTRACE_DIGITAL_LINK_HOST}/01/{GTIN-14}/10/
{lot}[/21/{serial}]` (byte mode, error correction level M, the standard 4-module quiet zone).
The PNG is 1-bit greyscale, `scale` pixels a module; the SVG is one path in millimetres,
0.5 mm a module (a 41-module symbol prints 20.5 mm wide), for label software to scale.

A QR code is a pure function of the URI, so any valid link renders (labels may be printed
before the packing event is logged) and responses may be cached for a day.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

import qrcode
from fastapi import APIRouter, Query
from fastapi.responses import Response
from qrcode.image.pure import PyPNGImage
from qrcode.image.svg import SvgPathImage

from api.deps import Public, SettingsDep
from api.errors import error_responses
from api.routes.digital_link import Gtin, Lot, Serial
from traceability.digital_link import DigitalLink

router = APIRouter(tags=["digital link"], dependencies=[Public])

PNG = "image/png"
SVG = "image/svg+xml"
SVG_MODULE_TENTHS_MM = 5
CACHE = {"Cache-Control": "public, max-age=86400"}

Scale = Annotated[int, Query(ge=1, le=40, description="pixels per module")]


def _qr(uri: str, box_size: int) -> qrcode.QRCode:
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4
    )
    code.add_data(uri.encode("ascii"), optimize=0)
    code.make(fit=True)
    return code


def qr_matrix(uri: str) -> list[list[bool]]:
    """Return the QR symbol's modules (True is dark), quiet zone included."""
    return [list(row) for row in _qr(uri, 1).get_matrix()]


def render_png(uri: str, scale: int = 8) -> bytes:
    """Return a 1-bit PNG of the QR code of `uri`, `scale` pixels a module."""
    out = io.BytesIO()
    _qr(uri, scale).make_image(image_factory=PyPNGImage).save(out)
    return out.getvalue()


def render_svg(uri: str) -> bytes:
    """Return an SVG of the QR code of `uri`: one path, 0.5 mm a module."""
    out = io.BytesIO()
    _qr(uri, SVG_MODULE_TENTHS_MM).make_image(image_factory=SvgPathImage).save(out)
    return out.getvalue()


def _image(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "the QR code of the Digital Link URI",
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        },
        **error_responses(400, 422, 429),
    }


@router.get("/01/{gtin}/10/{lot}/qr.png", response_class=Response, responses=_image(PNG))
def batch_qr_png(gtin: Gtin, lot: Lot, settings: SettingsDep, scale: Scale = 8) -> Response:
    """The QR code of a batch's Digital Link, as PNG."""
    uri = DigitalLink(gtin, lot=lot).uri(settings.digital_link_host)
    return Response(render_png(uri, scale), media_type=PNG, headers=CACHE)


@router.get("/01/{gtin}/10/{lot}/qr.svg", response_class=Response, responses=_image(SVG))
def batch_qr_svg(gtin: Gtin, lot: Lot, settings: SettingsDep) -> Response:
    """The QR code of a batch's Digital Link, as SVG."""
    uri = DigitalLink(gtin, lot=lot).uri(settings.digital_link_host)
    return Response(render_svg(uri), media_type=SVG, headers=CACHE)


@router.get(
    "/01/{gtin}/10/{lot}/21/{serial}/qr.png", response_class=Response, responses=_image(PNG)
)
def unit_qr_png(
    gtin: Gtin, lot: Lot, serial: Serial, settings: SettingsDep, scale: Scale = 8
) -> Response:
    """The QR code of a packed unit's Digital Link, as PNG."""
    uri = DigitalLink(gtin, lot=lot, serial=serial).uri(settings.digital_link_host)
    return Response(render_png(uri, scale), media_type=PNG, headers=CACHE)


@router.get(
    "/01/{gtin}/10/{lot}/21/{serial}/qr.svg", response_class=Response, responses=_image(SVG)
)
def unit_qr_svg(gtin: Gtin, lot: Lot, serial: Serial, settings: SettingsDep) -> Response:
    """The QR code of a packed unit's Digital Link, as SVG."""
    uri = DigitalLink(gtin, lot=lot, serial=serial).uri(settings.digital_link_host)
    return Response(render_svg(uri), media_type=SVG, headers=CACHE)
