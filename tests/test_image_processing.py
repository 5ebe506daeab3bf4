"""Menu image processing and upload-path safety, with real Pillow images."""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, ImageDraw, PngImagePlugin

from orm.domain.errors import (
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from orm.domain.images import content_type_for, process_image
from services.upload_store import delete_image_files, resolve_upload_path, store_image

PILLOW_NAME = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}
PAYLOADS = (b"<html><script>alert(1)</script>", b"PK\x03\x04", b"evil.txt")


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def picture(size: tuple[int, int] = (640, 480), mode: str = "RGB") -> Image.Image:
    img = Image.new(mode, size, "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle(
        (size[0] // 10, size[1] // 10, size[0] // 2, size[1] // 2), fill="red"
    )
    draw.ellipse((size[0] // 3, size[1] // 3, size[0] - 5, size[1] - 5), fill="blue")
    return img


def decoded(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def png_chunk(tag: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + tag
        + body
        + struct.pack(">I", zlib.crc32(tag + body))
    )


def blank_png(width: int, height: int, *, idat: bytes | None = None) -> bytes:
    """A valid 1-bit black PNG built row by row: huge dimensions, tiny file."""
    if idat is None:
        row = b"\x00" * (1 + (width + 7) // 8)
        comp = zlib.compressobj(9)
        idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


# --- accepted formats ----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpeg", "png", "gif", "webp"])
def test_each_format_is_reencoded_with_a_300px_thumbnail(fmt: str) -> None:
    result = process_image(encode(picture(), PILLOW_NAME[fmt]))

    assert result.format == fmt
    assert result.content_type == f"image/{fmt}"
    assert result.extension == {"jpeg": ".jpg"}.get(fmt, f".{fmt}")
    assert (result.width, result.height) == (640, 480)
    stored = decoded(result.image_bytes)
    assert (stored.format, stored.size) == (PILLOW_NAME[fmt], (640, 480))
    thumb = decoded(result.thumb_bytes)
    assert (thumb.format, thumb.size) == (PILLOW_NAME[fmt], (300, 300))


def test_thumbnail_is_a_centre_crop() -> None:
    img = Image.new("RGB", (900, 300), "red")
    img.paste((0, 255, 0), (300, 0, 600, 300))
    img.paste((0, 0, 255), (600, 0, 900, 300))

    thumb = decoded(process_image(encode(img, "PNG")).thumb_bytes).convert("RGB")

    assert thumb.size == (300, 300)
    for xy in [(3, 3), (150, 150), (296, 296)]:
        assert thumb.getpixel(xy) == (0, 255, 0)


def test_small_image_still_gets_an_exact_300px_thumbnail() -> None:
    result = process_image(encode(picture((20, 10)), "JPEG"))
    assert (result.width, result.height) == (20, 10)
    assert decoded(result.thumb_bytes).size == (300, 300)


@pytest.mark.parametrize(
    ("size", "fmt", "expected"),
    [
        ((10_000, 1_000), "PNG", (1600, 160)),
        ((4_000, 3_000), "JPEG", (1600, 1200)),  # decoded at reduced scale
        ((1_000, 5_000), "WEBP", (320, 1600)),
    ],
)
def test_large_images_are_downscaled_to_1600_on_the_long_side(
    size: tuple[int, int], fmt: str, expected: tuple[int, int]
) -> None:
    result = process_image(encode(picture(size, "L"), fmt))
    assert (result.width, result.height) == expected
    assert decoded(result.image_bytes).size == expected
    assert decoded(result.thumb_bytes).size == (300, 300)


def test_transparency_survives_in_png_webp_and_gif() -> None:
    img = Image.new("RGBA", (64, 48), (255, 0, 0, 0))
    img.paste((0, 0, 255, 255), (16, 12, 48, 36))
    for fmt in ("PNG", "WEBP"):
        out = decoded(process_image(encode(img, fmt)).image_bytes)
        assert out.mode == "RGBA"
        assert out.getpixel((0, 0))[3] == 0
        assert out.getpixel((32, 24))[3] == 255
    gif = decoded(process_image(encode(img, "GIF")).image_bytes).convert("RGBA")
    assert gif.getpixel((0, 0))[3] == 0
    assert gif.getpixel((32, 24)) == (0, 0, 255, 255)


def test_palette_gif_uses_the_first_frame() -> None:
    frames = [Image.new("P", (50, 40), i) for i in (1, 2)]
    for frame in frames:
        frame.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * 759)
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])

    out = decoded(process_image(data).image_bytes).convert("RGB")

    assert out.getpixel((25, 20)) == (255, 0, 0)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("CMYK", "JPEG"),
        ("L", "JPEG"),
        ("I;16", "PNG"),
        ("LA", "PNG"),
        ("1", "PNG"),
        ("P", "PNG"),
    ],
)
def test_unusual_modes_are_accepted(mode: str, fmt: str) -> None:
    result = process_image(encode(Image.new(mode, (40, 30)), fmt))
    assert (result.width, result.height) == (40, 30)
    assert decoded(result.thumb_bytes).size == (300, 300)


