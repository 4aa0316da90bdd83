from __future__ import annotations

import numpy as np
import python_avatars as pa

from avatargen.pixels.segment import CLOTHES, HAIR, SKIN, decompose, find_layout
from tests.avatargen.pixels.conftest import render


def _hex(c: str) -> tuple[int, int, int]:
    c = c.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))


KNOWN = [
    # (top, hair colour, skin colour, clothing, clothing colour, accessory, facial hair)
    ("SHORT_FLAT", "#2C1B18", "#EDB98A", "HOODIE", "#FF5C5C", "NONE", "NONE"),
    ("BIG_HAIR", "#B58143", "#AE5D29", "SHIRT_SCOOP_NECK", "#262E33", "ROUND", "BEARD_MEDIUM"),
    ("BOB", "#C93305", "#FFDBB4", "SHIRT_CREW_NECK", "#65C9FF", "NONE", "NONE"),
    ("SHORT_WAVED", "#ECDCBF", "#614335", "OVERALL", "#FFFFB1", "SUNGLASSES", "BEARD_LIGHT"),
    ("CURLY", "#4A312C", "#F8D25C", "COLLAR_SWEATER", "#A7FFC4", "PRESCRIPTION_2", "NONE"),
    ("NONE", "#2C1B18", "#D08B5B", "SHIRT_V_NECK", "#FF488E", "NONE", "MOUSTACHE_FANCY"),
]


def _known_images() -> np.ndarray:
    imgs = []
    for top, hair, skin, clothing, ccol, acc, beard in KNOWN:
        av = pa.Avatar(
            style=pa.AvatarStyle.TRANSPARENT,
            top=getattr(pa.HairType, top),
            hair_color=hair,
            facial_hair=getattr(pa.FacialHairType, beard),
            facial_hair_color=hair,
            skin_color=skin,
            clothing=getattr(pa.ClothingType, clothing),
            clothing_color=ccol,
            accessory=getattr(pa.AccessoryType, acc),
        )
        imgs.append(render(av))
    return np.stack(imgs)


def test_layout_from_position_consensus() -> None:
    imgs = _known_images()
    lay = find_layout(imgs)
    h, _ = lay.shape
    # the neck of the 264x280 Avataaars lies at about rows 180-200; the face band starts above the eyes
    assert 0.62 * h < lay.split < 0.78 * h
    assert lay.top < lay.face_top < lay.beard_top < lay.split
    assert lay.template[lay.split + 10].sum() > lay.template[lay.split - 5].sum()  # shoulders wider than neck
    assert lay.face_core.any() and not lay.face_core[lay.split :].any()


def test_decomposition_recovers_the_drawn_colours() -> None:
    imgs = _known_images()
    lay = find_layout(imgs)
    for img, (top, hair, skin, _, ccol, _, _) in zip(imgs, KNOWN, strict=True):
        dec = decompose(img, lay)
        assert tuple(int(v) for v in dec.bases[SKIN]) == _hex(skin)
        assert dec.bases[CLOTHES] is not None
        assert tuple(int(v) for v in dec.bases[CLOTHES]) == _hex(ccol)
        if top == "NONE":
            assert dec.bases[HAIR] is None
        else:
            assert dec.bases[HAIR] is not None
            # some hair styles overlay a light tint: the base is nearest to the drawn colour
            hair_colours = np.array([_hex(c.value) for c in pa.HairColor], float)
            nearest = hair_colours[np.argmin(np.linalg.norm(hair_colours - dec.bases[HAIR], axis=1))]
            assert tuple(int(v) for v in nearest) == _hex(hair)
        # most skin-coloured pixels carry the skin role with shade 1
        exact = (img[..., :3] == np.array(_hex(skin), np.uint8)).all(-1) & (img[..., 3] == 255)
        assert (dec.role[exact] == SKIN).mean() > 0.99
        assert np.allclose(dec.shade[exact], 1.0, atol=0.01)
