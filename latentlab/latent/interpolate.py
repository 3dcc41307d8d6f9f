"""Interpolation between latent codes and a realism/smoothness readout (rendering: latentlab.render).

Linear interpolation (lerp) walks the straight chord between two codes. Spherical interpolation
(slerp) follows the great circle instead: White 2016, "Sampling Generative Networks"
(arXiv:1609.04468) argues that under a high-dimensional Gaussian prior almost all mass sits near
the shell of radius sqrt(d), and the midpoint of a chord falls inside that shell where the
decoder has seen little data; slerp keeps the norm between equal-norm endpoints.

Shapes: latents `[d]` or `[K, d]`; images `[N, C, H, W]` float in [0, 1]. Latent functions take
anything `torch.as_tensor` accepts and return float tensors.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from latentlab.errors import ConfigError

METHODS = ("linear", "slerp")


def _check_steps(steps: int) -> int:
    if int(steps) != steps or steps < 2:
        raise ConfigError(f"steps must be an integer >= 2, got {steps!r}")
    return int(steps)


def _pair(z0, z1) -> tuple[torch.Tensor, torch.Tensor]:
    a = torch.as_tensor(z0).reshape(-1)
    b = torch.as_tensor(z1).reshape(-1)
    if a.shape != b.shape:
        raise ConfigError(f"latents differ in size: {tuple(a.shape)} vs {tuple(b.shape)}")
    dtype = a.dtype if a.is_floating_point() else torch.float32
    return a.to(dtype), b.to(dtype)


def lerp(z0, z1, steps: int) -> torch.Tensor:
    """Straight line `[d], [d] -> [steps, d]`; row 0 is z0, row -1 is z1."""
    a, b = _pair(z0, z1)
    t = torch.linspace(0.0, 1.0, _check_steps(steps), dtype=torch.float64)[:, None]
    out = (1 - t) * a.double() + t * b.double()
    out[0], out[-1] = a, b  # exact endpoints, no rounding drift
    return out.to(a.dtype)


def slerp(z0, z1, steps: int, eps: float = 1e-4) -> torch.Tensor:
    """Great-circle path `[d], [d] -> [steps, d]` (White 2016).

    p(t) = sin((1-t)ω)/sin ω · z0 + sin(tω)/sin ω · z1 with ω the angle between z0 and z1.
    Rows 0 and -1 are exactly z0 and z1; when |z0| = |z1| every row has that norm. When sin ω < eps
    (near-parallel or near-opposite codes, or a zero code) the great circle is ill-defined and
    the function falls back to `lerp`.
    """
    a, b = _pair(z0, z1)
    steps = _check_steps(steps)
    a64, b64 = a.double(), b.double()
    na, nb = a64.norm(), b64.norm()
    if na == 0 or nb == 0:
        return lerp(a, b, steps)
    cos = torch.clamp(torch.dot(a64 / na, b64 / nb), -1.0, 1.0)
    omega = torch.arccos(cos)
    if torch.sin(omega) < eps:
        return lerp(a, b, steps)
    t = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)[:, None]
    out = (torch.sin((1 - t) * omega) * a64 + torch.sin(t * omega) * b64) / torch.sin(omega)
    out[0], out[-1] = a64, b64
    return out.to(a.dtype)


def _segment(method: str):
    if method == "linear":
        return lerp
    if method == "slerp":
        return slerp
    raise ConfigError(f"unknown interpolation method {method!r}: expected one of {METHODS}")


def path(latents, steps_per_segment: int, method: str = "linear") -> torch.Tensor:
    """Piecewise path through waypoints `[K, d] -> [(K-1)·(steps_per_segment-1) + 1, d]`.

    Waypoint k sits exactly at row k·(steps_per_segment-1); joints are not repeated.
    """
    z = torch.as_tensor(latents)
    if z.ndim != 2 or z.shape[0] < 2:
        raise ConfigError(f"path needs latents [K >= 2, d], got shape {tuple(z.shape)}")
    seg = _segment(method)
    steps = _check_steps(steps_per_segment)
    parts = [seg(z[k], z[k + 1], steps)[:-1] for k in range(z.shape[0] - 1)]
    return torch.cat(parts + [z[-1:].to(parts[0].dtype)])


def _as_batch(x) -> torch.Tensor:
    x = torch.as_tensor(x)
    return x[None] if x.ndim == 3 else x


@torch.inference_mode()
def interpolate(model, x0, x1, steps: int, method: str = "linear") -> torch.Tensor:
    """Encode two images `[C, H, W]` (or `[1, C, H, W]`), walk between their codes, decode.

    Returns frames `[steps, C, H, W]` in [0, 1]. For VAEs `encode` gives the posterior mean.
    """
    z = model.encode(torch.cat([_as_batch(x0), _as_batch(x1)]))
    return model.decode(path(z, steps, method))


def crossfade(x0, x1, steps: int) -> torch.Tensor:
    """Pixel-space alpha blend `[C, H, W] x2 -> [steps, C, H, W]`: the baseline a latent
    interpolation should beat (a crossfade shows two ghosted images, not a morph)."""
    a, b = _as_batch(x0)[0], _as_batch(x1)[0]
    return lerp(a.reshape(-1), b.reshape(-1), steps).reshape(steps, *a.shape)


def nearest_mse(frames, reference, chunk_pixels: int = 2**24) -> torch.Tensor:
    """Per-pixel MSE from each frame to its nearest reference image: `[T], [M] -> [T]`.

    Computed as |f|² + |r|² - 2 f·r over reference chunks of at most `chunk_pixels` numbers,
    so memory stays bounded for large reference sets. float64 avoids cancellation error.
    """
    f = torch.as_tensor(frames).flatten(1).double()
    ref = torch.as_tensor(reference).flatten(1)
    per_chunk = max(1, chunk_pixels // max(1, ref.shape[1]))
    f2 = (f * f).sum(1, keepdim=True)
    best = torch.full((f.shape[0],), math.inf, dtype=torch.float64)
    for start in range(0, ref.shape[0], per_chunk):
        r = ref[start : start + per_chunk].double()
        d2 = f2 + (r * r).sum(1)[None] - 2 * f @ r.T
        best = torch.minimum(best, d2.min(1).values)
    return best.clamp_min(0) / f.shape[1]


def path_quality(frames, reference) -> dict:
    """Readout for a decoded path `frames [T, C, H, W]` against real images `reference [M, C, H, W]`.

    realism_mean / realism_max: mean and worst per-pixel MSE from a frame to its nearest real image.
        Lower = closer to the data manifold; a path that leaves the data (blurry or ghosted
        midpoints) scores higher. Compare paths over the same reference set only.
    smoothness_cv: coefficient of variation (std/mean) of the T-1 consecutive-frame RMS distances.
        0 = perfectly even motion; large values mean the path jumps in a few steps and idles in
        the rest (typical of crossing a boundary between clusters).
    smoothness_max_ratio: largest step over the mean step (1 = even; 3 = one step 3x the mean).
    step_mean: mean consecutive-frame RMS distance (overall speed, pixel units).
    """
    f = torch.as_tensor(frames).double()
    if f.ndim != 4 or f.shape[0] < 2:
        raise ConfigError(f"path_quality needs frames [T >= 2, C, H, W], got {tuple(f.shape)}")
    real = nearest_mse(f, reference)
    steps = (f[1:] - f[:-1]).flatten(1).pow(2).mean(1).sqrt()
    mean = float(steps.mean())
    cv = float(steps.std(unbiased=False) / mean) if mean > 0 else 0.0
    ratio = float(steps.max() / mean) if mean > 0 else 1.0
    return {
        "realism_mean": float(real.mean()),
        "realism_max": float(real.max()),
        "realism_per_frame": real.numpy(),
        "smoothness_cv": cv,
        "smoothness_max_ratio": ratio,
        "step_mean": mean,
    }


NOUNS = {"mnist": "digit", "faces": "face", "shapes": "sprite"}  # what one image of the data is


def judge_frames(frames, classifier) -> dict[str, np.ndarray]:
    """Per frame `[T, C, H, W]`, what the dataset's classifier (latentlab.metrics.classifier,
    trained on real images only) sees: `on_data` bool `[T]` (looks like the data: not a double
    exposure and clearly some digit / face / sprite), `realness` `[T]` and `confidence` `[T]`."""
    f = torch.as_tensor(frames).float()
    if f.ndim != 4 or f.shape[0] < 1:
        raise ConfigError(f"judge_frames needs frames [T, C, H, W], got {tuple(f.shape)}")
    return {"on_data": classifier.on_data(f).numpy(), "realness": classifier.realness(f).numpy(),
            "confidence": classifier.confidence(f).numpy()}


def path_verdict(path_frames, crossfade_frames, classifier) -> dict:
    """Does a decoded path stay on the data, compared with the pixel crossfade of its endpoints?

    Both `[T, C, H, W]`. Returns {"path": judge_frames(path), "crossfade": judge_frames(fade),
    "path_on": int, "crossfade_on": int, "frames": T, "better": "path" | "crossfade" | "tie",
    "sentence": plain words for the page, e.g. "The latent path stays closer to the data: 14/16
    frames look like a digit; the crossfade: 6/16."}. Why this measure and not the distance to
    the nearest real image: docs/path_quality.md.
    """
    a, b = judge_frames(path_frames, classifier), judge_frames(crossfade_frames, classifier)
    n_a, n_b, t = int(a["on_data"].sum()), int(b["on_data"].sum()), len(a["on_data"])
    noun = NOUNS.get(classifier.info["dataset"]["name"], "real image")
    better = "path" if n_a > n_b else "crossfade" if n_b > n_a else "tie"
    lead = {"path": "The latent path stays closer to the data",
            "crossfade": "The crossfade stays closer to the data",
            "tie": "The latent path and the crossfade stay equally close to the data"}[better]
    article = "an" if noun[0] in "aeiou" else "a"
    sentence = (f"{lead}: {n_a}/{t} frames of the latent path look like {article} {noun}; "
                f"the crossfade: {n_b}/{len(b['on_data'])}.")
    return {"path": a, "crossfade": b, "path_on": n_a, "crossfade_on": n_b, "frames": t,
            "better": better, "sentence": sentence}

