"""Evidence files checked by their content: images re-encoded without metadata, PDFs as sent.

What a file is comes from its bytes only (magic numbers, then Pillow decoding the whole image
or pypdf opening the whole document), never from its name or declared type. An image is
turned upright by its EXIF orientation and written again from its pixels alone: EXIF (with
any GPS position), XMP, comments and text chunks are gone; the ICC colour profile is kept, as
it describes colours, not the photographer. A PDF is stored byte for byte (so a signed
statement stays verifiable), after pypdf has read its page tree. Everything here is
synchronous and CPU-bound: callers run it in a worker thread.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from PIL import Image, ImageOps
from pypdf import PdfReader

ContentType = Literal["image/jpeg", "image/png", "image/webp", "application/pdf"]
MAX_FILES = 5
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # decoded size bound: a 40-megapixel RGBA image is 160 MB in memory
MAX_PDF_PAGES = 500
MAX_FILENAME = 200
FIELD = "evidence"
PILLOW_FORMATS: dict[str, ContentType] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
}
EXTENSIONS: dict[ContentType, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}
# Why a file is refused: HTTP status, then the message in each language ({name} is the file).
PROBLEMS: dict[str, tuple[int, str, str]] = {
    "evidence_too_large": (
        413,
        "{name} is larger than 5 MB",
        "{name} lớn hơn 5 MB",
    ),
    "evidence_type": (
        415,
        "{name} is not a JPEG, PNG or WebP image or a PDF",
        "{name} không phải ảnh JPEG, PNG, WebP hoặc tệp PDF",
    ),
    "evidence_unreadable": (
        422,
        "{name} cannot be read: the file is damaged or not what it claims to be",
        "Không đọc được {name}: tệp bị hỏng hoặc không đúng định dạng",
    ),
    "evidence_too_many_pixels": (
        422,
        "{name} has too many pixels (at most 40 megapixels)",
        "{name} có quá nhiều điểm ảnh (tối đa 40 megapixel)",
    ),
    "evidence_animated": (
        422,
        "{name} is animated; attach a still image",
        "{name} là ảnh động; hãy đính kèm ảnh tĩnh",
    ),
    "evidence_encrypted": (
        422,
        "{name} is a password-protected PDF",
        "{name} là tệp PDF có mật khẩu",
    ),
    "evidence_too_many_pages": (
        422,
        "{name} has more than 500 pages",
        "{name} có hơn 500 trang",
    ),
    "evidence_empty": (
        422,
        "{name} is empty",
        "{name} là tệp rỗng",
    ),
    "evidence_count": (
        422,
        "at most 5 files can be attached",
        "Chỉ được đính kèm tối đa 5 tệp",
    ),
}


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: its position among the evidence parts, its name, its bytes."""

    index: int
    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed: what to store, and the hashes of what arrived and what is kept."""

    index: int
    filename: str
    content_type: ContentType
    data: bytes
    sha256_received: str
    sha256_stored: str


@dataclass(frozen=True)
class Problem:
    """Why one file (or the set of files) is refused."""

    kind: str
    index: int | None
    filename: str

    @property
    def status(self) -> int:
        """The HTTP status this problem alone would answer."""
        return PROBLEMS[self.kind][0]

    @property
    def field(self) -> str:
        """`evidence.N` for a file (N from 0, as pydantic names list items), else `evidence`."""
        return FIELD if self.index is None else f"{FIELD}.{self.index}"

    def message(self, language: str = "en") -> str:
        """The message in `language` (vi or en), naming the file."""
        _, english, vietnamese = PROBLEMS[self.kind]
        if self.index is None:
            name = self.filename
        elif language == "vi":
            name = f"Tệp {self.index + 1} ({self.filename})"
        else:
            name = f"File {self.index + 1} ({self.filename})"
        return (vietnamese if language == "vi" else english).format(name=name)

    def detail(self, language: str = "en") -> dict[str, str]:
        """The `{field, message, type}` item of a JSON error body."""
        return {"field": self.field, "message": self.message(language), "type": self.kind}


class EvidenceRejected(Exception):
    """One or more files cannot be accepted; nothing has been stored."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message() for p in problems))
        self.problems = problems

    @property
    def status(self) -> int:
        """413 when a file is too large, else 415 for a type not taken, else 422."""
        statuses = {p.status for p in self.problems}
        return next(s for s in (413, 415, 422) if s in statuses)

    def details(self, language: str = "en") -> list[dict[str, str]]:
        """Every problem as a JSON error item."""
        return [p.detail(language) for p in self.problems]