def test_multi_picture_jpeg_from_phones_counts_as_jpeg() -> None:
    first, second = picture((64, 48)), Image.new("RGB", (64, 48), "blue")
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"

    result = process_image(data)

    assert (result.format, result.extension) == ("jpeg", ".jpg")
    assert decoded(result.image_bytes).format == "JPEG"


# --- metadata ------------------------------------------------------------------


def spy_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCamMaker"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 22.0, 5.0),
    }
    return exif


def test_jpeg_exif_gps_icc_and_comment_are_stripped() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(
        picture(), "JPEG", exif=spy_exif(), icc_profile=icc, comment=b"secret-comment"
    )
    original = Image.open(io.BytesIO(data))
    assert original.getexif().get_ifd(
        ExifTags.IFD.GPSInfo
    )  # the fixture really has GPS

    result = process_image(data)

    for blob in (result.image_bytes, result.thumb_bytes):
        img = decoded(blob)
        assert len(img.getexif()) == 0
        assert "icc_profile" not in img.info and "comment" not in img.info
        for marker in (b"Exif", b"SpyCamMaker", b"secret-comment", b"ICC_PROFILE"):
            assert marker not in blob


def test_jpeg_exif_orientation_is_applied_before_stripping() -> None:
    img = Image.new("RGB", (200, 100), "blue")
    img.paste((255, 0, 0), (0, 0, 100, 100))  # red on the left as stored
    data = encode(img, "JPEG", exif=spy_exif(orientation=6), quality=95)

    result = process_image(data)

    assert (result.width, result.height) == (100, 200)
    out = decoded(result.image_bytes).convert("RGB")
    # Orientation 6 = rotate 90 clockwise for display: stored left goes on top.
    red, _, blue = out.getpixel((50, 40))
    assert red > 200 and blue < 60
    red, _, blue = out.getpixel((50, 160))
    assert blue > 200 and red < 60


def test_png_text_chunks_and_webp_exif_are_stripped() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "<script>steal()</script>")
    text.add_itxt("Author", "SpyCamMaker", zip=False)
    png = process_image(encode(picture(), "PNG", pnginfo=text, exif=spy_exif()))
    webp = process_image(encode(picture(), "WEBP", exif=spy_exif()))

    for blob in (png.image_bytes, png.thumb_bytes, webp.image_bytes, webp.thumb_bytes):
        assert b"<script>" not in blob and b"SpyCamMaker" not in blob
        assert len(decoded(blob).getexif()) == 0
    assert not {"Comment", "Author", "exif"} & set(decoded(png.image_bytes).info)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_polyglot_payload_appended_to_an_image_is_dropped(
    fmt: str, tmp_path: Path
) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("evil.txt", "payload")
    data = encode(picture(), fmt) + PAYLOADS[0] + archive.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(data))  # really a polyglot going in

    result = process_image(data)
    image_url, thumb_url = store_image(result, tmp_path)

    stored = [
        (tmp_path / image_url.removeprefix("/uploads/")).read_bytes(),
        (tmp_path / thumb_url.removeprefix("/uploads/")).read_bytes(),
    ]
    for blob in (result.image_bytes, result.thumb_bytes, *stored):
        for payload in PAYLOADS:
            assert payload not in blob
        assert not zipfile.is_zipfile(io.BytesIO(blob))


