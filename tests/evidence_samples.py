"""Evidence files for tests: a phone photo with GPS EXIF, screenshots, PDFs, impostors."""

from __future__ import annotations

import io

from PIL import Image
from PIL.ExifTags import GPS, IFD, Base
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfWriter

# Hà Nội, Hoàn Kiếm lake: what a phone writes into a photo taken there.
GPS_LATITUDE = (21.0, 1.0, 4.0)
GPS_LONGITUDE = (105.0, 51.0, 9.0)


def photo_with_gps(*, size: tuple[int, int] = (64, 32), orientation: int = 6) -> bytes:
    """A JPEG carrying GPS position, camera model, an orientation tag and a comment."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))  # left half blue
    exif = Image.Exif()
    exif[Base.Make] = "PhoneMaker"
    exif[Base.Model] = "Phone 15"
    exif[Base.Orientation] = orientation
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS.GPSLatitudeRef] = "N"
    gps[GPS.GPSLatitude] = GPS_LATITUDE
    gps[GPS.GPSLongitudeRef] = "E"
    gps[GPS.GPSLongitude] = GPS_LONGITUDE
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"taken at home")
    return out.getvalue()


def screenshot(fmt: str = "PNG", *, size: tuple[int, int] = (40, 30)) -> bytes:
    """A small image in `fmt` (PNG, WEBP or JPEG) with a text chunk where the format has one."""
    image = Image.new("RGB", size, (250, 250, 250))
    out = io.BytesIO()
    if fmt == "PNG":
        info = PngInfo()
        info.add_text("Author", "Nguyen Van A")
        image.save(out, format="PNG", pnginfo=info)
    else:
        image.save(out, format=fmt)
    return out.getvalue()


def pdf(pages: int = 1) -> bytes:
    """A PDF with blank pages."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Author": "Nguyen Van A"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def too_large(size: int = 6 * 1024 * 1024) -> bytes:
    """A PNG signature followed by padding: over the size limit before anything is decoded."""
    return b"\x89PNG\r\n\x1a\n" + b"\0" * (size - 8)


def animated_png() -> bytes:
    """A two-frame APNG."""
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, format="PNG", save_all=True, append_images=frames[1:])
    return out.getvalue()


def wide_png(width: int, height: int) -> bytes:
    """A one-bit PNG of a huge size: tiny on disk, enormous once decoded (a decompression bomb)."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, format="PNG", optimize=True)
    return out.getvalue()
