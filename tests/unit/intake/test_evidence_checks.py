"""Evidence files are judged by their content: what comes out, and what is refused."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image
from PIL.ExifTags import IFD
from PIL.PngImagePlugin import PngInfo

from services.intake.evidence import (
    MAX_FILE_BYTES,
    EvidenceRejected,
    Problem,
    Upload,
    check,
    clean_filename,
    download_name,
    sniff,
)
from tests.evidence_samples import (
    animated_png,
    pdf,
    photo_with_gps,
    screenshot,
    too_large,
    wide_png,
)

pytestmark = pytest.mark.unit


def refused_kind(data: bytes, name: str = "file.bin") -> str:
    with pytest.raises(EvidenceRejected) as caught:
        check(Upload(2, name, data))
    (problem,) = caught.value.problems
    assert problem.index == 2 and problem.filename == name
    return problem.kind


def test_photo_loses_gps_and_camera_and_comment_but_is_turned_upright() -> None:
    received = photo_with_gps(size=(64, 32), orientation=6)
    assert Image.open(io.BytesIO(received)).getexif().get_ifd(IFD.GPSInfo)  # the sample has it

    checked = check(Upload(0, "IMG_0001.jpg", received))

    stored = Image.open(io.BytesIO(checked.data))
    assert stored.format == "JPEG" and checked.content_type == "image/jpeg"
    assert len(stored.getexif()) == 0
    assert "exif" not in stored.info and "comment" not in stored.info
    assert b"PhoneMaker" not in checked.data and b"taken at home" not in checked.data
    assert stored.size == (32, 64)  # orientation 6: rotated a quarter turn, then dropped


def test_both_hashes_are_recorded() -> None:
    received = photo_with_gps()
    checked = check(Upload(0, "a.jpg", received))
    assert checked.sha256_received == hashlib.sha256(received).hexdigest()
    assert checked.sha256_stored == hashlib.sha256(checked.data).hexdigest()
    assert checked.sha256_received != checked.sha256_stored


def test_png_text_chunks_are_removed() -> None:
    checked = check(Upload(0, "shot.png", screenshot("PNG")))
    assert b"Nguyen Van A" not in checked.data
    assert Image.open(io.BytesIO(checked.data)).format == "PNG"


def test_webp_is_kept_as_webp() -> None:
    checked = check(Upload(0, "shot.webp", screenshot("WEBP")))
    assert checked.content_type == "image/webp"
    assert Image.open(io.BytesIO(checked.data)).format == "WEBP"


def test_a_png_named_pdf_is_stored_as_png() -> None:
    checked = check(Upload(0, "statement.pdf", screenshot("PNG")))
    assert checked.content_type == "image/png"
    assert download_name(checked.filename, checked.content_type) == "statement.png"


def test_pdf_is_stored_as_received() -> None:
    received = pdf(pages=2)
    checked = check(Upload(0, "bank.pdf", received))
    assert checked.content_type == "application/pdf"
    assert checked.data == received
    assert checked.sha256_received == checked.sha256_stored


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"just some text, named like a photo", "evidence_type"),
        (b"GIF89a" + b"\0" * 40, "evidence_type"),
        (b"\xff\xd8\xff\xe0" + b"garbage" * 10, "evidence_unreadable"),
        (b"%PDF-1.7\nnot really a pdf", "evidence_unreadable"),
        (photo_with_gps()[:200], "evidence_unreadable"),
        (too_large(), "evidence_too_large"),
        (b"", "evidence_empty"),
        (animated_png(), "evidence_animated"),
        (wide_png(10_000, 5_000), "evidence_too_many_pixels"),
        (wide_png(20_000, 10_000), "evidence_too_many_pixels"),  # past Pillow's own bomb limit
    ],
    ids=[
        "text",
        "gif",
        "broken-jpeg",
        "broken-pdf",
        "truncated-jpeg",
        "too-large",
        "empty",
        "animated",
        "too-many-pixels",
        "decompression-bomb",
    ],
)
def test_files_that_are_not_what_we_take_are_refused(data: bytes, kind: str) -> None:
    assert refused_kind(data, "photo.jpg") == kind


def test_size_limit_is_five_mebibytes() -> None:
    assert MAX_FILE_BYTES == 5 * 1024 * 1024
    assert refused_kind(too_large(MAX_FILE_BYTES + 1)) == "evidence_too_large"


def test_the_type_comes_from_magic_numbers_only() -> None:
    assert sniff(screenshot("PNG")) == "image/png"
    assert sniff(screenshot("JPEG")) == "image/jpeg"
    assert sniff(screenshot("WEBP")) == "image/webp"
    assert sniff(pdf()) == "application/pdf"
    assert sniff(b"RIFF\0\0\0\0WAVEfmt ") is None


def test_rejection_status_prefers_413_then_415() -> None:
    problems = [Problem("evidence_unreadable", 0, "a"), Problem("evidence_type", 1, "b")]
    assert EvidenceRejected(problems).status == 415
    assert EvidenceRejected([*problems, Problem("evidence_too_large", 2, "c")]).status == 413
    assert EvidenceRejected([Problem("evidence_count", None, "")]).status == 422


def test_problem_names_the_part_index_and_filename_in_both_languages() -> None:
    problem = Problem("evidence_type", 1, "notes.jpg")
    assert problem.detail() == {
        "field": "evidence.1",
        "message": "File 2 (notes.jpg) is not a JPEG, PNG or WebP image or a PDF",
        "type": "evidence_type",
    }
    assert problem.message("vi").startswith("Tệp 2 (notes.jpg)")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C:\\Users\\a\\Desktop\\ảnh.png", "ảnh.png"),
        ("../../etc/passwd", "passwd"),
        ("%E1%BA%A3nh%201.jpg", "ảnh 1.jpg"),
        ("a%2F..%2Fb%0A.png", "b.png"),
        ("a\x00b\u202ec.png", "abc.png"),
        ("", "evidence-4"),
        (None, "evidence-4"),
        ("x" * 300, "x" * 200),
    ],
)
def test_filenames_lose_directories_and_control_characters(raw: str | None, expected: str) -> None:
    assert clean_filename(raw, 3) == expected


def _with_metadata(fmt: str) -> bytes:
    """An image in `fmt` carrying GPS EXIF and an XMP packet naming a place."""
    exif = Image.open(io.BytesIO(photo_with_gps())).getexif()
    out = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Ho Hoan Kiem, Ha Noi</x:xmpmeta>'
    options: dict[str, object] = {"exif": exif, "xmp": xmp}
    if fmt == "PNG":  # PNG keeps XMP in an iTXt chunk
        info = PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode())
        options = {"exif": exif, "pnginfo": info}
    Image.new("RGB", (16, 16), (9, 9, 9)).save(out, format=fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_and_xmp_are_removed_in_every_image_format(fmt: str) -> None:
    received = _with_metadata(fmt)
    assert b"Hoan Kiem" in received and b"PhoneMaker" in received  # the sample carries both
    checked = check(Upload(0, f"x.{fmt.lower()}", received))
    assert b"Hoan Kiem" not in checked.data and b"PhoneMaker" not in checked.data
    stored = Image.open(io.BytesIO(checked.data))
    assert stored.format == fmt and len(stored.getexif()) == 0
