"""Decompose aligned avatars into parts by position consensus and colour.

Position consensus over the collection gives the layout: the ``template`` (pixels opaque in at
least 90% of the images: head, neck and body without the hair), the neck (the narrowest template
rows below the head), the ``split`` row between head and body, and the face band.
Colour gives each image's roles: its skin, hair and clothes base colours (the most frequent colour
in a role's zone), and for every pixel the role whose base colour it is a shade of
(``q ~ k * base``, as Avataaars shading is a black overlay) with that shade factor ``k``.
The face silhouette (head skin with ears and neck, features' holes filled) is the consensus of the
images' skin pixels; facial hair is the dominant non-skin colour of the lower face, marked within it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from avatargen.pixels.joint import pack

OTHER, SKIN, HAIR, CLOTHES, FACIAL_HAIR = 0, 1, 2, 3, 4
N_ROLE_CODES = 5
#: The roles with a base colour of their own (an image's ``bases`` and ``has`` columns, in this order).
COLOUR_ROLES = (SKIN, HAIR, CLOTHES, FACIAL_HAIR)

# How dark or light a shade of a role's base colour may be (Avataaars shading: black overlays of
# 10-20% on skin; hair and clothes carry darker folds and inner parts).
SHADE_RANGE = {SKIN: (0.78, 1.1), HAIR: (0.6, 1.15), CLOTHES: (0.45, 1.2), FACIAL_HAIR: (0.6, 1.15)}


@dataclass(frozen=True)
class Layout:
    """Rows (0-based) and masks shared by every image of a collection (shape (H, W)): the template,
    the first figure row, the head/body split row, the first rows of the face band and of facial
    hair, and the face core (face band within the neck's columns, where skin dominates)."""

    template: np.ndarray
    top: int
    split: int
    face_top: int
    beard_top: int
    face_core: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W)."""
        return (int(self.template.shape[0]), int(self.template.shape[1]))


@dataclass
class Decomposition:
    """One image split into roles: ``role`` (H, W) uint8 codes, ``shade`` (H, W) float32 factors,
    the base RGB colour of each role (None when the image has no such part), and the share of the
    body template covered by hair-coloured pixels (hair in front of the body)."""

    role: np.ndarray
    shade: np.ndarray
    bases: dict[int, np.ndarray | None]
    hair_over_body: float = 0.0


def find_layout(images: np.ndarray) -> Layout:
    """Position consensus of ``images`` (N, H, W, 4) -> :class:`Layout`."""
    n, h = images.shape[:2]
    opaque = (images[..., 3] > 0).mean(axis=0)
    template = opaque >= (0.9 if n >= 3 else 0.5)
    if not template.any():
        template = opaque > 0
    width = template.sum(axis=1)
    rows = np.flatnonzero(width)
    if rows.size == 0:  # nothing opaque anywhere: a degenerate layout
        return _with_core(template, 0, h // 2, h // 4, h // 3)
    top, bottom = int(rows[0]), int(rows[-1])
    upper = slice(top, top + max(1, (bottom - top) // 2))
    head_row = top + int(np.argmax(width[upper]))
    below = width[head_row : bottom + 1].astype(float)
    below[below == 0] = np.inf
    neck_min = below.min()
    plateau = np.flatnonzero(below <= neck_min * 1.04) + head_row
    split = int(plateau[-1]) + 1
    if split >= bottom or split <= head_row:
        split = top + (bottom - top) * 2 // 3
    face_top = top + int(0.30 * (split - top))
    beard_top = top + int(0.60 * (split - top))
    return _with_core(template, top, split, face_top, beard_top)


def _with_core(template: np.ndarray, top: int, split: int, face_top: int, beard_top: int) -> Layout:
    """Add the face core: template pixels between face_top and split within the neck's columns."""
    h, w = template.shape
    neck_cols = np.flatnonzero(template[max(split - 1, 0)])
    core = np.zeros((h, w), bool)
    if neck_cols.size:
        core[face_top:split, neck_cols[0] : neck_cols[-1] + 1] = True
    core &= template
    if not core.any():
        core = template.copy()
        core[split:] = False
    return Layout(template, top, split, face_top, beard_top, core)


