"""Upload attacks through POST /upload/image and /upload/bulk-images, beyond tests/test_uploads.py:
SVG and HTML dressed up as images, polyglots whose payload must not survive, hidden payloads in
metadata, bombs of other kinds, and hostile filenames.  Whatever is stored is a fresh encode of the
pixels under a random name inside uploads/, served as an image with nosniff.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

from PIL import Image, PngImagePlugin

from tests.test_uploads import RANDOM_NAME, encode, multipart, new_item, picture, stored_files, upload

PAYLOAD = b"<script>alert(document.cookie)</script>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')


def png_with_text_chunk() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", PAYLOAD.decode())
    out = io.BytesIO()
    picture((64, 64)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_comment() -> bytes:
    out = io.BytesIO()
    picture((64, 64)).save(out, "JPEG", comment=b"<?php system($_GET['c']); ?>" + PAYLOAD)
    return out.getvalue()


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) claims other dimensions: a decompression bomb by header."""
    data = bytearray(encode(picture((16, 16)), "jpeg"))
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def animated_gif(frames: int, size: int) -> bytes:
    images = [Image.new("P", (size, size), color=i % 255) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=10, loop=0)
    return out.getvalue()


POLYGLOTS = {
    "png + trailing html": encode(picture((64, 64)), "png") + b"<html>" + PAYLOAD + b"</html>",
    "gif + trailing zip (GIFAR)": encode(picture((64, 64)), "gif") + b"PK\x03\x04" + PAYLOAD,
    "jpeg + trailing php": encode(picture((64, 64)), "jpeg") + b"<?php echo 1; ?>" + PAYLOAD,
    "png text chunk": png_with_text_chunk(),
    "jpeg comment": jpeg_with_comment(),
}


async def test_polyglot_payloads_do_not_survive_the_re_encode(admin, client, settings):
    # One database for all the cases (each gets its own fresh files check): a database per case
    # costs more than the uploads on PostgreSQL.
    for name, data in POLYGLOTS.items():
        before = set(stored_files(settings))
        resp = await upload(admin, data, filename="menu.png")
        assert resp.status == 201, (name, resp.body)
        assert RANDOM_NAME.match(resp.data["imageUrl"]) and RANDOM_NAME.match(resp.data["thumbnailUrl"])
        new_files = set(stored_files(settings)) - before
        assert len(new_files) == 2, name
        for path in new_files:
            stored = path.read_bytes()
            assert b"script" not in stored and b"<?php" not in stored and b"PK\x03\x04" not in stored, (name, path)
        served = await client.get(resp.data["imageUrl"])
        assert served.status == 200 and served.headers["Content-Type"].startswith("image/"), name
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert PAYLOAD not in served.body, name


DISGUISED = [
    (SVG, "logo.png", "image/png"),
    (SVG, "logo.svg", "image/svg+xml"),
    (SVG.replace(b'<?xml version="1.0"?>', b""), "logo.jpg", "image/jpeg"),
    (b"<!DOCTYPE html><html><body>" + PAYLOAD + b"</body></html>", "page.gif", "image/gif"),
    (b"GIF89a" + PAYLOAD, "fake.gif", "image/gif"),  # a magic number alone is not an image
    (b"%PDF-1.4\n1 0 obj\n<</Type/Catalog>>\nendobj\n", "doc.png", "image/png"),
    (b"BM" + b"\x00" * 60, "bitmap.png", "image/png"),  # BMP: a real image type, but not one we take
]


async def test_disguised_non_images_are_refused_and_nothing_is_stored(admin, settings):
    item = await new_item(admin)
    boundary = "xyzboundary"
    for data, filename, ctype in DISGUISED:
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="menuItemId"\r\n\r\n{item["id"]}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                f"Content-Type: {ctype}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        resp = await admin.post("/upload/image", body=body,
                                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert resp.status in (400, 415), (filename, resp.status, resp.body)
        assert resp.json["success"] is False
        assert stored_files(settings) == [], filename
    assert (await admin.get(f"/menu_items/{item['id']}")).data["menuItem"]["imageUrl"] is None


async def test_header_bombs_are_refused_before_decoding(admin, settings):
    for data in (jpeg_declaring(60_000, 60_000), jpeg_declaring(40_000, 2_000)):
        resp = await upload(admin, data, filename="huge.jpg")
        assert resp.status == 400 and resp.json["errorCode"] == "VALIDATION_ERROR", resp.body
    assert stored_files(settings) == []


async def test_many_frame_gif_is_stored_as_one_small_image(admin, settings):
    resp = await upload(admin, animated_gif(300, 400), filename="anim.gif")
    assert resp.status == 201, resp.body
    for path in stored_files(settings):
        with Image.open(path) as img:
            assert getattr(img, "n_frames", 1) == 1 and max(img.size) <= 1600


async def test_bulk_upload_survives_a_bomb_and_hostile_filenames(admin, settings):
    item = await new_item(admin, name="Cinnamon roll")
    body, headers = multipart([
        ("..\\..\\windows\\cinnamon-roll.png", encode(picture((80, 80)), "png")),
        ("/etc/passwd", encode(picture((80, 80)), "png")),
        ("cinnamon roll.jpg", jpeg_declaring(60_000, 60_000)),
        ("../../cinnamon-roll.svg", SVG),
    ])
    resp = await admin.post("/upload/bulk-images", body=body, headers=headers)
    assert resp.status == 200, resp.body
    uploaded, failed = resp.data["uploaded"], resp.data["failed"]
    # The Windows-style path is matched by its last part only; the rest fail one by one.
    assert [u["menuItemIds"] for u in uploaded] == [[item["id"]]]
    assert len(failed) == 3
    root = Path(settings.uploads_dir).resolve()
    for path in stored_files(settings):
        assert path.resolve().is_relative_to(root) and RANDOM_NAME.match("/uploads/" + path.relative_to(root)
                                                                         .as_posix())
    assert not any("passwd" in str(p) or "windows" in str(p) for p in root.parent.rglob("*"))
