"""Picking samples by label, and the upload out-of-distribution verdict: pure functions checked
on hand-made labels and errors where the answer is known."""

import numpy as np
import pytest

from latentlab.errors import ConfigError
from latentlab.latent.pick import label_options, matching, parse_condition, pick
from latentlab.metrics.ood import error_percentile, verdict

DIGITS = {"digit": np.repeat(np.arange(10), 20)}  # sorted by digit, like the mnist test split
DIGIT_CATS = {"digit": [str(d) for d in range(10)]}
FACES = {"smiling": np.array([1, 0, 1, 0, 1, 0]), "glasses": np.array([0, 0, 1, 1, 1, 0]),
         "hair_color": np.array([3, 0, 3, 1, 3, 2]), "smile": np.array([0.9, 0.0, 0.5, -0.5, 1.0, -1.0])}
FACE_CATS = {"hair_color": ["black", "brown", "blond", "red", "grey"], "glasses": ["no", "yes"]}


def test_pick_draws_only_the_asked_class_at_random_with_a_seed():
    idx = pick(DIGITS, DIGIT_CATS, {"digit": 3}, n=5, seed=1)
    assert len(idx) == 5 and len(set(idx)) == 5
    assert (DIGITS["digit"][idx] == 3).all()
    assert np.array_equal(idx, pick(DIGITS, DIGIT_CATS, {"digit": "3"}, n=5, seed=1))
    assert not np.array_equal(idx, pick(DIGITS, DIGIT_CATS, {"digit": 3}, n=5, seed=2))
    everything = pick(DIGITS, DIGIT_CATS, {"digit": 3}, n=None, seed=0)
    assert sorted(everything) == list(range(60, 80))


def test_pick_combines_conditions_and_ranges():
    assert list(matching(FACES, FACE_CATS, {"smiling": 1, "glasses": "yes"})) == [2, 4]
    assert list(matching(FACES, FACE_CATS, {"hair_color": "red"})) == [0, 2, 4]
    assert list(matching(FACES, FACE_CATS, {"smile": (0.5, 1.0)})) == [0, 2, 4]
    with pytest.raises(ConfigError):
        pick(FACES, FACE_CATS, {"hair_color": "red", "glasses": 0, "smiling": 0})  # nobody
    with pytest.raises(ConfigError):
        pick(FACES, FACE_CATS, {"hair_color": "green"})
    with pytest.raises(ConfigError):
        pick(FACES, FACE_CATS, {"beard": 1})
    with pytest.raises(ConfigError):
        pick(DIGITS, DIGIT_CATS, {"digit": 3}, n=0)


def test_plain_words_become_conditions():
    assert parse_condition("a 3", DIGITS, DIGIT_CATS) == {"digit": "3"}
    assert parse_condition("smiling", FACES, FACE_CATS) == {"smiling": 1}
    assert parse_condition("no glasses", FACES, FACE_CATS) == {"glasses": 0}
    assert parse_condition("red hair", FACES, FACE_CATS) == {"hair_color": "red"}
    assert parse_condition("hair_color: grey", FACES, FACE_CATS) == {"hair_color": "grey"}
    with pytest.raises(ConfigError, match="cannot read"):
        parse_condition("a unicorn", FACES, FACE_CATS)
    assert label_options(FACES, FACE_CATS)["hair_color"] == ["black", "brown", "blond", "red"]


@pytest.mark.parametrize("error,expected", [(-1.0, 0.0), (0.5, 50.0), (997.5, 99.8), (250.0, 25.05)])
def test_percentile_is_the_rank_among_reference_errors(error, expected):
    reference = np.arange(1000) / 1.0 if error != 0.5 else np.array([0.0, 1.0])
    assert error_percentile(error, reference) == pytest.approx(expected)


def test_verdict_sentences_follow_the_percentile():
    reference = np.linspace(0.001, 0.010, 1000)
    typical = verdict(0.004, reference)
    assert typical.level == "like" and "like the training data" in typical.sentence
    edge = verdict(float(np.quantile(reference, 0.97)), reference)
    assert edge.level == "edge" and 96.5 < edge.percentile < 97.5
    odd = verdict(float(reference[997]) + 1e-9, reference)
    assert odd.level == "unlike" and "99.8 %" in odd.sentence and "unlike the training data" in odd.sentence
    far = verdict(0.35, reference)
    assert far.percentile == 100.0 and "35.0×" in far.sentence and "all 1,000" in far.sentence
    with pytest.raises(ConfigError):
        verdict(float("nan"), reference)