def _rgb_mode(pixels: np.ndarray, exclude: list[np.ndarray]) -> tuple[np.ndarray | None, int]:
    """Most frequent opaque RGB of ``pixels`` (M, 4), skipping shades of the ``exclude`` colours."""
    px = pixels[pixels[:, 3] == 255, :3]
    if px.size == 0:
        return None, 0
    codes, counts = np.unique(
        pack(np.concatenate([px, np.zeros((len(px), 1), np.uint8)], 1)), return_counts=True
    )
    colours = np.ascontiguousarray(codes)[:, None].view(np.uint8)[:, :3].astype(np.float32)
    keep = np.ones(len(codes), bool)
    for base in exclude:
        k, res = _shade_fit(colours, base)
        keep &= ~_is_shade(k, res, colours, SKIN)
    if not keep.any():
        return None, 0
    j = int(np.argmax(np.where(keep, counts, -1)))
    return colours[j].astype(np.uint8), int(counts[j])


def _rgb_codes(pixels: np.ndarray) -> np.ndarray:
    """Packed RGB codes of the opaque pixels among ``pixels`` (M, 4)."""
    px = pixels[pixels[:, 3] == 255].copy()
    px[:, 3] = 0
    return pack(px)


def _skin_colour(img: np.ndarray, layout: Layout) -> np.ndarray:
    """The colour that dominates both halves of the face core (upper: forehead and cheeks, lower:
    chin and neck); big beards fill only the lower half, long hair and glasses only the upper."""
    rows = np.arange(layout.shape[0])[:, None]
    upper = _rgb_codes(img[layout.face_core & (rows < layout.beard_top)])
    lower = _rgb_codes(img[layout.face_core & (rows >= layout.beard_top)])
    cu, nu = np.unique(upper, return_counts=True)
    cl, nl = np.unique(lower, return_counts=True)
    common, iu, il = np.intersect1d(cu, cl, return_indices=True)
    if common.size == 0:
        colour, _ = _rgb_mode(img[layout.face_core], [])
        return colour if colour is not None else np.zeros(3, np.uint8)
    best = int(np.argmax(np.minimum(nu[iu], nl[il])))
    return np.ascontiguousarray(common[best : best + 1])[:, None].view(np.uint8)[0, :3].copy()


