"""Captioned grids: avatars in rows, each with its caption lines (style, probability) under it.

Text uses matplotlib's bundled DejaVu Sans (covers Cyrillic), so the PNG bytes do not depend on the
machine's fonts.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (255, 255, 255)
TILE = (242, 242, 242)  # behind each avatar, so white clothes and silver hair stay visible
TEXT = (34, 34, 34)
MUTED = (110, 110, 110)


@cache
def caption_font(size: int = 13) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at ``size`` pixels, from matplotlib's bundled fonts."""
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(path), size)


def _wrap(lines: Sequence[str], font: ImageFont.FreeTypeFont, width_px: float) -> list[str]:
    """Greedy word wrap of each line to ``width_px`` as measured in ``font``."""
    out: list[str] = []
    for line in lines:
        current = ""
        for word in line.split(" "):
            trial = f"{current} {word}" if current else word
            if current and font.getlength(trial) > width_px:
                out.append(current)
                current = "  " + word
            else:
                current = trial
        out.append(current)
    return out


def make_grid(
    images: Sequence[Image.Image],
    captions: Sequence[Sequence[str]],
    columns: int = 4,
    cell_width: int = 264,
    footer: Sequence[str] = (),
    font_size: int = 13,
) -> Image.Image:
    """An RGB grid image: each image scaled to ``cell_width`` on white, its caption lines under it.

    ``footer`` lines are written once under the whole grid (e.g. the defaults for parts the data lacks).
    """
    if len(images) != len(captions):
        raise ValueError("one caption list per image")
    if not images:
        raise ValueError("no images to put in a grid")
    font = caption_font(font_size)
    line_h = font_size + 4
    pad = 8
    wrapped = [_wrap(c, font, cell_width - 8) for c in captions]
    scale = cell_width / images[0].width
    img_h = round(images[0].height * scale)
    cell_h = img_h + pad + line_h * max(len(w) for w in wrapped) + pad
    cols = max(1, min(columns, len(images)))
    rows = math.ceil(len(images) / cols)
    grid_w = cols * (cell_width + pad) + pad
    foot = _wrap(footer, font, grid_w - 2 * pad)
    grid_h = rows * cell_h + pad + (line_h * len(foot) + pad if foot else 0)
    canvas = Image.new("RGBA", (grid_w, grid_h), (*BACKGROUND, 255))
    draw = ImageDraw.Draw(canvas)
    for i, (im, lines) in enumerate(zip(images, wrapped, strict=True)):
        x = pad + (i % cols) * (cell_width + pad)
        y = pad + (i // cols) * cell_h
        tile = im.convert("RGBA").resize((cell_width, img_h), Image.Resampling.LANCZOS)
        draw.rectangle((x, y, x + cell_width - 1, y + img_h - 1), fill=(*TILE, 255))
        canvas.alpha_composite(tile, (x, y))
        for j, line in enumerate(lines):
            draw.text((x + 4, y + img_h + pad // 2 + j * line_h), line, fill=TEXT, font=font)
    for j, line in enumerate(foot):
        draw.text((pad, rows * cell_h + pad + j * line_h), line, fill=MUTED, font=font)
    return canvas.convert("RGB")


def png_bytes(image: Image.Image) -> bytes:
    """Encode ``image`` as PNG without metadata (same image -> same bytes)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
