"""The coherent model: new avatars composed from parts of different training images, recoloured.

Each training image is decomposed (``segment``) into a head with its hair, a face band (eyes,
brows, nose, mouth, glasses, facial hair) and a body with its clothes, and into colour roles
(skin, hair, clothes) with per-pixel shade factors. Maximum-likelihood estimates:

- which training image supplies each part: a categorical over the images that have a usable part
  (each observed once, so the MLE is uniform over them);
- the skin, hair and clothes colours: categoricals over the base colours seen in training
  (counts / N, with optional additive smoothing ``alpha`` over the colours seen).

A sample draws a head source, a face source and a body source (different images when the
collection allows), a skin, hair and clothes colour, recolours every part's role pixels to
``shade * new colour`` and composes head + face + body, with long hair behind the body. A sample
that repeats a training image (more than ``max_identical`` of its pixels identical) is redrawn.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from avatargen.pixels.joint import pack
from avatargen.pixels.literal import check_images
from avatargen.pixels.modelfile import read_model_file, write_model_file
from avatargen.pixels.segment import CLOTHES, HAIR, OTHER, SKIN, Layout, decompose, find_layout
from sharedcore.errors import UserError

_ROLES = (SKIN, HAIR, CLOTHES)


def _colour_table(colours: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct RGB colours (K, 3) and their counts (K,) among the non-missing ``colours``."""
    seen = [c for c in colours if c is not None]
    if not seen:
        return np.zeros((0, 3), np.uint8), np.zeros(0, np.int64)
    arr = np.stack(seen).astype(np.uint8)
    uniq, counts = np.unique(arr, axis=0, return_counts=True)
    return uniq, counts


