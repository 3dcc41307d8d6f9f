"""A small CNN that reads a dataset's own labels off images: the judge of decoded images.

It is trained on real images only, never on any autoencoder's output, so it can say what a
decoded, edited or interpolated image looks like to something that knows only the data: which
digit, which face attributes, which sprite. Its penultimate layer gives the features for
Fréchet distances (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium", FID), here with a domain classifier in place of Inception, as is usual for
MNIST-sized data, where ImageNet features mean little.

One network per embedded dataset, one softmax head per label (mnist: digit; faces: each of its
eight attributes over its levels; shapes: shape, scale, pos_x, pos_y — orientation is left out
because squares and ellipses repeat under rotation, so its classes are not identifiable), plus a
realness head: trained on real images against blends of two real images (double exposures, what
a pixel crossfade shows), with every training image blurred at random so that softness, which
decoded images share, is no evidence either way. `on_data` combines realness and label
confidence, each thresholded so 99 % of held-out real images pass (latentlab.metrics.classifier_training).

Weights ship as safetensors + JSON in `latentlab/metrics/classifiers/<dataset>/` (package data,
outside checkpoints/ because the zoo lists only autoencoders), read through the checked
safetensors reader. Train one (deterministic from its seed, with 1 thread):

    python -m latentlab.metrics.classifier train mnist      # also faces, shapes

Shapes: images `[N, C, H, W]` in [0, 1]; probabilities `[N, K]` per label; features `[N, F]`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentlab.atomic import atomic_file
from latentlab.checkpoint import read_json, read_tensors
from latentlab.errors import CheckpointError, ConfigError

FORMAT_VERSION = 1
CLASSIFIER_DIR = Path(__file__).resolve().parent / "classifiers"
WEIGHTS, META = "classifier.safetensors", "classifier.json"

# What each embedded dataset's classifier reads, how it is built and trained. `options` are the
# dataset options the zoo uses (its shapes are 32 x 32); `shift` is the random translation (pixels)
# used as augmentation, only where labels do not depend on position; `blend` the share of each
# batch replaced by blends of two images (see _blend_loss).
RECIPES = {
    "mnist": {"options": {}, "heads": ["digit"], "epochs": 30, "shift": 2, "blend": 0.3},
    "faces": {"options": {}, "heads": ["smile", "eye_openness", "glasses", "hair_color", "skin_tone",
                                       "face_width", "head_turn", "background_color"],
              "epochs": 8, "shift": 0, "blend": 0.3},
    "shapes": {"options": {"size": 32}, "heads": ["shape", "scale", "pos_x", "pos_y"],
               "epochs": 16, "shift": 0, "blend": 0.3},
}
ARCH = {"widths": [32, 32, 48, 64], "strides": [1, 2, 2, 2], "pool": 4, "features": 64}


class Net(nn.Module):
    """3x3 convolutions (a full-resolution one, then stride 2), pooled to pool x pool, one hidden
    layer (the features), one linear head per label and a realness logit.
    `[N, C, H, W] -> ([N, F], {label: logits [N, K]}, realness logits [N])`."""

    def __init__(self, channels: int, head_sizes: dict[str, int], widths=(32, 32, 48, 64),
                 strides=(1, 2, 2, 2), pool: int = 4, features: int = 64):
        super().__init__()
        layers, c = [], channels
        for w, s in zip(widths, strides, strict=True):
            layers += [nn.Conv2d(c, w, 3, stride=s, padding=1), nn.ReLU()]
            c = w
        self.conv = nn.Sequential(*layers)
        self.pool = pool
        self.hidden = nn.Linear(c * pool * pool, features)
        self.heads = nn.ModuleDict({k: nn.Linear(features, n) for k, n in head_sizes.items()})
        self.real = nn.Linear(features, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        h = F.adaptive_avg_pool2d(self.conv(x), self.pool).flatten(1)
        f = F.relu(self.hidden(h))
        return f, {k: head(f) for k, head in self.heads.items()}, self.real(f)[:, 0]


@dataclass
class Head:
    """One label: its name, the value each class stands for `[K]`, and category names if any."""

    name: str
    values: list[float]
    names: list[str] | None = None


class Classifier:
    """A loaded classifier (eval mode). `heads`: list of Head; `info`: its JSON record, including
    `test_accuracy` {label: held-out accuracy} and the data it was trained on."""

    def __init__(self, net: Net, heads: list[Head], info: dict):
        self.net, self.heads, self.info = net.eval().requires_grad_(False), heads, info
        self.input_shape = tuple(info["input_shape"])

    @property
    def labels(self) -> list[str]:
        return [h.name for h in self.heads]

    def head(self, label: str) -> Head:
        for h in self.heads:
            if h.name == label:
                return h
        raise ConfigError(f"this classifier has no label {label!r}; it reads {self.labels}")

    def _prepare(self, x) -> torch.Tensor:
        x = torch.as_tensor(x).float()
        x = x[None] if x.ndim == 3 else x
        c, h, w = self.input_shape
        if x.ndim != 4 or x.shape[1] != c:
            raise ConfigError(f"classifier for {self.info['dataset']['name']} needs images "
                              f"[N, {c}, H, W], got {tuple(x.shape)}")
        if x.shape[-2:] != (h, w):  # e.g. shapes rendered at 64 x 64: resample to what it knows
            x = F.interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
        return x

    @torch.inference_mode()
    def _run(self, x, batch_size: int = 512) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        x = self._prepare(x)
        feats, logits, real = [], {h.name: [] for h in self.heads}, []
        for chunk in x.split(batch_size):
            f, out, r = self.net(chunk)
            feats.append(f)
            real.append(r)
            for k, v in out.items():
                logits[k].append(v)
        return torch.cat(feats), {k: torch.cat(v) for k, v in logits.items()}, torch.cat(real)

    def predict_proba(self, x, label: str | None = None):
        """Images `[N, C, H, W]` -> {label: probabilities `[N, K]`}, or one `[N, K]` if `label`."""
        _, logits, _ = self._run(x)
        probs = {k: v.softmax(1) for k, v in logits.items()}
        return probs[self.head(label).name] if label is not None else probs

    def predict(self, x) -> dict[str, np.ndarray]:
        """Images -> {label: most likely class value `[N]`} (category index for categories)."""
        return {h.name: np.asarray(h.values)[p.argmax(1).numpy()]
                for h, p in zip(self.heads, self.predict_proba(x).values())}

    def expected_value(self, x, label: str) -> np.ndarray:
        """Images -> E[value] under the predicted distribution `[N]` (for ordinal labels)."""
        p = self.predict_proba(x, label).double().numpy()
        return p @ np.asarray(self.head(label).values, dtype=np.float64)

    def confidence(self, x) -> torch.Tensor:
        """Images -> the smallest, over labels, of the top class probability `[N]`: low when the
        image is not clearly any digit (any level of some face attribute, any sprite)."""
        return torch.stack([p.max(1).values for p in self.predict_proba(x).values()], 1).min(1).values

    def on_data(self, x) -> torch.Tensor:
        """Images -> bool `[N]`: looks like the data, i.e. realness and confidence both at least
        their thresholds, set so that 99 % of held-out real images pass each (`info["on_data"]`)."""
        t = self.info["on_data"]
        return (self.realness(x) >= t["realness_threshold"]) & (self.confidence(x) >= t["confidence_threshold"])

    def realness(self, x) -> torch.Tensor:
        """Images -> P(a single real image rather than a blend of two) `[N]`, from a head trained
        on real images against their double exposures (see _blend_loss)."""
        return self._run(x)[2].sigmoid()

    def features(self, x) -> torch.Tensor:
        """Images -> penultimate-layer activations `[N, F]` (for Fréchet distances)."""
        return self._run(x)[0]


def class_index(head: Head, values) -> np.ndarray:
    """Label values `[N]` -> class indices `[N]` of `head` (integer labels are indices already)."""
    v = np.asarray(values)
    if np.issubdtype(v.dtype, np.integer):
        return v.astype(np.int64)
    return np.searchsorted(np.asarray(head.values, dtype=np.float32), v.astype(np.float32))


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to feature sets `a [N, F]` and `b [M, F]`:
    |μa − μb|² + tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½) (Heusel et al. 2017; Dowson & Landau 1982).
    The symmetric form keeps every matrix square root real. Biased by small N: compare sets of
    equal size."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ConfigError(f"need feature sets [N >= 2, F] and [M >= 2, F], got {a.shape} and {b.shape}")
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(ca)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cb @ root_a), 0, None)).sum()
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * cross)


# -- loading ----------------------------------------------------------------------------------
def classifier_dir(dataset: str) -> Path:
    if dataset not in RECIPES:
        raise ConfigError(f"no classifier for dataset {dataset!r}; there is one for {sorted(RECIPES)}")
    return CLASSIFIER_DIR / dataset


def load_classifier(dataset: str, folder: Path | None = None) -> Classifier:
    """The shipped classifier of an embedded dataset ("mnist", "faces", "shapes"), or the one in
    `folder`. A missing, hostile or mismatched file raises CheckpointError naming it."""
    folder = Path(folder) if folder is not None else classifier_dir(dataset)
    info = read_json(folder / META)
    try:
        if info.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"unsupported format_version {info.get('format_version')!r}")
        heads = [Head(h["name"], [float(v) for v in h["values"]], h.get("names")) for h in info["heads"]]
        net = Net(int(info["input_shape"][0]), {h.name: len(h.values) for h in heads}, **info["arch"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CheckpointError(f"{folder / META}: malformed classifier record ({exc!r})") from None
    except CheckpointError as exc:
        raise CheckpointError(f"{folder / META}: {exc}") from None
    tensors = read_tensors(folder / WEIGHTS)
    _check_weights(tensors, net.state_dict(), folder / WEIGHTS)
    net.load_state_dict(tensors, strict=True)
    return Classifier(net, heads, info)


def classifier_for(model) -> Classifier:
    """The classifier of a loaded checkpoint's dataset (ConfigError if it has none)."""
    return load_classifier(model.info.dataset["name"])


