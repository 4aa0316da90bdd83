"""The shared numbers checks: each refusal is one UserError naming the option, value, range and fix."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sharedcore.errors import UserError
from sharedcore.validate import (
    COUNT_MAX,
    SEED_MAX,
    check_counts,
    check_float,
    check_int,
    check_probability,
    check_seed,
    check_size,
    seed_option,
)


def test_seed_range() -> None:
    assert check_seed(0) == 0 and check_seed(SEED_MAX) == SEED_MAX and check_seed(np.int64(7)) == 7
    assert seed_option(None) is None and seed_option(3) == 3
    with pytest.raises(UserError) as exc:
        check_seed(-1)
    assert str(exc.value) == (
        "--seed: -1 is out of range; use an integer from 0 to 4294967295 "
        "(any seed in range gives reproducible output)"
    )
    for bad in (2**32, 10**30, 1.5, "3", True, None, math.nan):
        with pytest.raises(UserError, match=r"^--seed: .* use an integer from 0 to 4294967295"):
            check_seed(bad)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("many", "'many' is not a number"),
        (True, "True is not a number"),
        (math.nan, "nan is not a finite number"),
        (math.inf, "inf is not a finite number"),
        (-1.0, "-1.0 is out of range"),
        (1e308, "1e+308 is out of range"),
        (10**400, "is too large"),
    ],
)
def test_float_refusals_name_field_value_range(value: object, problem: str) -> None:
    with pytest.raises(UserError) as exc:
        check_float(value, "config lr", 0.0, 10.0, low_open=True, fix="e.g. lr: 0.001")
    msg = str(exc.value)
    assert msg.startswith("config lr: ") and problem in msg
    assert "use a finite number > 0 and <= 10 (e.g. lr: 0.001)" in msg and "\n" not in msg


def test_float_accepts_in_range() -> None:
    assert check_float(0.5, "x", 0, 1) == 0.5
    assert check_float(np.float32(2), "x") == 2.0
    assert check_probability(1.0, "--target-fpr") == 1.0
    with pytest.raises(UserError, match="use a finite number > 0 and < 1"):
        check_probability(1.0, "--target-fpr", open_ends=True)
    with pytest.raises(UserError, match="--edge-pvalue: -1 is out of range; use a finite number from 0 to 1"):
        check_probability(-1, "--edge-pvalue")


def test_int_checks() -> None:
    assert check_int(5.0, "epochs", 1, 10) == 5 and isinstance(check_int(1e3, "n", 0), int)
    with pytest.raises(UserError, match=r"epochs: 2\.5 is not a whole number; use an integer from 1 to 10"):
        check_int(2.5, "epochs", 1, 10)
    with pytest.raises(UserError, match="epochs: 'many' is not an integer"):
        check_int("many", "epochs", 1, 10)
    with pytest.raises(UserError, match=r"-n: 1000000000 is out of range; use an integer from 1 to 100000"):
        check_int(10**9, "-n", 1, 100_000)
    with pytest.raises(UserError, match="use an integer >= 0"):
        check_int(-3, "count", 0)
    with pytest.raises(UserError, match=r"characters\)"):
        check_int(10**300, "count", 0, 10)  # a 301-digit value is shown cut, with its length


def test_counts_cannot_overflow_or_wrap() -> None:
    assert check_counts({"a": 3, "b": 0}, "hair") == [3, 0]
    with pytest.raises(UserError, match=r"hair\[0\]: 4611686018427387904 is out of range"):
        check_counts([2**62, 2**62], "hair")  # int64 would wrap to a negative total
    with pytest.raises(UserError, match="hair: the counts add up to more than 9007199254740992"):
        check_counts([2**52, 2**52, 2**52], "hair")
    with pytest.raises(UserError, match="hair, value 'long': 1e\\+300 is out of range"):
        check_counts({"long": 1e300}, "hair")
    with pytest.raises(UserError, match=r"hair\[1\]: -1 is out of range"):
        check_counts([1, -1], "hair")
    assert check_counts([COUNT_MAX], "x") == [COUNT_MAX]


def test_size_pixel_budget() -> None:
    assert check_size(264, 280, "--size") == (264, 280)
    with pytest.raises(
        UserError, match="config height: 100000 is out of range; use an integer from 1 to 16384"
    ):
        check_size(64, 100000, "config", max_side=16384)
    with pytest.raises(UserError, match="--size: 16000x16000 is 256000000 pixels, over the budget"):
        check_size(16000, 16000, "--size")


@given(st.one_of(st.integers(), st.floats(allow_nan=True), st.text(max_size=5), st.booleans(), st.none()))
def test_checks_return_a_value_in_range_or_raise_user_error(value: object) -> None:
    for check in (
        lambda v: check_int(v, "n", -5, 5),
        lambda v: check_float(v, "x", -1.0, 1.0),
        check_seed,
    ):
        try:
            out = check(value)
        except UserError as exc:
            assert "\n" not in str(exc)
            continue
        assert isinstance(out, int | float) and math.isfinite(out)
        assert -5 <= out <= SEED_MAX