def clean_filename(raw: str | None, index: int) -> str:
    """The name as the reporter's device gave it (percent-escapes decoded, as browsers and
    aiohttp escape quotes and non-ASCII), without directories or control characters."""
    name = unicodedata.normalize("NFC", unquote(raw or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:MAX_FILENAME] or f"evidence-{index + 1}"


def sniff(data: bytes) -> ContentType | None:
    """The type the leading bytes (magic numbers) announce, if one we take."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def sha256(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def first_problem(upload: Upload) -> Problem | None:
    """The cheap checks (size, magic number), before anything is decoded."""
    kind = None
    if not upload.data:
        kind = "evidence_empty"
    elif len(upload.data) > MAX_FILE_BYTES:
        kind = "evidence_too_large"
    elif sniff(upload.data) is None:
        kind = "evidence_type"
    return None if kind is None else Problem(kind, upload.index, upload.filename)


def check(upload: Upload) -> CheckedFile:
    """Decode and clean one file (CPU-bound); raises EvidenceRejected naming it."""
    if (problem := first_problem(upload)) is not None:
        raise EvidenceRejected([problem])
    content_type = sniff(upload.data)
    assert content_type is not None  # first_problem refused anything else
    try:
        if content_type == "application/pdf":
            stored = check_pdf(upload.data)
        else:
            stored = clean_image(upload.data, content_type)
    except _Refused as refused:
        raise EvidenceRejected([Problem(refused.kind, upload.index, upload.filename)]) from None
    return CheckedFile(
        index=upload.index,
        filename=upload.filename,
        content_type=content_type,
        data=stored,
        sha256_received=sha256(upload.data),
        sha256_stored=sha256(stored),
    )


class _Refused(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def clean_image(data: bytes, content_type: ContentType) -> bytes:
    """The image upright and re-encoded in its own format from its pixels alone."""
    image = _open_image(data, content_type)
    icc_profile = image.info.get("icc_profile")
    transparency = image.info.get("transparency")
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # a damaged EXIF block
        raise _Refused("evidence_unreadable") from None
    upright.info = {}  # what a saver could copy from: nothing of the original's metadata
    options: dict[str, Any] = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if content_type == "image/jpeg":
        options |= {"quality": 90}
    elif content_type == "image/webp":
        options |= {"lossless": _lossless_webp(data), "quality": 90}
    elif transparency is not None:
        options["transparency"] = transparency
    out = io.BytesIO()
    upright.save(out, format=content_type.removeprefix("image/").upper(), **options)
    return out.getvalue()


def _open_image(data: bytes, content_type: ContentType) -> Image.Image:
    """Open and fully decode, refusing other formats, animations and too many pixels."""
    try:
        image = Image.open(io.BytesIO(data), formats=[f for f in PILLOW_FORMATS])
        if PILLOW_FORMATS.get(image.format or "") != content_type:
            raise _Refused("evidence_unreadable")
        if image.width * image.height > MAX_PIXELS:
            raise _Refused("evidence_too_many_pixels")
        if getattr(image, "n_frames", 1) > 1:
            raise _Refused("evidence_animated")
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _Refused("evidence_too_many_pixels") from None
    except _Refused:
        raise
    except Exception:  # untrusted bytes: Pillow raises many kinds on damaged files
        raise _Refused("evidence_unreadable") from None
    return image


def _lossless_webp(data: bytes) -> bool:
    """Whether a WebP holds a lossless (VP8L) bitstream, kept lossless when re-encoded."""
    return b"VP8L" in data[12:4096]


def check_pdf(data: bytes) -> bytes:
    """The PDF as received, once pypdf has opened it and walked its pages."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Refused("evidence_encrypted")
        pages = len(reader.pages)
    except _Refused:
        raise
    except Exception:  # untrusted bytes: pypdf raises many kinds on damaged files
        raise _Refused("evidence_unreadable") from None
    if pages == 0:
        raise _Refused("evidence_unreadable")
    if pages > MAX_PDF_PAGES:
        raise _Refused("evidence_too_many_pages")
    return data


def download_name(filename: str, content_type: ContentType) -> str:
    """The name to save a stored file under: the reporter's name with the true extension."""
    stem, dot, _ = filename.rpartition(".")
    base = stem if dot and stem else filename
    return base + EXTENSIONS[content_type]
