"""Menu images: upload (single and bulk), management, and serving /uploads/... publicly.

Uploaded bytes are never stored as sent: `orm.domain.images.process_image`
decides the type by content, refuses bombs and damaged files, re-encodes the
pixels and makes the 300x300 thumbnail; files get random names, so they are
served as immutable.  The client's filename is only ever used for matching in
bulk uploads, never as a path.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

from apis.base import BaseHandler
from orm.controllers.menu import menu_items
from orm.domain.errors import DomainError, NotFound, ValidationFailed
from orm.domain.images import content_type_for, process_image
from services.upload_store import delete_image_files, resolve_upload_path, store_image

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and small form fields
MAX_BULK_FILES = 10  # the whole body is held in memory: 10 x 5 MB at most
IMMUTABLE = "public, max-age=31536000, immutable"


def slug(text: str) -> str:
    """"Caffè Latte (Large)" -> "caffe-latte-large": how bulk-upload filenames are matched to items."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def _filename_stem(filename: str) -> str:
    base = re.split(r"[\\/]", filename or "")[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def match_items(filename: str, items: list[dict[str, Any]]) -> list[str]:
    """Items a bulk-upload file is for, by its name without extension:
    a SKU (case-insensitive) names one item; otherwise "<name>-<size>" names that
    size, and "<name>" every size of the item."""
    stem = _filename_stem(filename)
    if not stem:
        return []
    by_sku = [i["id"] for i in items if i["sku"] and i["sku"].casefold() == stem.casefold()]
    if by_sku:
        return by_sku
    wanted = slug(stem)
    if not wanted:
        return []
    sized = [i["id"] for i in items if i["size"] and slug(f"{i['name']} {i['size']}") == wanted]
    return sized or [i["id"] for i in items if slug(i["name"]) == wanted]


class UploadHandler(BaseHandler):
    """Shared by the upload endpoints: body limits and storing one image for some items."""

    bulk = False

    async def prepare(self) -> None:
        # Set per request from settings, before the base class compares Content-Length with it.
        per_file = self.ctx.settings.max_upload_bytes
        self.max_body_bytes = per_file * (MAX_BULK_FILES if self.bulk else 1) + MULTIPART_OVERHEAD
        await super().prepare()

    def file_parts(self) -> tuple[dict[str, list[bytes]], list[Any]]:
        args, files = self.multipart()
        parts = files.get("file") or []
        if not parts:
            raise ValidationFailed("Attach the image as the multipart field 'file'",
                                   field_errors={"file": "is required"})
        return args, parts

    async def store_for_items(self, data: bytes, item_ids: list[str]) -> dict[str, Any]:
        """Process and store one image; point the items at it and delete the files they had."""
        settings = self.ctx.settings
        processed = await self.run_blocking(process_image, data, max_bytes=settings.max_upload_bytes)
        image_url, thumb_url = await self.run_blocking(store_image, processed, settings.uploads_dir)
        replaced: list[str] = []
        attached = 0
        try:
            for item_id in item_ids:
                replaced += await self.run_db(menu_items.set_image, item_id, image_url, thumb_url,
                                              store_id=self.principal.store_id, now=self.ctx.clock())
                attached += 1
        except BaseException:
            if not attached:  # the item vanished meanwhile: leave no orphan files behind
                await self.run_blocking(delete_image_files, settings.uploads_dir, image_url, thumb_url)
            raise
        if replaced:
            await self.run_blocking(delete_image_files, settings.uploads_dir, *set(replaced))
        return {"imageUrl": image_url, "thumbnailUrl": thumb_url, "width": processed.width,
                "height": processed.height}


class ImageUploadHandler(UploadHandler):
    """Upload one menu image (JPEG/PNG/GIF/WebP, at most 5 MB)."""

    permissions = {"POST": "menu.edit"}
    api_doc = {"post": {
        "summary": "Upload an image (multipart `file`, optional `menuItemId` to attach it, replacing the old one)",
        "description": "-> {imageUrl, thumbnailUrl, width, height, menuItemId}. Type by content; 413 over the limit, "
                       "415 not an image, 400 damaged or too many pixels.",
        "body": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"},
                                                   "menuItemId": {"type": "string"}}},
        "body_type": "multipart/form-data", "creates": True, "tags": ["images"],
    }}

    async def post(self) -> None:
        args, parts = self.file_parts()
        item_id = (args.get("menuItemId") or [b""])[0].decode("utf-8", "replace").strip() or None
        if item_id:  # a 404 before any Pillow work
            await self.run_db(menu_items.require_item, item_id, store_id=self.principal.store_id)
        result = await self.store_for_items(parts[0]["body"], [item_id] if item_id else [])
        result["menuItemId"] = item_id
        self.created(result, location=result["imageUrl"])


