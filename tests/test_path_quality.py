"""Path quality where the answer is known: real digits look like data, a crossfade between two
different digits looks less like data than the latent path of a model that morphs, a linear
decoder's path (PCA: a crossfade of its reconstructions) gains nothing over the crossfade, and
the sentence the page prints says what the counts say."""

import numpy as np
import pytest
import torch

import latentlab
from latentlab.datasets import load_dataset
from latentlab.errors import ConfigError
from latentlab.latent import crossfade, interpolate
from latentlab.latent.interpolate import judge_frames, path_verdict
from latentlab.metrics.classifier import load_classifier

PAIRS = 12


@pytest.fixture(scope="module")
def mnist():
    data = load_dataset("mnist")
    digits = data.labels_test["digit"]
    rng, pairs = np.random.default_rng(7), []
    while len(pairs) < PAIRS:
        i, j = rng.choice(len(digits), 2, replace=False)
        if digits[i] != digits[j]:
            pairs.append((int(i), int(j)))
    return data.x_test, pairs, load_classifier("mnist")


def _on(frames, clf) -> int:
    return int(judge_frames(frames, clf)["on_data"].sum())


def test_real_frames_score_best(mnist):
    x, pairs, clf = mnist
    rng = np.random.default_rng(0)
    real = [_on(x[rng.choice(len(x), 16, replace=False)], clf) for _ in pairs]
    fade = [_on(crossfade(x[i], x[j], 16), clf) for i, j in pairs]
    ae = latentlab.load("mnist_ae")
    path = [_on(interpolate(ae, x[i], x[j], 16), clf) for i, j in pairs]
    assert np.mean(real) >= 15.0  # thresholds pass 99 % of real images on each criterion
    assert np.mean(real) > np.mean(path) and np.mean(real) > np.mean(fade)


@pytest.mark.parametrize("name", ["mnist_ae", "mnist_vae", "mnist_dae"])
def test_a_morphing_model_beats_the_crossfade(mnist, name):
    x, pairs, clf = mnist
    model = latentlab.load(name)
    path = [_on(interpolate(model, x[i], x[j], 16), clf) for i, j in pairs]
    fade = [_on(crossfade(x[i], x[j], 16), clf) for i, j in pairs]
    assert np.mean(path) >= np.mean(fade) + 3  # frames out of 16, averaged over the pairs
    assert sum(p > f for p, f in zip(path, fade)) >= PAIRS * 2 // 3


def test_a_linear_decoder_gains_nothing_over_the_crossfade(mnist):
    x, pairs, clf = mnist
    pca = latentlab.load("mnist_pca")
    path = [_on(interpolate(pca, x[i], x[j], 16), clf) for i, j in pairs]
    fade = [_on(crossfade(x[i], x[j], 16), clf) for i, j in pairs]
    assert np.mean(path) <= np.mean(fade)


def test_the_crossfade_midpoint_is_judged_off_the_data(mnist):
    x, pairs, clf = mnist
    mids = torch.stack([crossfade(x[i], x[j], 17)[8] for i, j in pairs])
    ends = torch.stack([x[i] for i, _ in pairs])
    assert judge_frames(mids, clf)["on_data"].mean() < 0.25
    assert judge_frames(mids, clf)["realness"].mean() < judge_frames(ends, clf)["realness"].mean()


class _Fixed:
    """A stand-in classifier whose on_data verdict is given per frame by the frame's mean value."""

    info = {"dataset": {"name": "mnist"}}

    def on_data(self, x):
        return x.flatten(1).mean(1) > 0.5

    def realness(self, x):
        return x.flatten(1).mean(1)

    def confidence(self, x):
        return torch.ones(len(x))


@pytest.mark.parametrize("n_path,n_fade,better", [(14, 6, "path"), (5, 9, "crossfade"), (7, 7, "tie")])
def test_the_sentence_says_what_the_counts_say(n_path, n_fade, better):
    def frames(n_on):
        return torch.cat([torch.ones(n_on, 1, 4, 4), torch.zeros(16 - n_on, 1, 4, 4)])

    v = path_verdict(frames(n_path), frames(n_fade), _Fixed())
    assert (v["path_on"], v["crossfade_on"], v["better"]) == (n_path, n_fade, better)
    assert f"{n_path}/16 frames of the latent path look like a digit" in v["sentence"]
    assert f"the crossfade: {n_fade}/16" in v["sentence"]
    assert ("latent path stays closer" in v["sentence"]) == (better == "path")
    with pytest.raises(ConfigError):
        judge_frames(torch.zeros(16, 4, 4), _Fixed())
