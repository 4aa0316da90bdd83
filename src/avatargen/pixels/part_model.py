"""The coherent model: new avatars composed from parts of different training images, recoloured.

Each training image is decomposed (``segment``) into a head with its hair, face features (eyes,
brows, nose, mouth, glasses, facial hair) on the consensus face silhouette, and a body with its
clothes, and into colour roles (skin, hair, clothes, facial hair) with per-pixel shade factors.
Maximum-likelihood estimates:

- which training image supplies each part: a categorical over the images that have a usable part
  (each observed once, so the MLE is uniform over them);
- the skin, hair, clothes and facial-hair colours: categoricals over the base colours seen in
  training (counts / N, with optional additive smoothing ``alpha`` over the colours seen);
- the hair colour together with the hair: the MLE of the joint (hair, hair colour) is the training
  pairs; ``keep_hair_colour`` mixes it with the independent product of the two marginals
  (``p * own + (1 - p) * marginal``), so a sample keeps the colour its hair was drawn in with
  probability ``p`` (big dark hair stays mostly dark, as in training).

A sample draws a head source, a face source and a body source (the face and the body from another
image than the head when the collection allows), the colours, recolours every part's role pixels
(``pixel + shade * (new - old base)``, through each image's palette) and composes: the head's hair
behind the body, the body, the head with its skin; on the consensus face silhouette (where the head's
front hair is not) the face source's face, its own hair there replaced by the head's skin or plain
skin; the face source's glasses on top, the head's removed. Within a batch every categorical is drawn
stratified (consecutive random permutations of its training instances: each draw keeps its MLE
probability, a batch shows the collection evenly). A sample that repeats a training image (more than
``max_identical`` of its pixels identical, or nearer than ``min_distance``) is redrawn.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from avatargen.pixels.compositing import over_packed
from avatargen.pixels.joint import pack
from avatargen.pixels.model_base import check_alpha, check_images
from avatargen.pixels.near_copy import identical_shares, too_close
from avatargen.pixels.part_file import TRAINING_ARRAYS, read_parts, write_parts
from avatargen.pixels.segment import (
    CLOTHES,
    COLOUR_ROLES,
    FACIAL_HAIR,
    HAIR,
    N_ROLE_CODES,
    SKIN,
    decompose,
    face_layers,
    face_silhouette,
    find_layout,
    mark_facial_hair,
)
from avatargen.pixels.stratified import neighbour_head, stratified, systematic_heads
from sharedcore.errors import UserError


def _colour_table(colours: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct RGB colours (K, 3) and their counts (K,) among the non-missing ``colours``."""
    seen = [c for c in colours if c is not None]
    if not seen:
        return np.zeros((0, 3), np.uint8), np.zeros(0, np.int64)
    arr = np.stack(seen).astype(np.uint8)
    uniq, counts = np.unique(arr, axis=0, return_counts=True)
    return uniq, counts


