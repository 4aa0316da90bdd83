"""Epochs and batch size scale with the number and size of images, within the time budget."""

from __future__ import annotations

from spillguard.training.schedule import MIN_EPOCHS, TARGET_STEPS, choose_batch, choose_schedule


def test_pit_default_is_unchanged() -> None:
    s = choose_schedule(9000, 32, 48, 180.0)  # 10,000 real pits, 10% validation
    assert (s.epochs, s.batch_size) == (4, 128) and not s.capped_by_budget


def test_few_large_images_get_more_passes_and_smaller_batches() -> None:
    small = choose_schedule(9000, 32, 48, 1e9)
    large = choose_schedule(450, 128, 128, 1e9)
    assert large.epochs > small.epochs and large.batch_size < small.batch_size
    assert large.epochs * large.steps_per_epoch >= TARGET_STEPS
    assert large.batch_size % 8 == 0 and large.batch_size >= 32


def test_time_budget_caps_epochs_and_given_values_are_kept() -> None:
    free = choose_schedule(450, 128, 128, 1e9)
    capped = choose_schedule(450, 128, 128, 30.0)
    assert capped.capped_by_budget and capped.epochs < free.epochs and capped.estimated_seconds <= 30.0
    fixed = choose_schedule(450, 128, 128, 30.0, epochs=7, batch_size=16)
    assert (fixed.epochs, fixed.batch_size) == (7, 16) and not fixed.capped_by_budget
    assert choose_schedule(100_000, 32, 48, 1e9).epochs == MIN_EPOCHS


def test_batch_never_exceeds_the_training_set() -> None:
    assert choose_batch(32, 48, 10) == 10
    assert choose_batch(32, 48, 3) == 2
