"""Product images: checked by content, re-encoded to WebP, stored under instance/.

An upload is trusted for nothing: its name and type are ignored, Pillow reads its content,
and only PNG, JPEG or WebP within the size limits is accepted. It is turned upright (EXIF
orientation), fitted into two square boxes (the card's and the product page's, each twice
the size it is shown at, for sharp screens) on a transparent background, and written anew
as WebP with no metadata (no EXIF, no ICC profile, no comments). The files get a random
name, so a new image is a new address and browsers may keep each one for a year.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
import re
import secrets
import warnings
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from store.errors import InvalidInput

MAX_IMAGE_BYTES = 2 * 1024 * 1024
# Pillow refuses images over this many pixels (a "decompression bomb": a small file that
# opens into gigabytes); we refuse those over MAX_PIXELS ourselves, with a message.
# The largest variant is 256 px: 12 megapixels is more than any phone photo needs, and
# decoding one stays within a worker's memory.
MAX_PIXELS = 12_000_000
# Decoded at most this size before resizing (JPEG decodes smaller directly, cheaply).
DECODE_BOX = (1024, 1024)
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
# Each variant's square box in pixels: twice what pages show (56 and 128 CSS pixels), for
# sharp screens.
VARIANTS = {"card": 112, "page": 256}
# Pages stay within their weight budget (tests/functional/test_page_weight.py): a busy
# image is encoded again at lower qualities, then smaller, until it fits these sizes.
MOST_BYTES = {"card": 700, "page": 6_000}
WEBP_QUALITIES = (80, 70, 60, 50, 40, 30)
NAME = re.compile(r"[0-9a-f]{32}")
FILE_NAME = re.compile(r"(?P<name>[0-9a-f]{32})-(?P<variant>card|page)")


class InvalidImage(InvalidInput):
    """An upload that is not a PNG, JPEG or WebP image within the limits."""

    title = _l("The image cannot be used")


def upload_folder() -> Path:
    """Where product images are kept: instance/uploads/products/."""
    return Path(current_app.instance_path) / "uploads" / "products"


def file_name(name: str, variant: str) -> str:
    return f"{name}-{variant}.webp"


def _open_checked(data: bytes) -> Image.Image:
    """The image in ``data``, verified and loaded. Raises InvalidImage."""
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImage(_l("The image is larger than 2 MB."))
    not_an_image = InvalidImage(_l("The file is not a PNG, JPEG or WebP image."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise not_an_image
                if probe.width * probe.height > MAX_PIXELS:
                    raise InvalidImage(_l("The image has too many pixels."))
                probe.verify()
            # verify() leaves the image unusable: open it again, only in accepted formats.
            image = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
            image.draft("RGB", DECODE_BOX)  # JPEG: decode at a fraction of the size
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage(_l("The image has too many pixels.")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise not_an_image from None
    return image


def _webp(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=quality, method=6, exif=b"", icc_profile=None, xmp=b"")
    return out.getvalue()


def _square(image: Image.Image, side: int) -> Image.Image:
    """``image`` fitted into a ``side`` pixels square, centred on a transparent background."""
    fitted = ImageOps.contain(image, (side, side), Image.Resampling.LANCZOS)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(fitted, ((side - fitted.width) // 2, (side - fitted.height) // 2))
    return square


def _variant(image: Image.Image, box: int, most_bytes: int) -> bytes:
    """``image`` in a ``box`` pixels square as WebP without metadata, within ``most_bytes``
    when lower qualities, then half the pixels (still as sharp as pages show it), get it
    there; a picture of pure noise may still be over."""
    for side in (box, box // 2):
        square = _square(image, side)
        for quality in WEBP_QUALITIES:
            encoded = _webp(square, quality)
            if len(encoded) <= most_bytes:
                return encoded
    return encoded


def prepare_image(data: bytes) -> dict[str, bytes]:
    """The WebP files of each variant for the uploaded ``data``. Raises InvalidImage."""
    with _open_checked(data) as image:
        image.thumbnail(DECODE_BOX, Image.Resampling.LANCZOS)  # keeps EXIF orientation
        upright = ImageOps.exif_transpose(image).convert("RGBA")
    return {variant: _variant(upright, box, MOST_BYTES[variant])
            for variant, box in VARIANTS.items()}


def save_image(variants: dict[str, bytes], folder: Path) -> str:
    """Write ``variants`` under ``folder`` with a new random name; return the name.

    Each file is written aside and renamed, so a reader never sees half an image.
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16)
    for variant, data in variants.items():
        target = folder / file_name(name, variant)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        os.replace(partial, target)
    return name


def remove_image(name: str, folder: Path) -> None:
    for variant in VARIANTS:
        (folder / file_name(name, variant)).unlink(missing_ok=True)


@contextmanager
def image_files(variants: dict[str, bytes] | None, folder: Path) -> Iterator[str | None]:
    """Write ``variants`` (if any) for the block, which gets their name; remove them again
    when the block fails, so a refused change leaves no file behind."""
    name = save_image(variants, folder) if variants else None
    try:
        yield name
    except BaseException:
        if name:
            remove_image(name, folder)
        raise