def _shade_fit(colours: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For colours (M, 3) float: the shade factor k of ``base`` and the residual |q - k base|."""
    b = base.astype(np.float32)
    bb = max(float(b @ b), 1.0)
    k = (colours @ b) / bb
    res = np.linalg.norm(colours - k[:, None] * b[None], axis=1)
    return k, res


def _is_shade(k: np.ndarray, res: np.ndarray, colours: np.ndarray, role: int) -> np.ndarray:
    lo, hi = SHADE_RANGE[role]
    tol = np.maximum(10.0, 0.08 * np.linalg.norm(colours, axis=1))
    return (k >= lo) & (k <= hi) & (res <= tol)


def decompose(img: np.ndarray, layout: Layout, min_share: float = 0.004) -> Decomposition:
    """Split one RGBA image (H, W, 4) into skin / hair / clothes / other pixels.

    A role's base colour must cover at least ``min_share`` of the image, else the part is absent.
    """
    h, w = layout.shape
    rows = np.arange(h)[:, None]
    tmpl = layout.template
    head = rows < layout.split
    min_px = int(min_share * h * w)
    skin = _skin_colour(img, layout)
    hair_zone = (head & (rows < layout.face_top)) | (head & ~tmpl)
    hair, n_hair = _rgb_mode(img[hair_zone], [skin])
    clothes, n_clothes = _rgb_mode(img[~head & tmpl], [skin])
    bases: dict[int, np.ndarray | None] = {
        SKIN: skin,
        HAIR: hair if n_hair >= min_px else None,
        CLOTHES: clothes if n_clothes >= min_px else None,
    }
    rgb = img[..., :3].reshape(-1, 3)
    codes, inverse = np.unique(
        pack(np.concatenate([rgb, np.zeros((len(rgb), 1), np.uint8)], 1)), return_inverse=True
    )
    colours = np.ascontiguousarray(codes)[:, None].view(np.uint8)[:, :3].astype(np.float32)
    best_res = np.full(len(codes), np.inf, np.float32)
    role_u = np.zeros(len(codes), np.uint8)
    shade_u = np.ones(len(codes), np.float32)
    for r, base in bases.items():
        if base is None:
            continue
        k, res = _shade_fit(colours, base)
        better = _is_shade(k, res, colours, r) & (res < best_res)
        role_u[better], shade_u[better], best_res[better] = r, k[better], res[better]
    role = role_u[inverse.ravel()].reshape(h, w)
    shade = shade_u[inverse.ravel()].reshape(h, w)
    body = ~head & tmpl
    hair_in_body = (role == HAIR) & body
    hair_over_body = float(hair_in_body.sum() / max(int(body.sum()), 1))
    role[hair_in_body] = OTHER  # hair never counts inside the body
    role[(role == CLOTHES) & head] = OTHER  # clothes only below the split
    role[img[..., 3] == 0] = OTHER
    _edges_take_neighbour_role(role, shade, img[..., 3])
    _detach_from_scalp(role, hair_zone, head & tmpl & (rows >= layout.face_top))
    return Decomposition(role, shade, bases, hair_over_body)


def _edges_take_neighbour_role(role: np.ndarray, shade: np.ndarray, alpha: np.ndarray) -> None:
    """Give semi-transparent edge pixels left as OTHER the role and shade of an opaque neighbour (in place)."""
    todo = (role == OTHER) & (alpha > 0) & (alpha < 255)
    if not todo.any():
        return
    h, w = role.shape
    pad_r = np.pad(role, 1)
    pad_s = np.pad(shade, 1)
    pad_a = np.pad(alpha, 1)
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)):
        nr = pad_r[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        ns = pad_s[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        na = pad_a[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        take = todo & (nr != OTHER) & (na == 255)
        role[take], shade[take] = nr[take], ns[take]
        todo &= ~take


def _detach_from_scalp(role: np.ndarray, hair_zone: np.ndarray, upper_face: np.ndarray) -> None:
    """Hair-coloured pixels on the upper face not connected to the hair zone (glasses frames,
    eyebrows of the hair's colour) are not hair: set them to OTHER (in place)."""
    hair = role == HAIR
    if not (hair & upper_face).any():
        return
    labels, _ = ndimage.label(hair, structure=np.ones((3, 3), bool))
    scalp = np.unique(labels[hair & hair_zone])
    loose = upper_face & hair & ~np.isin(labels, scalp[scalp > 0])
    role[loose] = OTHER


def face_silhouette(
    roles: np.ndarray, alpha: np.ndarray, layout: Layout, min_share: float = 0.5
) -> np.ndarray:
    """Consensus face (head skin with ears and neck, above the split) of the decomposed images.

    ``roles``, ``alpha``: (N, H, W) role codes and alpha channels. A pixel belongs when it is skin in
    at least ``min_share`` of the images where it is skin or clear (hair, glasses and features cover
    the face, they say nothing about its outline) and in at least 15% of all images; holes are
    filled; the largest connected piece is kept. Returns a bool mask (H, W).
    """
    n, h, _ = roles.shape
    rows = np.arange(h)[:, None]
    skin = (roles == SKIN).sum(axis=0)
    clear = (alpha == 0).sum(axis=0)
    core = (skin >= min_share * (skin + clear)) & (skin >= max(1.0, 0.15 * n)) & (rows < layout.split)
    mask = ndimage.binary_fill_holes(core)
    labels, k = ndimage.label(mask)
    if k == 0:
        return layout.face_core.copy()
    sizes = np.bincount(labels.ravel())[1:]
    return np.asarray(labels == 1 + int(np.argmax(sizes)))


def _facial_hair_colour(
    img: np.ndarray, layout: Layout, skin: np.ndarray, min_share: float
) -> np.ndarray | None:
    """Dominant colour of the lower face core that is no shade of the skin (mouth interiors are dark
    skin shades), if it covers at least ``min_share`` of the lower face core and spans its width;
    else None."""
    rows = np.arange(layout.shape[0])[:, None]
    low = layout.face_core & (rows >= layout.beard_top)
    px = img[low]
    px = px[px[:, 3] == 255, :3]
    if px.size == 0:
        return None
    colours, counts = np.unique(px, axis=0, return_counts=True)
    c = colours.astype(np.float32)
    k, res = _shade_fit(c, skin)
    skin_shade = (k >= 0.25) & (k <= 1.2) & (res <= np.maximum(3.0, 0.03 * np.linalg.norm(c, axis=1)))
    counts = np.where(skin_shade, 0, counts)
    j = int(np.argmax(counts))
    if counts[j] < min_share * int(low.sum()):
        return None
    # facial hair spans the face core's width (a mouth, tongue or teeth does not)
    where = low & (img[..., :3] == colours[j]).all(axis=-1) & (img[..., 3] == 255)
    xs, core_xs = np.flatnonzero(where.any(axis=0)), np.flatnonzero(low.any(axis=0))
    if xs[-1] - xs[0] < 0.9 * (core_xs[-1] - core_xs[0]):
        return None
    return colours[j].astype(np.uint8)


def mark_facial_hair(
    dec: Decomposition, img: np.ndarray, layout: Layout, face: np.ndarray, min_share: float = 0.08
) -> None:
    """Give the facial hair of one decomposed image its own role (in place): shades of its base colour
    (the lower face's dominant non-skin colour) on the lower face, in pieces touching the face
    core, whether or not they matched the hair colour. Sets ``dec.bases[FACIAL_HAIR]`` (None without facial hair)."""
    skin = dec.bases[SKIN]
    base = None if skin is None else _facial_hair_colour(img, layout, skin, min_share)
    dec.bases[FACIAL_HAIR] = base
    if base is None:
        return
    rows = np.arange(layout.shape[0])[:, None]
    top = layout.beard_top - (layout.split - layout.top) // 30
    zone = ndimage.binary_dilation(face, iterations=4) & (rows >= top) & (rows < layout.split)
    zone &= (dec.role == OTHER) | (dec.role == HAIR)
    px = img[zone]
    k, res = _shade_fit(px[:, :3].astype(np.float32), base)
    ok = _is_shade(k, res, px[:, :3].astype(np.float32), FACIAL_HAIR) & (px[:, 3] > 0)
    shade = np.zeros(zone.shape, np.float32)
    found = np.zeros(zone.shape, bool)
    found[zone] = ok
    shade[zone] = k
    # only the pieces touching the lower face core (hair strands beside the face are no beard)
    labels, _ = ndimage.label(found, structure=np.ones((3, 3), bool))
    keep = np.unique(labels[found & layout.face_core])
    found &= np.isin(labels, keep[keep > 0])
    dec.role[found] = FACIAL_HAIR
    dec.shade[found] = shade[found]


@dataclass
class FaceLayers:
    """One image's face-band layers (rows ``face_top`` to ``split``), bool masks (band_h, W):
    ``hair`` (hair plus its anti-aliased edge), ``accessory`` (glasses: wide non-role shapes at eye
    level, drawn over hair) and ``behind_hair`` (accessory pixels outside the face lying within the
    hair, to be filled with hair when the accessory is removed)."""

    hair: np.ndarray
    accessory: np.ndarray
    behind_hair: np.ndarray


def face_layers(role: np.ndarray, alpha: np.ndarray, layout: Layout, face: np.ndarray) -> FaceLayers:
    """Split the face band of one decomposed image (``role``, ``alpha`` (H, W)) into :class:`FaceLayers`."""
    band = slice(layout.face_top, layout.split)
    r, a, f = role[band], alpha[band], face[band]
    hair = r == HAIR
    other = (r == OTHER) & (a > 0)
    edge = other & ndimage.binary_dilation(hair, iterations=2)
    labels, n = ndimage.label(other & ~edge, structure=np.ones((3, 3), bool))
    accessory = np.zeros_like(hair)
    if n:
        cols = np.flatnonzero(f.any(axis=0))
        face_w = (cols[-1] - cols[0] + 1) if cols.size else r.shape[1]
        eye_level = layout.beard_top - layout.face_top
        for k, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None:
                continue
            wide = (sl[1].stop - sl[1].start) >= 0.5 * face_w
            if wide and (sl[0].start + sl[0].stop) / 2 < eye_level:
                accessory[sl] |= labels[sl] == k
    closed = ndimage.binary_closing(hair, iterations=6)
    return FaceLayers(hair | (edge & ~accessory), accessory, accessory & ~f & closed)
