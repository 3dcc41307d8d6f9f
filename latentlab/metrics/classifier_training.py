"""Training the data classifiers of latentlab.metrics.classifier (run through its command line:
`python -m latentlab.metrics.classifier train mnist`).

Each batch mixes real images with blends of two real images (double exposures) and blurs every
image at random; label heads learn the blended labels (mixup: Zhang et al. 2018), the realness head
learns real = 1, blend = 0. After training, `calibrate` sets the thresholds of `on_data` on held-out
real images. Deterministic for a given seed and thread count.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from latentlab.metrics.classifier import (
    ARCH,
    FORMAT_VERSION,
    RECIPES,
    Classifier,
    Head,
    Net,
    class_index,
    classifier_dir,
)


def label_classes(labels: dict, name: str, categories: dict) -> tuple[np.ndarray, Head]:
    """A label's class index per sample `[N]` and its Head. Integer factor indices keep their
    order and take their real values from a `<name>_value` twin; float labels are levels."""
    v = np.asarray(labels[name])
    twin = labels.get(f"{name}_value")
    if np.issubdtype(v.dtype, np.integer):
        k = int(v.max()) + 1
        values = [float(twin[v == i][0]) if twin is not None and (v == i).any() else float(i)
                  for i in range(k)]
        return v.astype(np.int64), Head(name, values, categories.get(name))
    levels = np.unique(v)
    return np.searchsorted(levels, v).astype(np.int64), Head(name, levels.astype(float).tolist(),
                                                             categories.get(name))


def _shift(x: torch.Tensor, pixels: int, g: torch.Generator) -> torch.Tensor:
    """Translate each image by a random whole number of pixels in [-pixels, pixels], zero fill."""
    if pixels == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (pixels,) * 4)
    dx, dy = torch.randint(0, 2 * pixels + 1, (2, n), generator=g)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, :]
    return padded[torch.arange(n)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)


def _accuracy(clf: Classifier, x: torch.Tensor, targets: dict[str, np.ndarray]) -> dict[str, float]:
    probs = clf.predict_proba(x)
    return {k: float((probs[k].argmax(1).numpy() == t).mean()) for k, t in targets.items()}


BLEND_RANGE = (0.2, 0.8)  # weights of the blends the realness head learns to call "not data"
BLUR_SIGMAS = (0.0, 0.5, 1.0, 1.5)  # Gaussian blur (pixels at 28 x 28, scaled with the image size)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of `[N, C, H, W]` with standard deviation `sigma` pixels."""
    if sigma <= 0 or len(x) == 0:
        return x
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=x.dtype) / sigma) ** 2)
    k = (k / k.sum()).repeat(x.shape[1], 1, 1, 1)  # [C, 1, 1, 2r+1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k, groups=x.shape[1])
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.transpose(2, 3), groups=x.shape[1])