class PartBasedModel:
    """Part-based avatar model (MLE over part sources and part colours); see the module docstring.

    ``alpha``: additive smoothing of the colour categoricals (0 = MLE). ``keep_hair_colour``: weight
    of the training (hair, colour) pairs against independent hair colours. ``max_identical``: a sample
    with a larger share of pixels identical to some training image is redrawn (None: never).
    """

    method = "parts"

    def __init__(
        self,
        alpha: float = 0.0,
        keep_hair_colour: float = 0.75,
        max_identical: float | None = 0.7,
        min_distance: float | None = 35.0,
        max_tries: int = 30,
    ) -> None:
        if not 0.0 <= keep_hair_colour <= 1.0:
            raise UserError(f"keep_hair_colour: value {keep_hair_colour} is not in [0, 1]; use e.g. 0.5")
        self.alpha = check_alpha(alpha)
        self.keep_hair_colour = float(keep_hair_colour)
        self.max_identical = max_identical
        self.min_distance = min_distance
        self.max_tries = int(max_tries)

    # ---------------------------------------------------------------- estimation
    def fit(self, images: np.ndarray) -> PartBasedModel:
        """Decompose ``images`` (N, H, W, 4) uint8 and estimate the part and colour categoricals."""
        arr = check_images(images)
        self.images_ = np.ascontiguousarray(arr)
        self.layout_ = find_layout(arr)
        decs = [decompose(x, self.layout_) for x in arr]
        self.face_ = face_silhouette(np.stack([d.role for d in decs]), arr[..., 3], self.layout_)
        for d, x in zip(decs, arr, strict=True):
            mark_facial_hair(d, x, self.layout_, self.face_)
        self.role_ = np.stack([d.role for d in decs])
        self.shade_ = np.stack([d.shade for d in decs]).astype(np.float16)
        self.bases_ = np.zeros((len(arr), len(COLOUR_ROLES), 3), np.uint8)
        self.has_ = np.zeros((len(arr), len(COLOUR_ROLES)), bool)
        for i, d in enumerate(decs):
            for j, r in enumerate(COLOUR_ROLES):
                b = d.bases.get(r)
                if b is not None:
                    self.bases_[i, j], self.has_[i, j] = b, True
        hair_over_body = np.array([d.hair_over_body for d in decs])
        self.body_ok_ = self.has_[:, 2] & (hair_over_body < 0.01)
        if not self.body_ok_.any():
            self.body_ok_ = np.ones(len(arr), bool)
        self._prepare()
        return self

    def _estimate_colours(self) -> None:
        self.colours_: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for j, r in enumerate(COLOUR_ROLES):
            self.colours_[r] = _colour_table(
                [self.bases_[i, j] if self.has_[i, j] else None for i in range(len(self.has_))]
            )

    def _prepare(self) -> None:
        """Derived state for fast sampling: colour tables, packed images, per-image palettes
        (colour, role, shade) with index maps, the consensus skin shade and the part masks."""
        self._estimate_colours()
        n, h, w = self.role_.shape
        self.hair_area_ = (self.role_ == HAIR).sum(axis=(1, 2))
        self._packed = pack(self.images_)
        self._small = self.images_[:, ::8, ::8].astype(np.float32)
        self._palettes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._index = np.empty((n, h, w), np.int32)
        shade16 = np.ascontiguousarray(self.shade_, np.float16).view(np.uint16)
        for i in range(n):
            key = (
                self._packed[i].astype(np.uint64)
                | (self.role_[i].astype(np.uint64) << np.uint64(32))
                | (shade16[i].astype(np.uint64) << np.uint64(40))
            )
            uniq, inv = np.unique(key.ravel(), return_inverse=True)
            rgba = (uniq & np.uint64(0xFFFFFFFF)).astype(np.uint32)[:, None].view(np.uint8).copy()
            role = ((uniq >> np.uint64(32)) & np.uint64(0xFF)).astype(np.intp)
            shade = (uniq >> np.uint64(40)).astype(np.uint16).view(np.float16).astype(np.float32)
            self._palettes.append((rgba, role, shade))
            self._index[i] = inv.reshape(h, w)
        lay = self.layout_
        self._band = slice(lay.face_top, lay.split)
        self._body = slice(lay.split, h)
        self._face_band = self.face_[self._band]
        skin = self.role_ == SKIN
        counts = skin.sum(axis=0)
        shade_band = np.where(skin, self.shade_.astype(np.float32), np.nan)[:, self._band]
        shade_band[:, ~skin[:, self._band].any(axis=0)] = 1.0
        median = np.nanmedian(shade_band, axis=0)
        levels = np.where(counts[self._band] > 0, np.round(median, 2), 1.0)
        self._plate_levels, self._plate_index = np.unique(levels, return_inverse=True)
        self._plate_index = self._plate_index.reshape(levels.shape)
        self._tmpl_body = lay.template[self._body]
        layers = [face_layers(self.role_[i], self.images_[i, ..., 3], lay, self.face_) for i in range(n)]
        self._hair_band = np.stack([x.hair for x in layers]) if n else np.zeros((0, 0, w), bool)
        self._acc_band = np.stack([x.accessory for x in layers]) if n else self._hair_band
        self._acc_hair = np.stack([x.behind_hair for x in layers]) if n else self._hair_band

    def colour_probabilities(self, role: int) -> np.ndarray:
        """The (smoothed) MLE probabilities of the colours of ``role`` (SKIN, HAIR, CLOTHES, FACIAL_HAIR)."""
        _, counts = self.colours_[role]
        p = counts + self.alpha
        return p / p.sum() if p.sum() > 0 else p.astype(float)

    # ---------------------------------------------------------------- sampling
    def _draw_sources(self, rng: np.random.Generator, head: int) -> tuple[int, int]:
        """Face ``f`` and body ``b`` sources for head ``head``, uniform (the MLE) over the other
        images (f == b is allowed); the head's own when the collection has no other."""
        n = len(self.images_)
        others = np.flatnonzero(np.arange(n) != head)
        f = int(others[rng.integers(0, len(others))]) if len(others) else head
        pool = np.flatnonzero(self.body_ok_ & (np.arange(n) != head))
        if len(pool) == 0:
            pool = np.flatnonzero(self.body_ok_)
        b = int(pool[rng.integers(0, len(pool))])
        return f, b

    def _batch_plan(
        self, n: int, rng: np.random.Generator
    ) -> list[tuple[int, int, int, dict[int, np.ndarray]]]:
        """First-try parts of a batch of ``n``: the heads by ``stratified.systematic_heads``, the other
        categoricals (face, body, each colour) stratified, as consecutive random permutations of
        their training instances, so each draw has the MLE probability (count / N) and a batch
        shows the collection as evenly as it can; a face or body that would repeat the head is
        redrawn from the other images."""
        heads = systematic_heads(self.hair_area_, n, rng)
        faces = stratified(np.arange(len(self.images_)), n, rng)
        bodies = stratified(np.flatnonzero(self.body_ok_), n, rng)
        colour_src = {
            r: stratified(np.flatnonzero(self.has_[:, j]), n, rng) for j, r in enumerate(COLOUR_ROLES)
        }
        plan = []
        for t in range(n):
            a = int(heads[t])
            f, b = int(faces[t]), int(bodies[t])
            if f == a or b == a:
                f2, b2 = self._draw_sources(rng, a)
                f, b = (f2 if f == a else f), (b2 if b == a else b)
            if self.alpha > 0:
                colours = self._draw_colours(rng, a)
            else:
                colours = {
                    r: self.bases_[int(src[t]), j].copy() if src[t] >= 0 else np.zeros(3, np.uint8)
                    for (j, r), src in zip(enumerate(COLOUR_ROLES), colour_src.values(), strict=True)
                }
                self._keep_own_hair_colour(rng, a, colours)
            plan.append((a, f, b, colours))
        return plan

    def _keep_own_hair_colour(
        self, rng: np.random.Generator, head: int, colours: dict[int, np.ndarray]
    ) -> None:
        """With probability ``keep_hair_colour`` the hair keeps the colour it was drawn in (in place)."""
        if self.has_[head, 1] and rng.random() < self.keep_hair_colour:
            colours[HAIR] = self.bases_[head, 1].copy()

    def _draw_colours(self, rng: np.random.Generator, head: int) -> dict[int, np.ndarray]:
        out = {}
        for r in COLOUR_ROLES:
            colours, _ = self.colours_[r]
            p = self.colour_probabilities(r)
            out[r] = colours[rng.choice(len(colours), p=p)] if len(colours) else np.zeros(3, np.uint8)
        self._keep_own_hair_colour(rng, head, out)
        return out

    def _recoloured(self, i: int, colours: dict[int, np.ndarray], rows: slice) -> np.ndarray:
        """Packed uint32 (rows, W) of training image ``i`` recoloured through its palette: a pixel of
        role r and shade k moves by ``k * (new - old base)`` (exact when new == old)."""
        rgba, role, shade = self._palettes[i]
        delta = np.zeros((N_ROLE_CODES, 3), np.float32)
        for j, r in enumerate(COLOUR_ROLES):
            if self.has_[i, j]:
                delta[r] = colours[r].astype(np.float32) - self.bases_[i, j].astype(np.float32)
        pal = rgba.copy()
        pal[:, :3] = np.clip(np.rint(rgba[:, :3] + shade[:, None] * delta[role]), 0, 255).astype(np.uint8)
        return pack(pal)[self._index[i, rows]]

    def compose(self, a: int, f: int, b: int, colours: dict[int, np.ndarray]) -> np.ndarray:
        """Head and hair of image ``a``, face features of ``f``, body of ``b``, in ``colours`` -> (H, W, 4)."""
        return self._compose_packed(a, f, b, colours)[..., None].view(np.uint8)

    def _compose_packed(
        self, a: int, f: int, b: int, colours: dict[int, np.ndarray], step: int = 1
    ) -> np.ndarray:
        """:meth:`compose` as packed uint32 (H', W), on every ``step``-th row (a cheap preview)."""
        lay = self.layout_
        out = self._recoloured(a, colours, slice(None, None, step))
        ft, sp = lay.face_top, lay.split
        b_off, y_off = (-ft) % step, (-sp) % step
        band = slice(ft + b_off, sp, step)  # image rows of the face band
        bsl = slice(b_off, None, step)  # the same rows in band-relative arrays
        out_band = out[-(-ft // step) : -(-sp // step)]
        # face: on the face silhouette (where a's front hair is not) f's face, skin with its
        # shading and features; where f's own hair covered it, a's skin, or plain skin in the
        # consensus shading over a's features
        ha, hf = self._hair_band[a, bsl], self._hair_band[f, bsl]
        acc_a, acc_f = self._acc_band[a, bsl], self._acc_band[f, bsl]
        face_band = self._face_band[bsl]
        fb = self._recoloured(f, colours, band)
        face = face_band & ~ha
        if face.any():
            skin = np.append(colours[SKIN], 0).astype(np.float32)
            levels = np.clip(np.rint(self._plate_levels[:, None] * skin[None]), 0, 255).astype(np.uint8)
            levels[:, 3] = 255
            plate = pack(levels)[self._plate_index[bsl]]
            a_skin = (self.role_[a, band] == SKIN) | (self.images_[a, band, :, 3] < 255)
            under = np.where(a_skin, out_band, plate)
            f_face = np.where(hf & ~acc_f, under, fb)
            out_band[face] = over_packed(f_face[face], out_band[face])
        # glasses: a's removed (outside the face: hair where they lay on hair, else clear), f's on top
        gone = acc_a & ~face_band
        if gone.any():
            hair_px = np.append(colours[HAIR], 255).astype(np.uint8)
            out_band[gone] = np.where(self._acc_hair[a, bsl][gone], pack(hair_px), np.uint32(0))
        if acc_f.any():
            out_band[acc_f] = over_packed(fb[acc_f], out_band[acc_f])
        # body: b's body and clothes over a's long hair
        body = slice(sp + y_off, None, step)
        out_body = out[-(-sp // step) :]
        ra_body = self.role_[a, body]
        rb = self.role_[b, body]
        hair_back = np.where(ra_body == HAIR, out_body, np.uint32(0))
        keep_b = (self._tmpl_body[y_off::step] | (rb == CLOTHES)) & (rb != HAIR)
        bb = np.where(keep_b, self._recoloured(b, colours, body), np.uint32(0))
        out_body[...] = over_packed(bb, hair_back)
        return out

    def identical_shares(self, img: np.ndarray, step: int = 1) -> np.ndarray:
        """Share of pixels of ``img`` (H, W, 4) identical to each training image -> (N,); with
        ``step`` > 1 estimated on every step-th row."""
        return identical_shares(self._packed, img, step)

    def _too_close(self, preview: np.ndarray, full: np.ndarray | None = None) -> bool | None:
        """``near_copy.too_close`` with this model's training images and bounds."""
        return too_close(self._packed, self._small, preview, full, self.max_identical, self.min_distance)

    def sample_with_parts(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, list[dict[str, object]]]:
        """Draw ``n`` avatars -> (uint8 (n, H, W, 4), one record per avatar: sources, colours, tries)."""
        h, w = self.layout_.shape
        out = np.empty((n, h, w, 4), np.uint8)
        records: list[dict[str, object]] = []
        plan = self._batch_plan(n, rng)
        rank = np.argsort(np.argsort(self.hair_area_, kind="stable"), kind="stable")
        used: set[int] = set()
        for k in range(n):
            tries = 0
            a, f, b, colours = plan[k]
            planned = a
            while tries < self.max_tries:
                tries += 1
                if tries > 1:  # a near-copy: redraw the parts and colours (the head first kept)
                    if tries > 2 * self.max_tries // 3:  # still near-copies: any head
                        a = int(rng.integers(0, len(self.images_)))
                    elif tries > self.max_tries // 3:  # this head gives only near-copies: a head
                        a = neighbour_head(planned, rank, used, rng)  # of a similar hair size
                    f, b = self._draw_sources(rng, a)
                    colours = self._draw_colours(rng, a)
                preview = self._compose_packed(a, f, b, colours, step=4)
                close = self._too_close(preview)
                if close:
                    continue
                full = self._compose_packed(a, f, b, colours)
                if close is None and self._too_close(preview, full):
                    continue
                break
            else:
                full = self._compose_packed(a, f, b, colours)
            img = full[..., None].view(np.uint8)
            used.add(a)
            out[k] = img
            records.append(
                {
                    "head": a,
                    "face": f,
                    "body": b,
                    **{
                        name: tuple(int(v) for v in colours[r])
                        for name, r in (
                            ("skin", SKIN),
                            ("hair", HAIR),
                            ("clothes", CLOTHES),
                            ("facial_hair", FACIAL_HAIR),
                        )
                    },
                    "tries": tries,
                }
            )
        return out, records

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` avatars -> uint8 (n, H, W, 4)."""
        return self.sample_with_parts(n, rng)[0]

    # ---------------------------------------------------------------- persistence
    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the images the model draws."""
        return (int(self.layout_.shape[0]), int(self.layout_.shape[1]))

    def save(self, path: str | os.PathLike[str], force: bool = False) -> Path:
        """Write the model (training parts, layout, colour tables) to an ``.npz`` file."""
        params = {
            "alpha": self.alpha,
            "keep_hair_colour": self.keep_hair_colour,
            "max_identical": self.max_identical,
            "min_distance": self.min_distance,
            "max_tries": self.max_tries,
        }
        arrays = {name: getattr(self, f"{name}_") for name in TRAINING_ARRAYS}
        return write_parts(path, params, self.layout_, arrays, force)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PartBasedModel:
        """Read a model written by :meth:`save`."""
        params, layout, arrays = read_parts(path)
        model = cls(**params)
        model.layout_ = layout
        for name in TRAINING_ARRAYS:
            setattr(model, f"{name}_", arrays[name])
        model._prepare()
        return model
