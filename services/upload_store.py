"""Where menu images live on disk: atomic writes under fresh random names, safe lookup, removal.

The file-system half of image uploads (orm/domain/images.py validates and re-encodes the bytes).
Every function blocks on the disk; handlers call them in the executor.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from orm.domain.images import IMAGE_SUBDIR, THUMB_SUBDIR, URL_PREFIX, ProcessedImage


def store_image(processed: ProcessedImage, uploads_dir: Path) -> tuple[str, str]:
    """Write image and thumbnail under a fresh random name; return (imageUrl, thumbnailUrl)."""
    name = secrets.token_hex(16) + processed.extension
    image_path = _atomic_write(
        Path(uploads_dir) / IMAGE_SUBDIR, name, processed.image_bytes
    )
    try:
        _atomic_write(Path(uploads_dir) / THUMB_SUBDIR, name, processed.thumb_bytes)
    except BaseException:
        image_path.unlink(missing_ok=True)  # no orphan image without its thumbnail
        raise
    return f"{URL_PREFIX}{IMAGE_SUBDIR}/{name}", f"{URL_PREFIX}{THUMB_SUBDIR}/{name}"


def _atomic_write(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    # The temp name is hidden (leading dot), so a half-written file is never
    # served; os.replace within one directory makes the final name appear whole.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a front proxy may serve these
        final = directory / name
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def delete_image_files(uploads_dir: Path, *urls: str | None) -> int:
    """Remove the files behind server-relative /uploads/... URLs that lie inside uploads_dir.

    Anything else (None, foreign URLs, traversal, missing files) is skipped;
    returns how many files were removed.
    """
    removed = 0
    for url in urls:
        if not url or not url.startswith(URL_PREFIX):
            continue
        path = resolve_upload_path(uploads_dir, url[len(URL_PREFIX) :])
        if path is None:
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue  # deleted concurrently: the outcome we wanted anyway
        removed += 1
    return removed


def resolve_upload_path(uploads_dir: Path, requested: str) -> Path | None:
    """Real path of a regular, non-hidden file strictly inside uploads_dir, else None.

    `requested` is the already URL-decoded part after /uploads/.
    """
    if (
        not requested
        or "\x00" in requested
        or "\\" in requested
        or requested.startswith("/")
    ):
        return None
    parts = requested.split("/")
    # Refuses "..", ".", empty segments ("a//b", trailing "/") and dotfiles.
    if any(not part or part.startswith(".") for part in parts):
        return None
    try:
        base = Path(uploads_dir).resolve(strict=True)
        target = base.joinpath(*parts).resolve(strict=True)
        # Symlinks are followed by resolve(); wherever they lead must still be
        # inside uploads and not a hidden file there.
        if target == base or not target.is_relative_to(base):
            return None
        if any(part.startswith(".") for part in target.relative_to(base).parts):
            return None
        if not target.is_file():
            return None
    except (OSError, RuntimeError, ValueError):  # missing, symlink loop, name too long
        return None
    return target
