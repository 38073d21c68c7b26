"""The QR code of a survey's public link, as SVG made by segno: inline in the printable staff
page and as a file to download for posters and slides.

The app's CSP allows no inline styles, so the SVG carries presentation attributes only; any
`style` attribute segno might add in a later version is removed here.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import segno

SVG_NS = "http://www.w3.org/2000/svg"
# Medium error correction survives a smudged or folded print; the quiet zone (border) is the
# standard's four modules.
ERROR = "m"
BORDER = 4


def qr_svg(url: str, *, title: str, inline: bool, scale: int = 10) -> str:
    """The QR code of `url` as SVG with `title` as its accessible name (escaped here, so any
    survey title is safe). `inline`: for an HTML page (no XML declaration or namespace, with
    role="img"); otherwise a standalone .svg document. No width or height: the page's CSS
    sizes it."""
    code = segno.make(url, error=ERROR, micro=False)
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        scale=scale,
        border=BORDER,
        xmldecl=False,
        svgns=True,
        nl=False,
        omitsize=True,
        svgclass="qr-code",
        lineclass=None,
        dark="#000",
        light="#fff",
    )
    ET.register_namespace("", SVG_NS)
    root = ET.fromstring(buffer.getvalue())  # noqa: S314 (segno's own output)
    for element in root.iter():
        element.attrib.pop("style", None)
    label = ET.Element(f"{{{SVG_NS}}}title", {"id": "qr-code-title"} if inline else {})
    label.text = title
    root.insert(0, label)
    if inline:
        root.set("role", "img")
        root.set("aria-labelledby", "qr-code-title")
    text = ET.tostring(root, encoding="unicode")
    if inline:
        # The HTML parser puts <svg> in the SVG namespace by itself.
        text = text.replace(f' xmlns="{SVG_NS}"', "", 1)
        return text
    return '<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n"
