"""Menu image uploads: validate, re-encode, thumbnail (storing them is services/upload_store.py).

Pure library code for `POST /upload/image` and `GET /uploads/{path}`: bytes in, bytes out, no
disk.  Every function may block (Pillow); handlers call them in the executor.

Untrusted bytes are never stored as they came: the format is decided by
content, the pixel count is checked from the header before any decoding, and
what we keep is a fresh encode of the pixels alone, so appended payloads
(polyglots), EXIF/GPS, ICC profiles, text chunks and comments are all gone.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from orm.domain.errors import (
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 1600
THUMB_SIZE = (300, 300)
URL_PREFIX = "/uploads/"
IMAGE_SUBDIR = "menu_items"
THUMB_SUBDIR = "thumbnails"


@dataclass(frozen=True, slots=True)
class _Format:
    name: str
    pillow: str
    content_type: str
    extension: str


_JPEG = _Format("jpeg", "JPEG", "image/jpeg", ".jpg")
_PNG = _Format("png", "PNG", "image/png", ".png")
_GIF = _Format("gif", "GIF", "image/gif", ".gif")
_WEBP = _Format("webp", "WEBP", "image/webp", ".webp")

# Keys are Pillow's `img.format`. Phone cameras write MPO (JPEG with extra
# frames); Pillow's JPEG opener reports it as "MPO", and it is a JPEG to us.
_ACCEPTED = {"JPEG": _JPEG, "MPO": _JPEG, "PNG": _PNG, "GIF": _GIF, "WEBP": _WEBP}
# Only these openers ever see the bytes: BMP, TIFF, ICO, PDF... are not tried.
_OPENERS = ("JPEG", "PNG", "GIF", "WEBP")
_BY_EXTENSION = {f.extension: f.content_type for f in (_JPEG, _PNG, _GIF, _WEBP)}


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    format: str  # "jpeg" | "png" | "gif" | "webp"
    width: int  # of the stored (re-encoded, possibly downscaled) image
    height: int
    content_type: str
    extension: str  # with the dot, e.g. ".jpg"
    image_bytes: bytes
    thumb_bytes: bytes  # exactly THUMB_SIZE, same format


def process_image(
    data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS
) -> ProcessedImage:
    """Validate an uploaded image and return clean re-encoded image + thumbnail bytes.

    Raises PayloadTooLarge (over max_bytes), UnsupportedMediaType (not JPEG/PNG/
    GIF/WebP by content) or ValidationFailed (empty, too many pixels, corrupt).
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"Image is larger than {_human_size(max_bytes)}",
            field_errors={"file": f"must be at most {_human_size(max_bytes)}"},
        )
    if not data:
        raise ValidationFailed(
            "The uploaded file is empty", field_errors={"file": "is empty"}
        )

    with _open(data, max_pixels) as img:
        fmt = _ACCEPTED[img.format or ""]
        pixels = _decode(img, fmt)
    pixels = _normalise_mode(pixels, fmt)
    if max(pixels.size) > MAX_SIDE:
        pixels.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A brand-new image carries no info dict, EXIF or palette metadata at all,
    # so no encoder can copy anything across from the upload.
    clean = Image.new(pixels.mode, pixels.size)
    clean.paste(pixels)
    thumb = ImageOps.fit(clean, THUMB_SIZE, Image.Resampling.LANCZOS)
    return ProcessedImage(
        format=fmt.name,
        width=clean.width,
        height=clean.height,
        content_type=fmt.content_type,
        extension=fmt.extension,
        image_bytes=_encode(clean, fmt),
        thumb_bytes=_encode(thumb, fmt),
    )


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data), formats=_OPENERS)
    except UnidentifiedImageError as exc:
        raise _unsupported() from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning only arrives as an exception when warnings are errors
        # (-W error); either way Pillow judged it from the header alone.
        raise _too_many_pixels(max_pixels) from exc
    except Exception as exc:  # a recognised signature followed by a broken header
        raise _corrupt() from exc
    if img.format not in _ACCEPTED:
        img.close()
        raise _unsupported()
    width, height = img.size
    # Header dimensions, checked before a single pixel is decoded.
    if width < 1 or height < 1 or width * height > max_pixels:
        img.close()
        raise _too_many_pixels(max_pixels)
    return img


def _decode(img: Image.Image, fmt: _Format) -> Image.Image:
    """Decode the first frame, apply EXIF orientation; corrupt data -> ValidationFailed."""
    if fmt is _JPEG and max(img.size) > MAX_SIDE:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the photo is far
        # bigger than we keep: much less memory and CPU in the shared pool.
        # The requested box keeps the aspect ratio, so the long side stays
        # >= MAX_SIDE and the final resize is still a downscale.
        ratio = MAX_SIDE / max(img.size)
        img.draft(None, (math.ceil(img.width * ratio), math.ceil(img.height * ratio)))
    try:
        # ImageFile.LOAD_TRUNCATED_IMAGES stays False: a cut-off file is refused.
        img.load()
        return ImageOps.exif_transpose(img)
    # Decoders fail on hostile input with OSError, ValueError, SyntaxError,
    # zlib errors...; all of them mean "bad upload", never a 500.
    except Exception as exc:
        raise _corrupt() from exc


def _normalise_mode(img: Image.Image, fmt: _Format) -> Image.Image:
    """Reduce every input mode (P, LA, CMYK, I;16, ...) to RGB or RGBA."""
    # JPEG input never carries alpha, and each image keeps its own format.
    keep_alpha = fmt is not _JPEG and img.has_transparency_data
    return img.convert("RGBA" if keep_alpha else "RGB")


def _encode(img: Image.Image, fmt: _Format) -> bytes:
    out = io.BytesIO()
    if fmt is _JPEG:
        img.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    elif fmt is _WEBP:
        img.save(out, "WEBP", quality=85)
    else:
        img.save(out, fmt.pillow, optimize=True)
    return out.getvalue()


def _unsupported() -> UnsupportedMediaType:
    return UnsupportedMediaType(
        "Unsupported image type: upload a JPEG, PNG, GIF or WebP image",
        field_errors={"file": "must be a JPEG, PNG, GIF or WebP image"},
    )


def _too_many_pixels(max_pixels: int) -> ValidationFailed:
    msg = f"Image dimensions are too large (at most {max_pixels:,} pixels)"
    return ValidationFailed(msg, field_errors={"file": msg})


def _corrupt() -> ValidationFailed:
    msg = "The image file is damaged or incomplete"
    return ValidationFailed(msg, field_errors={"file": msg})


def _human_size(n: int) -> str:
    mib = 1024 * 1024
    return f"{n // mib} MB" if n % mib == 0 else f"{n:,} bytes"


def content_type_for(path: Path) -> str:
    """Content-Type for a stored upload, from the extension store_image gave it."""
    return _BY_EXTENSION.get(Path(path).suffix.lower(), "application/octet-stream")
