"""Section 10: GLO, the adversarial autoencoder and the VAE-GAN against the rest of the zoo.

Per model on the mnist and faces test splits:
- reconstruction: per-pixel MSE and mean PSNR over the whole test split, from the latent cache
  (GLO's codes there are fitted by optimisation; every other model's come from its encoder);
- sample quality: Fréchet distance between decoded prior samples and the test images, on the
  features of the dataset's own classifier (`latentlab.metrics.classifier`), next to the
  distance between real training and test images of the same count (the floor) and that of the
  test reconstructions (how much the decoder alone loses);
- interpolation realism: linear paths between the codes of seeded random test pairs; the
  interior frames' per-pixel MSE to their nearest real test image (as
  `scripts/interpolation_quality.py`, lower = closer to data), and the Fréchet distance of the
  path midpoints to the test images;
- training cost from each checkpoint's training.json, and its size on disk.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.bench.core import Context, Section, missing
from latentlab.bench.report import fmt, md_table
from latentlab.errors import LatentlabError
from latentlab.latent import encode_split
from latentlab.latent.cache import encode_images
from latentlab.latent.interpolate import lerp, nearest_mse
from latentlab.metrics.generation import frechet_distance
from latentlab.zoo import dataset_of

TITLE = "10. GLO, adversarial autoencoder and VAE-GAN against the zoo"
DATASETS = ("mnist", "faces")
FAMILIES = ("pca", "ae", "dae", "vae", "bvae4", "glo", "aae", "vaegan")
STEPS = 8  # frames per interpolation path, endpoints included


def load_features(dataset: str):
    """(images -> features, a sentence naming the classifier) or (None, why not)."""
    try:
        from latentlab.metrics.classifier import load_classifier

        clf = load_classifier(dataset)
    except (ImportError, LatentlabError) as exc:  # say why; keep the section's other numbers
        return None, f"no Fréchet distances: no classifier for {dataset} ({exc})"
    acc = clf.info.get("test_accuracy", {})
    accs = ", ".join(f"{k} {v:.3f}" for k, v in acc.items()) if isinstance(acc, dict) else str(acc)
    text = (f"features: the {clf.net.hidden.out_features}-unit penultimate (ReLU) layer of "
            f"`latentlab.metrics.classifier`'s {dataset} CNN, trained on real {dataset} images "
            f"and their labels only (held-out accuracy: {accs})")
    return (lambda x: clf.features(x).double()), text


def codes(model, ctx: Context):
    """Test codes `[N, d]` and per-image reconstruction MSE `[N]`: cached for the shipped zoo."""
    if ctx.zoo_dir is None:
        lat = encode_split(model, "test")
        return torch.from_numpy(lat.z), lat.recon_error
    return (torch.from_numpy(a) if i == 0 else a
            for i, a in enumerate(encode_images(model, dataset_of(model).x_test)))


def pairs(n_test: int, n_pairs: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(n_test, 2, replace=False) for _ in range(n_pairs)])


@torch.inference_mode()
def interpolation_scores(model, z, x_test, idx, feats, real_feats) -> dict:
    """Realism of the interior frames and FD of the midpoints, linear paths between codes."""
    paths = torch.stack([lerp(z[i], z[j], STEPS)[1:-1] for i, j in idx])  # [P, STEPS-2, d]
    frames = model.decode(paths.flatten(0, 1))
    out = {"realism": float(nearest_mse(frames, x_test).mean())}
    mid = model.decode(torch.stack([lerp(z[i], z[j], 3)[1] for i, j in idx]))
    out["mid_fd"] = frechet_distance(feats(mid).numpy(), real_feats) if feats else None
    return out


@torch.inference_mode()
def model_row(name, model, ctx: Context, data, idx, feats, real_feats) -> dict:
    z, err = codes(model, ctx)
    err = np.asarray(err, dtype=np.float64)
    row = {"mse": float(err.mean()), "psnr": float((-10 * np.log10(np.clip(err, 1e-12, None))).mean())}
    if feats:
        row["recon_fd"] = frechet_distance(feats(model.decode(z)).numpy(), real_feats)
        gen = torch.Generator().manual_seed(ctx.settings.seed)
        row["sample_fd"] = (frechet_distance(feats(model.sample(len(z), generator=gen)).numpy(), real_feats)
                            if model.has_prior else None)
    row.update(interpolation_scores(model, z, data.x_test, idx, feats, real_feats))
    t = model.info.training
    row.update(images_per_second=t.get("images_per_second"), seconds=t.get("seconds"),
               threads=t.get("threads"), epochs=len(t.get("history", [])),
               mb=(model.info.path / "model.safetensors").stat().st_size / 1e6)
    return row


def dataset_rows(ds: str, found: list, ctx: Context) -> tuple[dict, str]:
    data = dataset_of(found[0][1])
    feats, about = load_features(ds)
    rows, real_feats = {}, None
    n_pairs = min(ctx.settings.interp_pairs, len(data.x_test) // 2)
    idx = pairs(len(data.x_test), n_pairs, ctx.settings.seed)
    if feats:
        real_feats = feats(data.x_test).numpy()
        g = torch.Generator().manual_seed(ctx.settings.seed)
        train_rows = torch.randperm(len(data.x_train), generator=g)[: len(data.x_test)]
        rows["real train images"] = {"sample_fd": frechet_distance(feats(data.x_train[train_rows]).numpy(), real_feats),
                                     "label": "data"}
    for name, model in found:
        rows[name] = {"label": model.label, **model_row(name, model, ctx, data, idx, feats, real_feats)}
    rows["_images"] = sheet(ds, found, data, ctx)
    return rows, about


HEADERS = ["data", "model", "family", "test MSE", "PSNR dB", "FD samples", "FD recon.",
           "interp. realism (MSE to nearest)", "FD interp. midpoints", "train images/s",
           "train s", "epochs", "threads", "MB"]


def table_row(ds: str, name: str, r: dict) -> list:
    return [ds, name, r["label"], fmt(r.get("mse"), 4), fmt(r.get("psnr"), 2), fmt(r.get("sample_fd"), 2),
            fmt(r.get("recon_fd"), 2), fmt(r.get("realism"), 4), fmt(r.get("mid_fd"), 2),
            fmt(r.get("images_per_second"), 0), fmt(r.get("seconds"), 0), fmt(r.get("epochs")),
            fmt(r.get("threads")), fmt(r.get("mb"), 2)]


def run(ctx: Context) -> Section:
    rows, data, notes, absent = [], {}, [], []
    for ds in DATASETS:
        found, gone = ctx.models(f"{ds}_{f}" for f in FAMILIES)  # not under inference mode:
        absent += gone  # parameters built there could never take part in GLO's encode
        if not found:
            continue
        data[ds], about = dataset_rows(ds, found, ctx)
        rows += [table_row(ds, name, r) for name, r in data[ds].items() if name != "_images"]
        notes.append(f"- {ds}: {about}.")
    s = ctx.settings
    body = (_intro(s) + "\n".join(notes) + "\n\n" + md_table(HEADERS, rows) + missing(absent)
            + "".join(f"\n{ds}: rows are models ({', '.join(v['_images']['models'])}); left: "
                      f"decoded prior samples (blank: no prior); right: one interpolation.\n\n"
                      f"![{ds} hybrids]({v['_images']['link']})\n"
                      for ds, v in data.items()))
    return Section("hybrids", TITLE, body, data)


def _intro(s) -> str:
    return (f"Whole test splits (mnist 1,000, faces 2,000 images), seed {s.seed}. FD: Fréchet "
            "distance on classifier features between the test images and as many decoded prior "
            "samples (\"FD samples\"), test reconstructions (\"FD recon.\") or midpoints of linear "
            f"interpolations between {s.interp_pairs} random test pairs (\"FD interp. midpoints\"); "
            "lower is closer to real data; the \"real train images\" row is the floor, real "
            f"images against real images of the same count. Interpolation realism: the {STEPS - 2} "
            "interior frames of each path against their nearest real test image, per-pixel MSE. "
            "Train images/s and seconds are as recorded in training.json, wall-clock with other "
            "jobs sharing the 2 cores (see the threads column).\n\n")


@torch.inference_mode()
def sheet(ds: str, found: list, data, ctx: Context) -> dict:
    """A PNG: one row per model, n prior samples then an n-frame interpolation (n = 6; 4 for
    64×64 colour images, which barely compress: keeps the PNG near 200 KB)."""
    n = 6 if data.x_test.shape[-1] < 64 else 4
    i, j = pairs(len(data.x_test), 1, ctx.settings.seed + 1)[0]
    rows = []
    for _, model in found:
        gen = torch.Generator().manual_seed(ctx.settings.seed)
        c, h, w = model.image_shape
        samples = model.sample(n, generator=gen) if model.has_prior else torch.full((n, c, h, w), 0.5)
        z = model.encode(data.x_test[[i, j]])
        rows.append(torch.cat([samples, model.decode(lerp(z[0], z[1], n))]))
    link = ctx.save_grid(torch.cat(rows), 2 * n, f"hybrids_{ds}.png")
    return {"link": link, "models": [name for name, _ in found]}
