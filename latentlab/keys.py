"""Stored keys named once: the test metrics in training.json and zoo rows, with their display.

training.json's `test_metrics`, `latentlab.zoo.zoo_table` rows, `latentlab eval` and the pages
all use the keys below; each Metric says how to show its value (label, format, one-line help,
which way is better). Checkpoints store the model family under "family" (format 2; format 1
named it "architecture", still read by latentlab.validate.family_of).
"""

from __future__ import annotations

from dataclasses import dataclass

FAMILY_KEY = "family"
OLD_FAMILY_KEY = "architecture"


@dataclass(frozen=True)
class Metric:
    """A test metric as stored in training.json's `test_metrics` and in zoo rows (under `key`),
    with how to show it: `label`, `fmt` (str.format), one-line `help`, and which way is better."""

    key: str
    label: str
    fmt: str
    help: str
    better: str | None = None  # "lower", "higher" or None

    def format(self, value) -> str:
        return "–" if value is None else self.fmt.format(value)


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("mse", "test MSE", "{:.4f}", "mean squared error per pixel on the test split (images in [0, 1])",
           "lower"),
    Metric("psnr", "PSNR", "{:.1f} dB", "peak signal-to-noise ratio of the test reconstructions", "higher"),
    Metric("bce", "BCE", "{:.1f}", "binary cross-entropy per test image, in nats", "lower"),
    Metric("neg_elbo", "−ELBO", "{:.1f}", "negative evidence lower bound per test image, in nats (VAEs)",
           "lower"),
    Metric("kl", "KL", "{:.1f}", "KL divergence of the posterior from the prior per test image, in nats",
           None),
    Metric("active_units", "active units", "{}", "latent dimensions whose posterior mean varies "
           "across test images (variance > 0.01; Burda et al. 2016)", "higher"),
)}
