"""Menu images: upload, bulk upload, management, and serving /uploads/... safely."""

from __future__ import annotations

import asyncio
import io
import re
import struct
import uuid
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

FORMATS = {"jpeg": ("JPEG", "image/jpeg"), "png": ("PNG", "image/png"), "gif": ("GIF", "image/gif"),
           "webp": ("WEBP", "image/webp")}
RANDOM_NAME = re.compile(r"^/uploads/(menu_items|thumbnails)/[0-9a-f]{32}\.(jpg|png|gif|webp)$")


def picture(size: tuple[int, int] = (640, 480)) -> Image.Image:
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((size[0] // 10, size[1] // 10, size[0] // 2, size[1] // 2), fill="red")
    draw.ellipse((size[0] // 3, size[1] // 3, size[0] - 5, size[1] - 5), fill="blue")
    return img


def encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    img.save(out, FORMATS[fmt][0])
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG with huge dimensions in a tiny file."""
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    row = b"\x00" * (1 + (width + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def multipart(files: list[tuple[str, bytes]], fields: list[tuple[str, str]] = ()) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for filename, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def upload(c, data: bytes, filename: str = "photo.jpg", menu_item_id: str | None = None):
    body, headers = multipart([(filename, data)], [("menuItemId", menu_item_id)] if menu_item_id else [])
    return await c.post("/upload/image", body=body, headers=headers)


def stored_files(settings) -> list[Path]:
    return sorted(p for p in Path(settings.uploads_dir).rglob("*") if p.is_file())


async def new_item(admin, name: str = "Latte", **extra) -> dict:
    resp = await admin.post("/menu_items", {"name": name, "price": "3.40", **extra})
    assert resp.status == 201, resp.body
    return resp.data["menuItem"]


@pytest.mark.parametrize("fmt", list(FORMATS))
async def test_each_format_is_stored_with_a_300px_thumbnail_and_served(admin, client, settings, fmt):
    resp = await upload(admin, encode(picture((640, 480)), fmt), filename=f"photo.{fmt}")
    assert resp.status == 201, resp.body
    data = resp.data
    assert set(data) == {"imageUrl", "thumbnailUrl", "width", "height", "menuItemId"}
    assert (data["width"], data["height"], data["menuItemId"]) == (640, 480, None)
    assert RANDOM_NAME.match(data["imageUrl"]) and RANDOM_NAME.match(data["thumbnailUrl"])
    assert resp.headers["Location"] == data["imageUrl"]
    pillow_name, content_type = FORMATS[fmt]
    for url, size in ((data["imageUrl"], (640, 480)), (data["thumbnailUrl"], (300, 300))):
        served = await client.get(url)  # public: no token
        assert served.status == 200
        assert served.headers["Content-Type"] == content_type
        assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        img = Image.open(io.BytesIO(served.body))
        assert img.format == pillow_name and img.size == size


async def test_upload_for_an_item_replaces_and_deletes_its_previous_files(admin, client, settings):
    item = await new_item(admin)
    first = (await upload(admin, encode(picture(), "jpeg"), menu_item_id=item["id"])).data
    assert first["menuItemId"] == item["id"]
    got = (await admin.get(f"/menu_items/{item['id']}")).data["menuItem"]
    assert (got["imageUrl"], got["thumbnailUrl"]) == (first["imageUrl"], first["thumbnailUrl"])
    etag = (await admin.get("/menu_items")).headers["ETag"]
    second = (await upload(admin, encode(picture((800, 600)), "png"), menu_item_id=item["id"])).data
    got = (await admin.get(f"/menu_items/{item['id']}")).data["menuItem"]
    assert got["imageUrl"] == second["imageUrl"] and got["imageUrl"].endswith(".png")
    assert (await client.get(first["imageUrl"])).status == 404
    assert (await client.get(first["thumbnailUrl"])).status == 404
    assert len(stored_files(settings)) == 2
    assert (await admin.get("/menu_items", headers={"If-None-Match": etag})).status == 200


@pytest.mark.parametrize(("data", "status"), [
    (b"this is plain text, not a JPEG at all", 415),
    (b"<html><script>alert(1)</script></html>", 415),
    (png_bomb(20_000, 20_000), 400),
    (encode(picture(), "jpeg")[:2000], 400),
    (b"", 400),
])
async def test_refused_uploads_store_nothing(admin, settings, data, status):
    item = await new_item(admin)
    resp = await upload(admin, data, filename="innocent.jpg", menu_item_id=item["id"])
    assert resp.status == status, resp.body
    assert resp.json["success"] is False and "file" in resp.json["fieldErrors"]
    assert stored_files(settings) == []
    assert (await admin.get(f"/menu_items/{item['id']}")).data["menuItem"]["imageUrl"] is None


async def test_missing_file_unknown_item_and_wrong_content_type(admin, settings):
    body, headers = multipart([], [("menuItemId", "x")])
    resp = await admin.post("/upload/image", body=body, headers=headers)
    assert resp.status == 400 and resp.json["fieldErrors"] == {"file": "is required"}
    resp = await upload(admin, encode(picture(), "png"), menu_item_id="00000000-0000-0000-0000-000000000000")
    assert resp.status == 404 and resp.json["fieldErrors"] == {"menuItemId": "no such menu item"}
    resp = await admin.post("/upload/image", body=encode(picture(), "png"), headers={"Content-Type": "image/png"})
    assert resp.status == 415
    assert stored_files(settings) == []


async def test_path_traversal_filename_is_ignored(admin, settings):
    resp = await upload(admin, encode(picture(), "jpeg"), filename="../../../etc/evil.jpg")
    assert resp.status == 201
    assert RANDOM_NAME.match(resp.data["imageUrl"])
    files = stored_files(settings)
    assert len(files) == 2 and all(p.resolve().is_relative_to(Path(settings.uploads_dir).resolve()) for p in files)
    assert not any("evil" in str(p) for p in Path(settings.uploads_dir).parent.rglob("*"))


async def raw_get(server, path: str) -> tuple[bytes, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, body


async def test_only_files_inside_uploads_are_served(server, client, admin, settings):
    secret = Path(settings.uploads_dir).parent / "secret.txt"
    secret.write_text("top secret")
    (Path(settings.uploads_dir) / "menu_items").mkdir(parents=True, exist_ok=True)
    (Path(settings.uploads_dir) / "menu_items" / ".hidden.jpg").write_bytes(encode(picture(), "jpeg"))
    for path in ("/uploads/../secret.txt", "/uploads/menu_items/../../secret.txt", "/uploads/%2e%2e/secret.txt",
                 "/uploads/..%2fsecret.txt", "/uploads/menu_items/.hidden.jpg", "/uploads/menu_items/none.jpg",
                 f"/uploads/{secret}", "/uploads/menu_items/"):
        head, body = await raw_get(server, path)
        assert head.startswith(b"HTTP/1.1 404"), (path, head)
        assert b"top secret" not in body and b'"errorCode":"NOT_FOUND"' in body, path
    resp = await client.get("/uploads/menu_items/none.jpg")
    assert resp.status == 404 and resp.json["errorCode"] == "NOT_FOUND"


async def test_oversized_upload_is_413_before_the_body_is_read(server, admin, settings):
    limit = settings.max_upload_bytes + 64 * 1024
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write((f"POST /upload/image HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin.token}\r\n"
                  f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {limit + 1}\r\n\r\n").encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(65536), 5)  # answered with no body byte sent
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b'"errorCode":"PAYLOAD_TOO_LARGE"' in body
    # A file just over 5 MB inside a body under the limit is refused by the image check.
    resp = await upload(admin, b"\xff\xd8\xff" + b"\0" * settings.max_upload_bytes)
    assert resp.status == 413 and resp.json["errorCode"] == "PAYLOAD_TOO_LARGE"
    assert stored_files(settings) == []


@pytest.mark.parametrize("role", ["cashier", "trainee"])
async def test_image_endpoints_need_menu_edit(as_role, admin, client, settings, role):
    item = await new_item(admin)
    c = as_role(role)
    body, headers = multipart([("latte.jpg", encode(picture(), "jpeg"))])
    for resp in (await upload(c, encode(picture(), "jpeg")),
                 await c.post("/upload/bulk-images", body=body, headers=headers),
                 await c.get("/images/management"), await c.delete(f"/images/management/{item['id']}")):
        assert resp.status == 403
    for resp in (await upload(client, encode(picture(), "jpeg")), await client.get("/images/management"),
                 await client.delete(f"/images/management/{item['id']}")):
        assert resp.status == 401
    assert stored_files(settings) == []


async def test_bulk_upload_matches_by_sku_and_name(admin, client, settings):
    small = await new_item(admin, size="Small")
    large = await new_item(admin, size="Large")
    mocha = await new_item(admin, "Caffè Mocha", sku="MOC-1")
    tea = await new_item(admin, "Green Tea")
    scone = await new_item(admin, "Scone")
    files = [("latte.jpg", encode(picture(), "jpeg")), ("moc-1.png", encode(picture(), "png")),
             ("green-tea-Large.jpg", encode(picture(), "jpeg")), ("Caffe Mocha.webp", b"not an image"),
             ("unknown.jpg", encode(picture(), "jpeg"))]
    body, headers = multipart(files)
    resp = await admin.post("/upload/bulk-images", body=body, headers=headers)
    assert resp.status == 200, resp.body
    uploaded = {u["filename"]: u for u in resp.data["uploaded"]}
    assert set(uploaded) == {"latte.jpg", "moc-1.png"}
    assert sorted(uploaded["latte.jpg"]["menuItemIds"]) == sorted([small["id"], large["id"]])
    assert uploaded["moc-1.png"]["menuItemIds"] == [mocha["id"]]
    assert {f["filename"] for f in resp.data["failed"]} == {"green-tea-Large.jpg", "Caffe Mocha.webp", "unknown.jpg"}
    manage = (await admin.get("/images/management")).data
    assert {i["id"] for i in manage["withImages"]} == {small["id"], large["id"], mocha["id"]}
    assert {i["id"] for i in manage["withoutImages"]} == {tea["id"], scone["id"]} and manage["total"] == 5
    shared = uploaded["latte.jpg"]["imageUrl"]

    # Replacing one size's picture keeps the file the other size still shows.
    await upload(admin, encode(picture(), "jpeg"), menu_item_id=small["id"])
    assert (await client.get(shared)).status == 200
    removed = await admin.delete(f"/images/management/{large['id']}")
    assert removed.status == 200 and removed.data["removedFiles"] == 2
    assert removed.data["menuItem"]["imageUrl"] is None and removed.data["menuItem"]["thumbnailUrl"] is None
    assert (await client.get(shared)).status == 404

    # By explicit ids, one per file in order.
    body, headers = multipart([("a.jpg", encode(picture(), "jpeg")), ("b.gif", encode(picture(), "gif"))],
                              [("menuItemId", tea["id"]), ("menuItemId", scone["id"])])
    resp = await admin.post("/upload/bulk-images", body=body, headers=headers)
    assert [u["menuItemIds"] for u in resp.data["uploaded"]] == [[tea["id"]], [scone["id"]]]
    body, headers = multipart([("a.jpg", encode(picture(), "jpeg"))], [("menuItemId", tea["id"])] * 2)
    assert (await admin.post("/upload/bulk-images", body=body, headers=headers)).status == 400
    body, headers = multipart([("nobody.jpg", encode(picture(), "jpeg"))])
    resp = await admin.post("/upload/bulk-images", body=body, headers=headers)
    assert resp.status == 400 and resp.data["failed"][0]["filename"] == "nobody.jpg"


async def test_deleting_an_item_or_its_image_removes_both_files(admin, client, settings):
    item = await new_item(admin)
    data = (await upload(admin, encode(picture(), "webp"), menu_item_id=item["id"])).data
    assert len(stored_files(settings)) == 2
    assert (await admin.delete(f"/menu_items/{item['id']}")).status == 200
    assert stored_files(settings) == []
    assert (await client.get(data["imageUrl"])).status == 404
    other = await new_item(admin, "Mocha")
    await upload(admin, encode(picture(), "gif"), menu_item_id=other["id"])
    resp = await admin.delete(f"/images/management/{other['id']}")
    assert resp.status == 200 and stored_files(settings) == []
    assert (await admin.delete("/images/management/nope")).status == 404