def _check_weights(found: dict, expected: dict, path: Path) -> None:
    if set(found) != set(expected):
        raise CheckpointError(f"{path}: tensors do not match the classifier "
                              f"(missing {sorted(set(expected) - set(found))[:4]}, "
                              f"unexpected {sorted(set(found) - set(expected))[:4]})")
    for key, ref in expected.items():
        t = found[key]
        if t.shape != ref.shape or t.dtype != ref.dtype:
            raise CheckpointError(f"{path}: tensor {key!r} is {t.dtype}{list(t.shape)}, "
                                  f"expected {ref.dtype}{list(ref.shape)}")
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{path}: tensor {key!r} holds NaN or Inf")


def save_classifier(clf: Classifier, folder: Path) -> Path:
    """Write `classifier.safetensors` + `classifier.json` into `folder`, each atomically."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().clone() for k, v in clf.net.state_dict().items()}
    with atomic_file(folder / WEIGHTS, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp))
    with atomic_file(folder / META, suffix=".json") as tmp:
        tmp.write_text(json.dumps(clf.info, indent=2, allow_nan=False) + "\n")
    return folder


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m latentlab.metrics.classifier")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a dataset's classifier and write it where it ships")
    t.add_argument("dataset", choices=sorted(RECIPES))
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--epochs", type=int)
    t.add_argument("--blend", type=float, help="share of each batch blended (default: the recipe's)")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--out", type=Path, help="folder to write (default: the shipped one)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    from latentlab.metrics.classifier_training import train_classifier

    clf = train_classifier(a.dataset, a.seed, a.epochs, blend=a.blend,
                           progress=lambda f, m: print(m, flush=True))
    out = save_classifier(clf, a.out or classifier_dir(a.dataset))
    acc = ", ".join(f"{k} {v:.3f}" for k, v in clf.info["test_accuracy"].items())
    print(f"wrote {out}: held-out accuracy {acc} ({clf.info['train_seconds']} s)")


if __name__ == "__main__":
    main()