def _random_blur(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Each image blurred by one of BLUR_SIGMAS (scaled to its size), chosen at random: decoded
    images are often soft, and neither the labels nor the realness verdict should hinge on it."""
    which = rng.integers(0, len(BLUR_SIGMAS), len(x))
    out = x.clone()
    for i, sigma in enumerate(BLUR_SIGMAS):
        idx = torch.as_tensor(np.flatnonzero(which == i))
        out[idx] = _blur(x[idx], sigma * x.shape[-1] / 28)
    return out


def _blend_loss(net: Net, x: torch.Tensor, y: torch.Tensor, heads: list[Head], share: float,
                rng: np.random.Generator) -> torch.Tensor:
    """Training loss on a batch where a `share` of the images are replaced by blends of two real
    images, λ·x_i + (1-λ)·x_j with λ ~ U(BLEND_RANGE): double exposures, what a pixel crossfade
    shows. Label heads: cross-entropy against the same blend of labels (mixup: Zhang et al.
    2018), each over its chance level log K so 32-way position heads do not drown a 3-way shape
    head. Realness head: binary cross-entropy, real images 1, blends 0 (a critic of real versus
    mixed images, trained on real data only). Every image, real or blended, is then blurred at
    random (_random_blur), so softness is no evidence either way: only the double exposure is."""
    blended = torch.as_tensor(rng.random(len(x)) < share)
    lam = torch.where(blended, torch.as_tensor(rng.uniform(*BLEND_RANGE, len(x)), dtype=x.dtype), 1.0)
    j = torch.as_tensor(rng.permutation(len(x)))
    x = _random_blur(lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[j], rng)
    _, logits, real = net(x)
    loss = F.binary_cross_entropy_with_logits(real, (~blended).to(x.dtype))
    for k, h in enumerate(heads):
        ce = lam * F.cross_entropy(logits[h.name], y[:, k], reduction="none") + \
            (1 - lam) * F.cross_entropy(logits[h.name], y[j, k], reduction="none")
        loss = loss + ce.mean() / math.log(len(h.values))
    return loss


def train_classifier(dataset: str, seed: int = 0, epochs: int | None = None, batch_size: int = 128,
                     lr: float = 2e-3, blend: float | None = None, progress=None) -> Classifier:
    """Train the dataset's classifier on its train split; accuracy measured on its test split.

    Deterministic for a given seed and thread count. `progress(fraction, message)` is called
    once per epoch.
    """
    from latentlab.datasets import load_dataset

    recipe = RECIPES[classifier_dir(dataset).name]
    data = load_dataset(dataset, **recipe["options"])
    pairs = [label_classes(data.labels_train, k, data.categories) for k in recipe["heads"]]
    heads = [h for _, h in pairs]
    y_train = torch.as_tensor(np.stack([t for t, _ in pairs], 1))
    torch.manual_seed(seed)
    net = Net(data.shape[0], {h.name: len(h.values) for h in heads}, **ARCH)
    epochs = epochs or recipe["epochs"]
    blend = recipe["blend"] if blend is None else blend
    steps = epochs * math.ceil(len(data.x_train) / batch_size)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    g, start = torch.Generator().manual_seed(seed), time.time()
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        net.train()
        for idx in torch.randperm(len(data.x_train), generator=g).split(batch_size):
            loss = _blend_loss(net, _shift(data.x_train[idx], recipe["shift"], g), y_train[idx],
                               heads, blend, rng)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if progress:
            progress((epoch + 1) / epochs, f"epoch {epoch + 1}/{epochs}, last batch loss {loss.item():.3f}")
    info = {"format_version": FORMAT_VERSION, "dataset": {"name": dataset, "options": recipe["options"]},
            "input_shape": list(data.shape), "arch": ARCH, "heads": [h.__dict__ for h in heads],
            "seed": seed, "epochs": epochs, "batch_size": batch_size, "lr": lr, "blend": blend,
            "threads": torch.get_num_threads(), "train_seconds": round(time.time() - start, 1),
            "torch_version": torch.__version__.split("+")[0], "n_train": len(data.x_train)}
    clf = Classifier(net, heads, info)
    targets = {h.name: class_index(h, data.labels_test[h.name]) for h in heads}
    info["test_accuracy"] = _accuracy(clf, data.x_test, targets)
    info["n_test"] = len(data.x_test)
    info["on_data"] = calibrate(clf, data.x_test)
    return clf


def calibrate(clf: Classifier, x_real, quantile: float = 0.01) -> dict:
    """Thresholds for `on_data`: the `quantile` of realness and of confidence over the even-indexed
    real images `x_real [N, C, H, W]`; `real_pass_rate` is measured on the odd-indexed ones."""
    x_real = torch.as_tensor(x_real)
    fit, check = x_real[0::2], x_real[1::2]
    t = {"quantile": quantile, "n_fit": len(fit), "n_check": len(check),
         "realness_threshold": float(clf.realness(fit).quantile(quantile)),
         "confidence_threshold": float(clf.confidence(fit).quantile(quantile))}
    clf.info["on_data"] = t
    t["real_pass_rate"] = float(clf.on_data(check).float().mean())
    return t


