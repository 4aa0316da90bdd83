"""Stratified draws: each training instance as often as its share says, a batch spread evenly."""

from __future__ import annotations

import numpy as np

from avatargen.pixels.stratified import neighbour_head, stratified, systematic_heads


def test_stratified_draws_are_consecutive_permutations_of_the_pool() -> None:
    pool = np.array([3, 5, 8])
    got = stratified(pool, 8, np.random.default_rng(0))
    assert sorted(got[:3]) == sorted(got[3:6]) == [3, 5, 8] and set(got[6:]) <= {3, 5, 8}
    assert np.array_equal(stratified(np.array([], int), 4, np.random.default_rng(0)), [-1, -1, -1, -1])


def test_systematic_heads_take_each_image_at_most_once_per_round_and_spread_over_hair_sizes() -> None:
    hair = np.arange(10) * 100  # image i has the (i + 1)-th smallest hair
    for seed in range(20):
        heads = systematic_heads(hair, 5, np.random.default_rng(seed))
        assert len(set(heads.tolist())) == 5  # n <= N: no image twice
        assert not {8, 9} <= set(heads.tolist())  # never the two biggest hairs together
        ranks = np.sort(heads)
        assert (np.diff(ranks) >= 1).all() and ranks[-1] - ranks[0] >= 6  # spread over the sizes
    full = systematic_heads(hair, 20, np.random.default_rng(1))
    assert np.array_equal(np.bincount(full, minlength=10), np.full(10, 2))  # two whole rounds


def test_neighbour_head_is_the_nearest_unused_in_hair_rank() -> None:
    rank = np.array([0, 1, 2, 3, 4])
    assert neighbour_head(2, rank, {1}, np.random.default_rng(0)) == 3
    picks = {neighbour_head(2, rank, set(), np.random.default_rng(s)) for s in range(20)}
    assert picks == {1, 3}  # equally near: either, at random
    # all used: every head is free again, and the planned one is the nearest
    assert neighbour_head(0, rank, {0, 1, 2, 3, 4}, np.random.default_rng(0)) == 0
