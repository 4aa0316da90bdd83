"""ServeConfig checks serve's options once, on construction, with the shared port check."""

from __future__ import annotations

import pytest

from avatargen.serve.config import ServeConfig
from sharedcore.errors import UserError


def test_port_0_is_a_free_port_and_the_range_is_the_shared_one() -> None:
    assert ServeConfig("example", port=0).port == 0
    assert ServeConfig("example", port=65535).port == 65535
    for bad in (-1, 65536, 70000):
        with pytest.raises(UserError) as e:
            ServeConfig("example", port=bad)
        assert "--port" in str(e.value) and str(bad) in str(e.value) and "\n" not in str(e.value)


def test_workers_below_one_are_refused() -> None:
    assert ServeConfig("example", workers=3).workers == 3
    with pytest.raises(UserError, match="--workers 0: give 1 or more"):
        ServeConfig("example", workers=0)