class BulkImageUploadHandler(UploadHandler):
    """Upload several menu images at once."""

    bulk = True
    permissions = {"POST": "menu.edit"}
    api_doc = {"post": {
        "summary": "Upload several images: `file` parts, matched to items by `menuItemId` fields (same order and "
                   "count as the files) or, without them, by filename: <sku>.jpg, <name>.jpg (every size) or "
                   "<name>-<size>.jpg, compared as lowercase ASCII slugs",
        "description": f"At most {MAX_BULK_FILES} files. -> {{uploaded[{{filename, menuItemIds, imageUrl, "
                       "thumbnailUrl, width, height}], failed[{filename, error}]}}; 400 when none succeeded.",
        "body": {"type": "object", "properties": {
            "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
            "menuItemId": {"type": "array", "items": {"type": "string"}}}},
        "body_type": "multipart/form-data", "tags": ["images"],
    }}

    async def post(self) -> None:
        args, parts = self.file_parts()
        if len(parts) > MAX_BULK_FILES:
            raise ValidationFailed(f"At most {MAX_BULK_FILES} files per upload",
                                   field_errors={"file": f"at most {MAX_BULK_FILES} files"})
        given_ids = [v.decode("utf-8", "replace").strip() for v in args.get("menuItemId", [])]
        if given_ids and len(given_ids) != len(parts):
            raise ValidationFailed("Send one menuItemId per file, in the same order, or none at all",
                                   field_errors={"menuItemId": "must match the files one to one"})
        candidates = await self.run_db(menu_items.image_candidates, store_id=self.principal.store_id)
        known = {c["id"] for c in candidates}
        uploaded: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for index, part in enumerate(parts):
            filename = part.get("filename") or f"file {index + 1}"
            ids = [given_ids[index]] if given_ids else match_items(filename, candidates)
            ids = [i for i in ids if i in known]
            if not ids:
                failed.append({"filename": filename, "error": "no menu item matches this file"})
                continue
            try:
                result = await self.store_for_items(part["body"], ids)
            except DomainError as exc:
                failed.append({"filename": filename, "error": exc.message})
                continue
            uploaded.append({"filename": filename, "menuItemIds": ids, **result})
        data = {"uploaded": uploaded, "failed": failed}
        if not uploaded:
            raise ValidationFailed("No image was stored", errors=[f"{f['filename']}: {f['error']}" for f in failed],
                                   data=data)
        self.success(data, message=f"{len(uploaded)} stored, {len(failed)} failed")


class ImageManagementHandler(BaseHandler):
    """Which items have images and which have none."""

    permissions = {"GET": "menu.edit"}
    api_doc = {"get": {"summary": "Items with images ({id, name, size, sku, category, isActive, imageUrl, "
                                  "thumbnailUrl}) and items without", "tags": ["images"]}}

    async def get(self) -> None:
        items = await self.run_db(menu_items.image_candidates, store_id=self.principal.store_id)
        with_images = [i for i in items if i["imageUrl"]]
        without = [i for i in items if not i["imageUrl"]]
        self.success({"withImages": with_images, "withoutImages": without, "total": len(items)})


class ItemImageHandler(BaseHandler):
    """Remove an item's image."""

    permissions = {"DELETE": "menu.edit"}
    api_doc = {"delete": {"summary": "Remove the item's image and thumbnail files and clear its URLs",
                          "tags": ["images"]}}

    async def delete(self, item_id: str) -> None:
        store_id = self.principal.store_id
        old = await self.run_db(menu_items.set_image, item_id, None, None, store_id=store_id,
                                now=self.ctx.clock())
        removed = await self.run_blocking(delete_image_files, self.ctx.settings.uploads_dir, *old)
        item = await self.run_db(menu_items.get, self.ctx.settings, item_id, store_id=store_id)
        self.success({"menuItem": item, "removedFiles": removed}, message="Image removed")


def _read_upload(uploads_dir: Path, requested: str) -> tuple[bytes, str] | None:
    path = resolve_upload_path(uploads_dir, requested)
    if path is None:
        return None
    try:
        return path.read_bytes(), content_type_for(path)
    except OSError:  # removed between the check and the read
        return None


class UploadedFileHandler(BaseHandler):
    """Public image files from the uploads folder (and nothing outside it)."""

    allow_unauthenticated = True
    api_doc = {"get": {"summary": "An uploaded image (public; random names, cached as immutable)",
                       "raw": "image/*", "tags": ["images"]}}

    async def get(self, path: str) -> None:
        found = await self.run_blocking(_read_upload, self.ctx.settings.uploads_dir, path)
        if found is None:
            raise NotFound("No such file")
        data, content_type = found
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", IMMUTABLE)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(data)


default_handlers = [
    (r"/upload/image", ImageUploadHandler),
    (r"/upload/bulk-images", BulkImageUploadHandler),
    (r"/images/management", ImageManagementHandler),
    (r"/images/management/(?P<item_id>[^/]+)", ItemImageHandler),
    (r"/uploads/(?P<path>.+)", UploadedFileHandler),
]
