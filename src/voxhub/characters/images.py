"""Image checks, like the audio path's: cap the bytes, read the header, cap the pixels, then
decode for real and re-encode, so what is stored is pixels only.

Order matters against decompression bombs: the byte cap is checked before Pillow sees the data,
the header's dimensions before any pixel is decoded (Pillow parses only the header on `open`).
Animated images (GIF, APNG, animated WebP) are reduced to their first frame: only that frame is
ever decoded, so a file with thousands of frames costs what its first one does. The stored copy
is WebP (quality 90, alpha kept), made from decoded pixels: EXIF (after its orientation is
applied), ICC, XMP, comments and anything appended after the image data are gone. Everything
here blocks; callers run it in a worker thread.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from voxhub.core.errors import ImageTooLarge, ImageTooManyPixels, ImageUndecodable, NotAnImage

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 25_000_000  # 5000 x 5000
MAX_IMAGE_EDGE = 10_000
STORED_EDGE = 2048  # the stored copy fits in this square, aspect kept
THUMB_EDGE = 256
MEDIA_TYPE = "image/webp"
# Only these decoders are tried: Pillow would otherwise probe every plugin it has (EPS hands
# the file to Ghostscript).
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")

# Pillow's own guard, for any code in the process that opens images: it warns above this many
# pixels and raises above twice as many. The warning is made an error once, here (changing the
# filters per call is not thread-safe): every image over the cap is refused, in any module.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


@dataclass(frozen=True)
class StoredImage:
    """An image ready to store: the re-encoded copy, its thumbnail and what was measured."""

    data: bytes
    thumbnail: bytes
    width: int
    height: int
    source_format: str
    sha256: str
    media_type: str = MEDIA_TYPE


def prepare_image(data: bytes) -> StoredImage:
    """Check, decode and re-encode an upload; raises the domain error of the first refusal."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge(
            f"an image may be at most {MAX_IMAGE_BYTES} bytes", max_bytes=MAX_IMAGE_BYTES
        )
    if not data:
        raise NotAnImage("the file is empty")
    try:
        im = Image.open(io.BytesIO(data), formats=FORMATS)  # parses the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except UnidentifiedImageError as exc:
        raise NotAnImage("not a PNG, JPEG, GIF or WebP image") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageUndecodable("the image header could not be read") from exc
    with im:
        width, height = im.size
        if width * height > MAX_IMAGE_PIXELS or max(width, height) > MAX_IMAGE_EDGE:
            raise _too_many_pixels(width=width, height=height)
        if width < 1 or height < 1:
            raise ImageUndecodable("the image has no pixels")
        source_format = str(im.format)
        try:
            if source_format == "JPEG":
                # Decodes at 1/2, 1/4 or 1/8 scale when that still covers the stored size.
                im.draft("RGB", (STORED_EDGE, STORED_EDGE))
            im.load()  # the real decode, of the first frame only
            frame = _plain(_upright(im))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels() from exc
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImageUndecodable("the image data could not be decoded") from exc
    stored = frame.copy()
    stored.thumbnail((STORED_EDGE, STORED_EDGE), Image.Resampling.LANCZOS)
    thumb = frame.copy()
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    out = _webp(stored, 90)
    return StoredImage(
        data=out,
        thumbnail=_webp(thumb, 80),
        width=stored.width,
        height=stored.height,
        source_format=source_format,
        sha256=hashlib.sha256(out).hexdigest(),
    )


def _too_many_pixels(**extra: int) -> ImageTooManyPixels:
    return ImageTooManyPixels(
        f"an image may have at most {MAX_IMAGE_PIXELS} pixels and {MAX_IMAGE_EDGE} per side",
        max_pixels=MAX_IMAGE_PIXELS,
        max_edge=MAX_IMAGE_EDGE,
        **extra,
    )


def _upright(im: Image.Image) -> Image.Image:
    # A phone photo's pixels lie sideways with an EXIF orientation; the tag goes, so apply it.
    return ImageOps.exif_transpose(im) or im


def _plain(im: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has transparency: no palette, no metadata carried along."""
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    plain = im.convert("RGBA" if has_alpha else "RGB")
    plain.info.clear()
    return plain


def _webp(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "WEBP", quality=quality, method=4, exif=b"", icc_profile=None)
    return buf.getvalue()