def over(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Alpha-composite RGBA uint8 ``top`` over ``bottom`` (same shape) -> RGBA uint8."""
    ta = top[..., 3:4].astype(np.float32) / 255.0
    ba = bottom[..., 3:4].astype(np.float32) / 255.0
    out_a = ta + ba * (1.0 - ta)
    rgb = top[..., :3] * ta + bottom[..., :3] * ba * (1.0 - ta)
    rgb = np.divide(rgb, out_a, out=np.zeros_like(rgb), where=out_a > 0)
    out = np.concatenate([rgb, out_a * 255.0], axis=-1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class PartBasedModel:
    """Part-based avatar model (MLE over part sources and part colours); see the module docstring.

    ``alpha``: additive smoothing of the colour categoricals (0 = MLE). ``max_identical``: a sample
    with a larger share of pixels identical to some training image is redrawn (None: never).
    """

    method = "parts"

    def __init__(self, alpha: float = 0.0, max_identical: float | None = 0.7, max_tries: int = 30) -> None:
        if alpha < 0:
            raise UserError(f"--alpha: value {alpha} is negative; use 0 (plain MLE) or a positive number")
        self.alpha = float(alpha)
        self.max_identical = max_identical
        self.max_tries = int(max_tries)

    # ---------------------------------------------------------------- estimation
    def fit(self, images: np.ndarray) -> PartBasedModel:
        """Decompose ``images`` (N, H, W, 4) uint8 and estimate the part and colour categoricals."""
        arr = check_images(images)
        self.images_ = np.ascontiguousarray(arr)
        self.layout_ = find_layout(arr)
        decs = [decompose(x, self.layout_) for x in arr]
        self.role_ = np.stack([d.role for d in decs])
        self.shade_ = np.stack([d.shade for d in decs]).astype(np.float16)
        self.bases_ = np.zeros((len(arr), 3, 3), np.uint8)
        self.has_ = np.zeros((len(arr), 3), bool)
        for i, d in enumerate(decs):
            for j, r in enumerate(_ROLES):
                b = d.bases[r]
                if b is not None:
                    self.bases_[i, j], self.has_[i, j] = b, True
        hair_over_body = np.array([d.hair_over_body for d in decs])
        self.body_ok_ = self.has_[:, 2] & (hair_over_body < 0.01)
        if not self.body_ok_.any():
            self.body_ok_ = np.ones(len(arr), bool)
        self._estimate_colours()
        return self

    def _estimate_colours(self) -> None:
        self.colours_: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for j, r in enumerate(_ROLES):
            self.colours_[r] = _colour_table(
                [self.bases_[i, j] if self.has_[i, j] else None for i in range(len(self.has_))]
            )

    def colour_probabilities(self, role: int) -> np.ndarray:
        """The (smoothed) MLE probabilities of the colours of ``role`` (SKIN, HAIR or CLOTHES)."""
        _, counts = self.colours_[role]
        p = counts + self.alpha
        return p / p.sum() if p.sum() > 0 else p.astype(float)

    # ---------------------------------------------------------------- sampling
    def _draw_sources(self, rng: np.random.Generator) -> tuple[int, int, int]:
        n = len(self.images_)
        body_pool = np.flatnonzero(self.body_ok_)
        for _ in range(50):
            a, f = (int(v) for v in rng.integers(0, n, 2))
            b = int(body_pool[rng.integers(0, len(body_pool))])
            if len({a, f, b}) == 3 or n < 3 or (len(body_pool) < 2 and a != f):
                return a, f, b
        return a, f, b

    def _draw_colours(self, rng: np.random.Generator) -> dict[int, np.ndarray]:
        out = {}
        for r in _ROLES:
            colours, _ = self.colours_[r]
            p = self.colour_probabilities(r)
            out[r] = colours[rng.choice(len(colours), p=p)] if len(colours) else np.zeros(3, np.uint8)
        return out

    def recolour(self, i: int, colours: dict[int, np.ndarray]) -> np.ndarray:
        """Training image ``i`` recoloured: a pixel of role r and shade k moves by ``k * (new - old base)``,
        so a shade of the old base becomes the same shade of the new one (exact when new == old)."""
        img = self.images_[i].copy()
        role = self.role_[i]
        shade = self.shade_[i].astype(np.float32)
        for j, r in enumerate(_ROLES):
            m = role == r
            if m.any() and self.has_[i, j]:
                delta = colours[r].astype(np.float32) - self.bases_[i, j].astype(np.float32)
                rgb = img[..., :3][m].astype(np.float32) + shade[m][:, None] * delta[None]
                img[..., :3][m] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
        return img

    def compose(self, a: int, f: int, b: int, colours: dict[int, np.ndarray]) -> np.ndarray:
        """Head and hair of image ``a``, face band of ``f``, body of ``b``, in ``colours`` -> (H, W, 4)."""
        lay: Layout = self.layout_
        h, w = lay.shape
        rows = np.arange(h)[:, None]
        head = np.broadcast_to(rows < lay.split, (h, w))
        tmpl = lay.template
        A, F, B = (self.recolour(i, colours) for i in (a, f, b))
        ra, rf, rb = self.role_[a], self.role_[f], self.role_[b]
        out = A.copy()
        # face band: f's features over a; a's hair stays in front of the upper face, f's hair there
        # is replaced by skin; the lower band (facial hair) is all f's
        band = tmpl & head & (rows >= lay.face_top)
        upper = band & (rows < lay.beard_top)
        f_layer = np.where((band & ~(upper & ((ra == HAIR) | (rf == HAIR))))[..., None], F, 0).astype(
            np.uint8
        )
        fill = upper & (ra != HAIR) & (rf == HAIR)
        out[fill] = np.append(colours[SKIN], 255).astype(np.uint8)
        out[band] = over(f_layer, out)[band]
        # outside the head template: f's accessories (glasses arms) replace a's
        side = head & ~tmpl
        f_acc = side & (rf == OTHER) & (F[..., 3] >= 200)
        a_acc = side & (ra == OTHER) & (A[..., 3] >= 200) & ~f_acc
        out[a_acc] = 0
        out[f_acc] = F[f_acc]
        # body: b's body over a's long hair
        body = ~head
        hair_back = np.where((body & (ra == HAIR))[..., None], A, 0).astype(np.uint8)
        keep_b = body & (tmpl | (rb == SKIN) | (rb == CLOTHES)) & (rb != HAIR)
        body_layer = np.where(keep_b[..., None], B, 0).astype(np.uint8)
        out[body] = over(body_layer, hair_back)[body]
        return out

    def _too_close(self, img: np.ndarray) -> bool:
        if self.max_identical is None:
            return False
        same = (pack(self.images_) == pack(img)[None]).mean(axis=(1, 2))
        return bool(same.max() > self.max_identical)

    def sample_with_parts(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, list[dict[str, object]]]:
        """Draw ``n`` avatars -> (uint8 (n, H, W, 4), one record per avatar: sources, colours, tries)."""
        h, w = self.layout_.shape
        out = np.empty((n, h, w, 4), np.uint8)
        records: list[dict[str, object]] = []
        for k in range(n):
            tries = 0
            while tries < self.max_tries:
                tries += 1
                a, f, b = self._draw_sources(rng)
                colours = self._draw_colours(rng)
                img = self.compose(a, f, b, colours)
                if not self._too_close(img):
                    break
            out[k] = img
            records.append(
                {
                    "head": a,
                    "face": f,
                    "body": b,
                    "skin": tuple(int(v) for v in colours[SKIN]),
                    "hair": tuple(int(v) for v in colours[HAIR]),
                    "clothes": tuple(int(v) for v in colours[CLOTHES]),
                    "tries": tries,
                }
            )
        return out, records

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` avatars -> uint8 (n, H, W, 4)."""
        return self.sample_with_parts(n, rng)[0]

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str], force: bool = False) -> Path:
        """Write the model (training parts, layout, colour tables) to an ``.npz`` file."""
        lay = self.layout_
        params = {
            "alpha": self.alpha,
            "max_identical": self.max_identical,
            "max_tries": self.max_tries,
            "rows": [lay.top, lay.split, lay.face_top, lay.beard_top],
        }
        arrays = {
            "images": self.images_,
            "role": self.role_,
            "shade": self.shade_,
            "bases": self.bases_,
            "has": self.has_,
            "body_ok": self.body_ok_,
            "template": lay.template,
            "face_core": lay.face_core,
        }
        return write_model_file(path, self.method, params, arrays, force)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PartBasedModel:
        """Read a model written by :meth:`save`."""
        _, params, arr = read_model_file(path, cls.method)
        model = cls(
            alpha=params["alpha"], max_identical=params["max_identical"], max_tries=params["max_tries"]
        )
        top, split, face_top, beard_top = (int(v) for v in params["rows"])
        model.layout_ = Layout(
            arr["template"].astype(bool), top, split, face_top, beard_top, arr["face_core"].astype(bool)
        )
        model.images_ = arr["images"]
        model.role_ = arr["role"]
        model.shade_ = arr["shade"]
        model.bases_ = arr["bases"]
        model.has_ = arr["has"].astype(bool)
        model.body_ok_ = arr["body_ok"].astype(bool)
        model._estimate_colours()
        return model
