"""Product images: checked by content, turned upright, re-encoded to small WebP, no metadata."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image, ImageCms

from store.catalogue.images import (
    MOST_BYTES,
    VARIANTS,
    InvalidImage,
    prepare_image,
    save_image,
)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def red_left_blue_right(size=(200, 100)) -> Image.Image:
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return image


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_png_jpeg_and_webp_become_square_webp_files_of_each_size(fmt):
    variants = prepare_image(encoded(red_left_blue_right(), fmt))

    for variant, box in VARIANTS.items():
        image = Image.open(io.BytesIO(variants[variant]))
        assert (image.format, image.size) == ("WEBP", (box, box))


def test_the_exif_orientation_is_applied_and_no_metadata_is_kept():
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise: left becomes top
    exif[0x010F] = "Camara de Ana"
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    upload = encoded(red_left_blue_right(), "JPEG", exif=exif.tobytes(), icc_profile=profile)

    page = Image.open(io.BytesIO(prepare_image(upload)["page"]))

    assert not page.getexif() and not page.info.get("icc_profile") and "xmp" not in page.info
    rgba = page.convert("RGBA")
    top, bottom = rgba.getpixel((128, 100)), rgba.getpixel((128, 156))
    assert top[0] > 200 and top[2] < 60  # red on top
    assert bottom[2] > 200 and bottom[0] < 60  # blue below


@pytest.mark.parametrize("upload", [
    b"",
    b"just text renamed .png\n",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,  # a PNG signature and nothing more
    encoded(red_left_blue_right(), "GIF"),
    encoded(red_left_blue_right(), "BMP"),
    encoded(red_left_blue_right(), "PNG")[:300],  # cut short
], ids=["empty", "text", "signature only", "gif", "bmp", "truncated png"])
def test_anything_but_a_whole_png_jpeg_or_webp_is_refused(upload):
    with pytest.raises(InvalidImage) as refused:
        prepare_image(upload)
    assert "not a PNG, JPEG or WebP" in str(refused.value.detail)


def test_an_image_that_opens_into_too_many_pixels_is_refused():
    bomb = encoded(Image.new("1", (20_000, 20_000)), "PNG")  # about 50 KB on disk

    with pytest.raises(InvalidImage) as refused:
        prepare_image(bomb)
    assert "too many pixels" in str(refused.value.detail)


@pytest.mark.parametrize("kind", ["noise", "fractal"])
def test_even_a_busy_image_is_encoded_within_the_bytes_pages_allow_it(kind):
    if kind == "noise":
        image = Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3))
    else:
        image = Image.effect_mandelbrot((400, 400), (-2, -1.5, 1, 1.5), 60).convert("RGB")

    variants = prepare_image(encoded(image, "PNG"))

    for variant, most in MOST_BYTES.items():
        assert len(variants[variant]) <= most


def test_saved_images_get_a_new_random_name_each_time(tmp_path):
    variants = {"card": b"c", "page": b"p"}

    first, second = save_image(variants, tmp_path), save_image(variants, tmp_path)

    assert first != second and len(first) == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{name}-{variant}.webp" for name in (first, second) for variant in variants)
