"""A gallery folder: sampled styles drawn as avatars, written at once (PNG + SVG each, a captioned grid,
``styles.csv`` and ``report.html``). This is what ``avatargen avatars draw`` runs."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from PIL import Image

from avatargen.render.draw import png_to_image, resolve_mapping, style_svg, svgs_to_pngs
from avatargen.render.grid import make_grid, png_bytes
from avatargen.render.mapping import StyleMapping, normalise
from sharedcore.atomic import atomic_dir, check_output
from sharedcore.console import progress
from sharedcore.errors import UserError
from sharedcore.report import HtmlReport
from sharedcore.validate import check_int

GRID_MAX = 64  # avatars shown in grid.png; all of them are written as files
CHUNK = 32  # styles drawn per batch (bounded memory for large -n)


class StyleSampler(Protocol):
    """What a gallery needs of a style model (``avatargen.styles.model.StyleModel`` has it)."""

    attributes_: list[str]
    values_: dict[str, list[str]]

    def sample(
        self, n: int, rng: np.random.Generator, given: dict[str, str] | None = None, unique: bool = False
    ) -> pd.DataFrame: ...


@dataclass
class Gallery:
    """What was drawn: the folder, the styles (attribute columns + ``probability``) and the mapping used."""

    folder: Path
    styles: pd.DataFrame
    mapping: StyleMapping


def load_style_model(path: str | os.PathLike[str]) -> StyleSampler:
    """Load a saved StyleModel (imported here so that drawing does not need the styles package)."""
    from avatargen.styles.model import StyleModel

    model: StyleSampler = StyleModel.load(path)
    return model


def match_given(given: Mapping[str, str], model: StyleSampler, source: str) -> dict[str, str]:
    """``given`` spelled as the model spells it (names compared case-blind); UserError for unknown ones."""
    attrs = {normalise(a): a for a in model.attributes_}
    out: dict[str, str] = {}
    for attr, value in given.items():
        a = attrs.get(normalise(attr))
        if a is None:
            raise UserError(
                f"{source}: --given '{attr}={value}': no attribute '{attr}'; the model has: "
                f"{', '.join(model.attributes_)}"
            )
        vals = {normalise(v): v for v in model.values_[a]}
        v = vals.get(normalise(value))
        if v is None:
            raise UserError(
                f"{source}: --given '{attr}={value}': '{value}' is not a value of '{a}'; "
                f"use one of: {', '.join(model.values_[a])}"
            )
        if a in out:
            raise UserError(
                f"{source}: --given: attribute '{a}' is given twice (names are compared case-blind); give it once"
            )
        out[a] = v
    return out


def caption(index: int, style: Mapping[str, Any], attributes: Sequence[str]) -> list[str]:
    """Caption lines for one avatar: number and probability, then ``attribute: value`` per attribute."""
    p = style.get("probability")
    head = f"#{index}" + (f"   p = {float(p):.3g}" if p is not None and pd.notna(p) else "")
    return [head, *(f"{a}: {style[a]}" for a in attributes)]


def defaults_line(mapping: StyleMapping) -> str:
    """One line naming the parts the data does not set and how they are drawn."""
    unset = mapping.unset_parts()
    body = ", ".join(f"{k} {v}" for k, v in unset.items())
    return f"Not in the data, drawn as: {body} (mapping {mapping.name})."


#: Most avatars one gallery draws (about 10 minutes of drawing on one core).
DRAW_MAX = 10_000


def draw_gallery(
    model: StyleSampler,
    out: str | os.PathLike[str],
    n: int = 16,
    seed: int = 0,
    given: Mapping[str, str] | None = None,
    mapping: StyleMapping | str | os.PathLike[str] | None = None,
    size: tuple[int, int] = (528, 560),
    unique: bool = False,
    columns: int = 4,
    force: bool = False,
    model_name: str = "model",
) -> Gallery:
    """Sample ``n`` styles from ``model`` (seeded), draw them at ``size`` (w, h) and write the gallery folder.

    The mapping is checked against every value of the model before anything is sampled or written.
    """
    check_int(n, "-n", 1, DRAW_MAX, fix="avatars drawn in one gallery; draw several galleries for more")
    check_int(columns, "--columns", 1, fix="avatars per row of grid.png; more than -n gives one row")
    check_output(out, force, kind="dir")  # before sampling and drawing
    m = resolve_mapping(mapping, model.values_)
    m.check(model.values_)
    given_model = match_given(given or {}, model, model_name)
    styles = model.sample(n, np.random.default_rng(seed), given=given_model or None, unique=unique)
    styles = styles.reset_index(drop=True)
    attrs = [c for c in styles.columns if c not in ("probability", "log_probability")]
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in styles.to_dict("records")]
    width = len(str(len(records)))
    names = [f"avatar_{i + 1:0{width}d}" for i in range(len(records))]
    table = styles.copy()
    table.insert(0, "avatar", names)
    table["png"] = [f"{x}.png" for x in names]
    table["svg"] = [f"{x}.svg" for x in names]
    tiles: list[Image.Image] = []
    with atomic_dir(out, force=force) as tmp:
        starts = range(0, len(records), CHUNK)
        batches = progress(starts, desc="drawing", total=len(starts)) if len(starts) > 1 else starts
        for start in batches:
            chunk = records[start : start + CHUNK]
            svgs = [style_svg({a: r[a] for a in attrs}, m) for r in chunk]
            pngs = svgs_to_pngs(svgs, size)
            for name, svg, png in zip(names[start : start + CHUNK], svgs, pngs, strict=True):
                (tmp / f"{name}.svg").write_text(svg, encoding="utf-8")
                (tmp / f"{name}.png").write_bytes(png)
                if len(tiles) < GRID_MAX:
                    tiles.append(png_to_image(png))
        footer = [defaults_line(m)]
        if len(records) > GRID_MAX:
            footer.insert(
                0, f"The grid shows the first {GRID_MAX} of {len(records)} avatars; all are in the folder."
            )
        captions = [caption(i + 1, r, attrs) for i, r in enumerate(records[:GRID_MAX])]
        grid = make_grid(tiles, captions, columns=columns, footer=footer)
        (tmp / "grid.png").write_bytes(png_bytes(grid))
        table.to_csv(tmp / "styles.csv", index=False, lineterminator="\n")
        _report(m, table, attrs, model_name, n, seed, given_model, size, unique).write(tmp / "report.html")
    return Gallery(folder=Path(out), styles=styles, mapping=m)


def _report(
    m: StyleMapping,
    table: pd.DataFrame,
    attrs: Sequence[str],
    model_name: str,
    n: int,
    seed: int,
    given: Mapping[str, str],
    size: tuple[int, int],
    unique: bool,
) -> HtmlReport:
    rep = HtmlReport("Sampled styles drawn as avatars")
    cond = ", ".join(f"{k}={v}" for k, v in given.items()) or "none"
    rep.paragraph(
        f"Model {model_name}; {n} styles sampled with seed {seed}"
        f"{' (unique)' if unique else ''}; given: {cond}; drawn at {size[0]}x{size[1]} px "
        f"with python_avatars + resvg, mapping '{m.name}' ({m.source})."
    )
    rep.paragraph(defaults_line(m), css_class="note")
    rep.heading("Grid")
    rep.image("grid.png", "Each avatar with its style and its probability under the model")
    rep.heading("Styles")
    cols = ["avatar", *attrs, *(["probability"] if "probability" in table else [])]
    rows = [{str(k): v for k, v in r.items()} for r in table[cols].to_dict("records")]
    rep.table(rows)
    rep.heading("Avatars")
    for name in table["avatar"]:
        rep.image(f"{name}.png", str(name), width=132)
    return rep
