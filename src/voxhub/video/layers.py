"""What is drawn over the background: the speaker (their image, or a name card) and the caption.

Layers are drawn once per change of speaker or caption and flattened into one RGBA patch that
covers only the pixels they touch, so each frame pastes a small patch instead of a whole frame.
Sizes follow the frame height, so 720p and 1080p look alike; everything stays inside title-safe
margins (10 % of the width at the sides, 8 % of the height at the top and bottom).
"""

from __future__ import annotations

import colorsys
import io
import logging
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

log = logging.getLogger(__name__)

# Pillow embeds Aileron, a clean sans serif, so captions look the same on every machine.
Font = ImageFont.FreeTypeFont


def font(size: int) -> Font:
    loaded = ImageFont.load_default(size=size)
    assert isinstance(loaded, ImageFont.FreeTypeFont), "Pillow built without FreeType"
    return loaded


@dataclass(frozen=True)
class Patch:
    """An RGBA image to paste at `position` (its top-left corner) with its own alpha."""

    image: Image.Image
    position: tuple[int, int]


class Layout:
    """Where things go in a `width`x`height` frame."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.side = round(width * 0.10)
        self.top = round(height * 0.08)
        self.bottom = height - round(height * 0.08)
        self.font_size = max(12, round(height / 18))
        self.line_height = round(self.font_size * 1.3)
        # Room for two caption lines under the speaker; a third line may overlap the image.
        self.speaker_bottom = self.bottom - 2 * self.line_height - round(self.font_size * 0.9)
        self.speaker_box = (round(width * 0.5), self.speaker_bottom - self.top)


def speaker_colour(name: str) -> tuple[int, int, int]:
    """A stable, fairly saturated colour per name (crc32: `hash` changes between processes)."""
    hue = zlib.crc32(name.encode()) % 360 / 360
    r, g, b = colorsys.hsv_to_rgb(hue, 0.6, 0.8)
    return round(r * 255), round(g * 255), round(b * 255)


def _decode(image: bytes, box: tuple[int, int]) -> Image.Image | None:
    """The image fitted inside `box`, or None when it does not decode (the caller draws a card)."""
    try:
        with Image.open(io.BytesIO(image)) as opened:
            opened.draft("RGB", box)  # JPEGs decode straight at a smaller scale
            upright = ImageOps.exif_transpose(opened).convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        log.warning("speaker image does not decode, drawing a name card: %s", exc)
        return None
    return ImageOps.contain(upright, box, Image.Resampling.LANCZOS)


def _with_shadow(picture: Image.Image, blur: int) -> Image.Image:
    """The picture over a soft dark shadow, so it stands out from a busy background."""
    pad = blur * 3
    canvas = Image.new("RGBA", (picture.width + 2 * pad, picture.height + 2 * pad), (0, 0, 0, 0))
    shadow = Image.new("RGBA", picture.size, (0, 0, 0, 150))
    shadow.putalpha(picture.getchannel("A").point(lambda a: a * 150 // 255))
    canvas.alpha_composite(shadow, (pad, pad + blur // 2))
    canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    canvas.alpha_composite(picture, (pad, pad))
    return canvas


def _name_card(speaker: str, layout: Layout) -> Image.Image:
    """A card with the speaker's initials in a coloured disc and their name beneath."""
    card_h = round(layout.speaker_box[1] * 0.7)
    card_w = min(layout.speaker_box[0], round(card_h * 1.1))
    card = Image.new("RGBA", (card_w, card_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle(
        (0, 0, card_w - 1, card_h - 1), radius=card_h // 10, fill=(16, 18, 28, 210)
    )
    disc = round(card_h * 0.5)
    disc_box = ((card_w - disc) // 2, round(card_h * 0.1))
    draw.ellipse(
        (disc_box[0], disc_box[1], disc_box[0] + disc, disc_box[1] + disc),
        fill=speaker_colour(speaker),
    )
    initials = "".join(part[0] for part in speaker.split()[:2]).upper() or "?"
    centre = (card_w / 2, disc_box[1] + disc / 2)
    draw.text(centre, initials, font=font(round(disc * 0.42)), fill="white", anchor="mm")
    name = _fit_line(speaker or "?", font(layout.font_size), card_w - layout.font_size)
    name_y = disc_box[1] + disc + (card_h - disc_box[1] - disc) / 2
    draw.text((card_w / 2, name_y), name, font=font(layout.font_size), fill="white", anchor="mm")
    return card


def _with_name_tag(picture: Image.Image, speaker: str, layout: Layout) -> Image.Image:
    """The picture with the speaker's name on a pill in the speaker's colour, over its foot."""
    size = max(10, round(layout.font_size * 0.6))
    face = font(size)
    name = _fit_line(speaker, face, picture.width * 0.9)
    pad = size // 2
    tag_w, tag_h = round(face.getlength(name)) + 2 * pad, round(size * 1.6)
    tagged = picture.copy()
    tag = Image.new("RGBA", (tag_w, tag_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(tag)
    draw.rounded_rectangle(
        (0, 0, tag_w - 1, tag_h - 1), tag_h // 2, (*speaker_colour(speaker), 230)
    )
    draw.text(
        (tag_w / 2, tag_h / 2), name, font=face, fill="white", anchor="mm", stroke_width=1,
        stroke_fill=(0, 0, 0, 200),
    )  # fmt: skip
    tagged.alpha_composite(tag, ((picture.width - tag_w) // 2, picture.height - tag_h - pad))
    return tagged


def _fit_line(text: str, face: Font, max_width: float) -> str:
    """`text`, shortened with an ellipsis if it is wider than `max_width`."""
    if face.getlength(text) <= max_width:
        return text
    while text and face.getlength(text + "…") > max_width:
        text = text[:-1]
    return text + "…"


def speaker_layer(image: bytes | None, speaker: str, layout: Layout) -> Patch:
    """The speaker's image (or name card), centred above the caption area."""
    picture = _decode(image, layout.speaker_box) if image else None
    if picture is None:
        picture = _name_card(speaker, layout)
    elif speaker:
        picture = _with_name_tag(picture, speaker, layout)
    blur = max(4, layout.height // 60)
    framed = _with_shadow(picture, blur)
    pad = blur * 3
    x = (layout.width - picture.width) // 2 - pad
    y = layout.speaker_bottom - picture.height - pad
    return Patch(framed, (x, y))


def wrap_to_width(text: str, face: Font, max_width: float) -> list[str]:
    """Greedy wrap by rendered width; a word wider than a line is cut where it must be."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if face.getlength(candidate) <= max_width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while face.getlength(word) > max_width:
            cut = len(word) - 1
            while cut > 1 and face.getlength(word[:cut]) > max_width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines


def caption_layer(text: str, layout: Layout, max_lines: int = 3) -> Patch:
    """White text with a dark outline on a translucent box, bottom-centred in the safe area.

    Text that would need more than `max_lines` lines is drawn smaller rather than cut.
    """
    size = layout.font_size

    def lines_at(size: int) -> list[str]:  # the box's padding stays inside the safe area too
        padding = 2 * round(size * 0.6)
        return wrap_to_width(text, font(size), layout.width - 2 * layout.side - padding)

    lines = lines_at(size)
    while len(lines) > max_lines and size > 12:
        size = round(size * 0.9)
        lines = lines_at(size)
    face = font(size)
    line_height = round(size * 1.3)
    pad_x, pad_y = round(size * 0.6), round(size * 0.3)
    text_w = max((round(face.getlength(line)) for line in lines), default=0)
    box_w, box_h = text_w + 2 * pad_x, len(lines) * line_height + 2 * pad_y
    layer = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    ImageDraw.Draw(layer).rounded_rectangle(
        (0, 0, box_w - 1, box_h - 1), radius=size // 3, fill=(0, 0, 0, 140)
    )
    words = Image.new("RGBA", layer.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(words)
    stroke = max(2, size // 14)
    for row, line in enumerate(lines):
        centre = (box_w / 2, pad_y + (row + 0.5) * line_height)
        draw.text(
            centre, line, font=face, fill="white", anchor="mm", stroke_width=stroke,
            stroke_fill=(0, 0, 0, 255),
        )  # fmt: skip
    layer.alpha_composite(words)
    return Patch(layer, ((layout.width - box_w) // 2, layout.bottom - box_h))


def flatten(patches: list[Patch], width: int, height: int) -> Patch | None:
    """One patch holding all of `patches`, cropped to the pixels they cover; None if nothing."""
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    for patch in patches:
        inside = _clip(patch, width, height)
        if inside is not None:
            canvas.alpha_composite(inside.image, inside.position)
    box = canvas.getchannel("A").getbbox()
    if box is None:
        return None
    return Patch(canvas.crop(box), (box[0], box[1]))


def _clip(patch: Patch, width: int, height: int) -> Patch | None:
    """The part of `patch` inside the frame (alpha_composite refuses negative positions)."""
    x, y = patch.position
    left, top = max(0, -x), max(0, -y)
    right = min(patch.image.width, width - x)
    bottom = min(patch.image.height, height - y)
    if right <= left or bottom <= top:
        return None
    return Patch(patch.image.crop((left, top, right, bottom)), (x + left, y + top))