# --- refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"just some text, named x.jpg by the client\n", id="text"),
        pytest.param(
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
            b'width="10" height="10"><script>alert(1)</script></svg>',
            id="svg",
        ),
        pytest.param(
            b"<!DOCTYPE html><html><script>alert(1)</script></html>", id="html"
        ),
        pytest.param(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", id="pdf"),
        pytest.param(encode(picture((32, 32)), "BMP"), id="bmp"),
        pytest.param(encode(picture((32, 32)), "TIFF"), id="tiff"),
        pytest.param(encode(picture((32, 32)), "ICO"), id="ico"),
        pytest.param(
            b"\xff\xd8\xff<html>fake jpeg header</html>", id="jpeg-magic-then-html"
        ),
    ],
)
def test_non_images_and_other_formats_are_415(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        process_image(data)
    assert info.value.status_code == 415
    assert "JPEG, PNG, GIF or WebP" in info.value.message
    assert "file" in info.value.field_errors


def test_over_the_size_limit_is_413() -> None:
    with pytest.raises(PayloadTooLarge) as info:
        process_image(os.urandom(6 * 1024 * 1024))
    assert info.value.status_code == 413
    assert "5 MB" in info.value.message


def test_size_limit_is_checked_before_the_content() -> None:
    data = encode(picture((64, 64)), "PNG")
    process_image(data, max_bytes=len(data))  # exactly at the limit is fine
    with pytest.raises(PayloadTooLarge):
        process_image(data, max_bytes=len(data) - 1)


def test_empty_upload_is_400() -> None:
    with pytest.raises(ValidationFailed) as info:
        process_image(b"")
    assert info.value.field_errors == {"file": "is empty"}


def test_blank_png_builder_makes_real_images() -> None:
    # Guards the bomb tests below: the same builder yields a decodable image.
    result = process_image(blank_png(640, 480))
    assert (result.width, result.height) == (640, 480)


def test_decompression_bomb_is_refused_from_the_header() -> None:
    bomb = blank_png(20_000, 20_000)  # 400 million pixels
    assert len(bomb) < 1024 * 1024

    with pytest.raises(ValidationFailed) as info:
        process_image(bomb)
    assert info.value.status_code == 400
    assert "too large" in info.value.message


def test_bomb_refusal_never_reaches_the_decoder() -> None:
    # Pixel data that is plainly broken: decoding it would report "damaged".
    broken = b"\x78\x9c" + b"\xff" * 64
    with pytest.raises(ValidationFailed, match="damaged"):
        process_image(blank_png(640, 480, idat=broken))
    with pytest.raises(ValidationFailed, match="too large"):
        process_image(blank_png(20_000, 20_000, idat=broken))
    with pytest.raises(ValidationFailed, match="too large"):
        process_image(blank_png(3_000, 3_000, idat=broken), max_pixels=1_000_000)


@pytest.mark.parametrize("action", ["error", "ignore"])
def test_pillow_bomb_warning_range_is_refused_either_way(action: str) -> None:
    # 90 M pixels: over Pillow's warning threshold, under its hard error.
    data = blank_png(10_000, 9_000)
    with warnings.catch_warnings():
        warnings.simplefilter(action)
        with pytest.raises(ValidationFailed, match="too large"):
            process_image(data)


def test_max_pixels_is_configurable() -> None:
    data = encode(Image.new("L", (2_000, 1_000)), "PNG")
    with pytest.raises(ValidationFailed, match="too large"):
        process_image(data, max_pixels=1_999_999)
    assert process_image(data, max_pixels=2_000_000).width == 1600


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_image_is_400(fmt: str) -> None:
    noisy = Image.effect_noise((400, 300), 80).convert("RGB")
    data = encode(noisy, fmt)
    with pytest.raises(ValidationFailed) as info:
        process_image(data[: len(data) // 2])
    assert info.value.status_code == 400


# --- storage -------------------------------------------------------------------


def test_store_then_delete_round_trip(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"  # does not exist yet
    result = process_image(encode(picture(), "WEBP"))

    image_url, thumb_url = store_image(result, uploads)

    match = re.fullmatch(r"/uploads/menu_items/([0-9a-f]{32}\.webp)", image_url)
    assert match and thumb_url == f"/uploads/thumbnails/{match.group(1)}"
    image_file = resolve_upload_path(uploads, image_url.removeprefix("/uploads/"))
    thumb_file = resolve_upload_path(uploads, thumb_url.removeprefix("/uploads/"))
    assert image_file == (uploads / "menu_items" / match.group(1)).resolve()
    assert thumb_file is not None
    assert image_file.read_bytes() == result.image_bytes
    assert thumb_file.read_bytes() == result.thumb_bytes
    assert stat.S_IMODE(image_file.stat().st_mode) == 0o644
    assert sorted(p.name for p in uploads.rglob("*")) == sorted(
        ["menu_items", "thumbnails", match.group(1), match.group(1)]
    )  # no temp files left behind
    assert content_type_for(image_file) == "image/webp"

    assert delete_image_files(uploads, image_url, thumb_url) == 2
    assert not image_file.exists() and not thumb_file.exists()
    assert delete_image_files(uploads, image_url, thumb_url, None) == 0


def test_every_store_gets_a_new_name(tmp_path: Path) -> None:
    result = process_image(encode(picture((64, 64)), "PNG"))
    assert store_image(result, tmp_path) != store_image(result, tmp_path)
    assert len(list((tmp_path / "menu_items").iterdir())) == 2


def test_delete_never_touches_files_outside_uploads(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    (uploads / "menu_items").mkdir(parents=True)
    (uploads / "menu_items" / ".gitkeep").touch()
    keep = tmp_path / "keep.txt"
    keep.write_text("precious")

    removed = delete_image_files(
        uploads,
        "/uploads/../keep.txt",
        "/uploads/menu_items/../../keep.txt",
        str(keep),
        "https://example.com/uploads/menu_items/x.jpg",
        "/uploads/menu_items/.gitkeep",
        "/uploads/menu_items/missing.jpg",
        "",
        None,
    )

    assert removed == 0
    assert keep.read_text() == "precious"
    assert (uploads / "menu_items" / ".gitkeep").exists()


# --- serving -------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """uploads/ with a real image, a dotfile, and targets outside it that exist."""
    uploads = tmp_path / "uploads"
    for sub in ("menu_items", "thumbnails"):
        (uploads / sub).mkdir(parents=True)
        (uploads / sub / ".gitkeep").touch()
    (uploads / "menu_items" / "ok.jpg").write_bytes(b"jpeg")
    (tmp_path / "x").write_text("outside")
    (tmp_path / "secret.txt").write_text("outside")
    (tmp_path / "outdir").mkdir()
    (tmp_path / "outdir" / "f.jpg").write_text("outside")
    (uploads / "menu_items" / "link.jpg").symlink_to(tmp_path / "secret.txt")
    (uploads / "menu_items" / "linkdir").symlink_to(tmp_path / "outdir")
    (uploads / "menu_items" / "hidden-link.jpg").symlink_to(
        uploads / "menu_items" / ".gitkeep"
    )
    return uploads


@pytest.mark.parametrize(
    "requested",
    [
        "../x",
        "../secret.txt",
        "/etc/passwd",
        "//etc/passwd",
        str(Path("/etc/passwd")),
        "menu_items/../../x",
        "menu_items/../ok.jpg",
        "./menu_items/ok.jpg",
        "menu_items//ok.jpg",
        "menu_items\\..\\..\\x",
        "menu_items/ok.jpg\x00.png",
        ".gitkeep",
        "menu_items/.gitkeep",
        "menu_items/link.jpg",
        "menu_items/linkdir/f.jpg",
        "menu_items/hidden-link.jpg",
        "menu_items",
        "menu_items/",
        "",
        "menu_items/nope.jpg",
        "menu_items/" + "a" * 5000 + ".jpg",
    ],
)
def test_resolve_refuses_anything_but_a_plain_file_inside(
    served: Path, requested: str
) -> None:
    assert resolve_upload_path(served, requested) is None


def test_resolve_accepts_a_file_inside(served: Path) -> None:
    found = resolve_upload_path(served, "menu_items/ok.jpg")
    assert found == (served / "menu_items" / "ok.jpg").resolve()
    assert found.read_bytes() == b"jpeg"


def test_resolve_works_when_uploads_itself_is_a_symlink(
    served: Path, tmp_path: Path
) -> None:
    alias = tmp_path / "uploads-alias"
    alias.symlink_to(served)
    assert (
        resolve_upload_path(alias, "menu_items/ok.jpg")
        == (served / "menu_items" / "ok.jpg").resolve()
    )
    assert resolve_upload_path(alias, "../x") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", "image/jpeg"),
        ("a.JPG", "image/jpeg"),
        ("a.png", "image/png"),
        ("a.gif", "image/gif"),
        ("a.webp", "image/webp"),
        ("a.svg", "application/octet-stream"),
        ("a.html", "application/octet-stream"),
        ("noext", "application/octet-stream"),
    ],
)
def test_content_type_for(name: str, expected: str) -> None:
    assert content_type_for(Path(name)) == expected
