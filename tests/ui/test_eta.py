"""The first launch's time left: measured from each stage's own rate, never a constant promise."""

from autointerp.ui.eta import duration_text, time_left


def test_time_left_follows_the_measured_rate():
    assert time_left(25, 100, 10.0) == 30.0  # 25 in 10 s: 75 more take 30 s
    assert time_left(25, 100, 40.0) == 120.0  # the same progress on a machine four times as loaded
    assert time_left(100, 100, 12.0) == 0.0
    assert time_left(0, 100, 10.0) is None and time_left(5, 100, 0.5) is None  # nothing measured yet


def test_duration_text_is_coarse():
    assert duration_text(3) == "about 5 s" and duration_text(42) == "about 40 s"
    assert duration_text(337) == "about 6 min"
