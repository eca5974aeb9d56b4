"""QR codes as inline SVG, made on the server (no network fetches, no images to load)."""

from __future__ import annotations

import html
import re

import qrcode
import qrcode.constants
import qrcode.image.svg


def qr_svg(url: str, label: str = "QR code", css_class: str = "qr") -> str:
    """An <svg> element (sized by CSS) whose QR code encodes `url`."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, image_factory=qrcode.image.svg.SvgPathImage
    )
    qr.add_data(url)
    qr.make(fit=True)
    svg = qr.make_image().to_string(encoding="unicode")
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r'^<svg width="[^"]*" height="[^"]*"', "<svg", svg)
    title = html.escape(label)
    return svg.replace(
        "<svg", f'<svg class="{html.escape(css_class)}" role="img" aria-label="{title}" focusable="false"', 1
    ).replace('id="qr-path" ', "", 1)
