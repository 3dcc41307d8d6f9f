"""Cache producers for the Anomaly, Restore, Generate and Features pages, and their readers.

Each producer is a module-level function `f(ref, ..., progress)` that the app runs as a
background task (latentlab.ui.tasks: a spawned child process with a progress bar and Cancel). It
writes its result with `latentlab.latent.analysis_cache` (a JSON record + npz arrays, written
atomically) under a key made of the checkpoint's content hash and a digest of the request, so a
retrained checkpoint never reads another's result and a second visitor reads the first one's.
Readers return None until a result exists. The maths lives in the library; here it is only run,
stored and read back:

- `anomaly_evaluation`: one score of `latentlab.metrics.one_class` fitted on normal training
  images, the test split's scores and ROC (Ruff et al. 2018's one-class protocol), the most
  anomalous images, and the fitted scorer's state, so that an upload is scored without refitting.
- `restore_latent`: latent-optimisation restoration of a corrupted image
  (`latentlab.metrics.restoration`; Bora et al. 2017, Yeh et al. 2017).
- `fit_code_density`: a Gaussian mixture over the training codes (`latentlab.latent.conditional`,
  the ex-post density of Ghosh et al. 2020).
- `probe_curves`: few-label probe accuracy against labels per class for pixels and checkpoints'
  codes (`latentlab.metrics.probes`, the linear evaluation protocol).

Shapes: images `[N, C, H, W]` in [0, 1]; masks bool `[N, 1, H, W]` (True = missing); codes `[N, d]`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import latentlab
from latentlab.latent import analysis_cache
from latentlab.latent.cache import user_cache_root
from latentlab.metrics.one_class import AnomalyScorer, Evaluation, Gallery, Normal

VERSION = 1  # bump when a producer's output changes meaning: old results are then not read
GALLERY = 10  # most anomalous images kept per view
AMONG = ("all", "normal")  # the top anomalies overall, and the normal images that score highest
MAX_TRAIN, MAX_TEST = 4000, 2000  # images a probe curve uses per split (a seeded subset beyond)
PIXELS = "pixels"


def _quiet(fraction: float, message: str = "") -> None:
    pass


def digest(**request) -> str:
    """A short digest of a request (JSON-able values; arrays by their bytes)."""
    h = hashlib.sha256()
    for key in sorted(request):
        value = request[key]
        h.update(key.encode())
        if isinstance(value, np.ndarray):
            h.update(str((value.dtype, value.shape)).encode() + np.ascontiguousarray(value).tobytes())
        else:
            h.update(json.dumps(value, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _find(folders: list[Path], key: str) -> tuple[dict, dict] | None:
    folder = next((d for d in folders if (d / f"{key}.json").is_file()), None)
    return None if folder is None else analysis_cache.read(folder, key)


def _own(model) -> tuple[list[Path], Path]:
    """(where a checkpoint's results are looked up, where new ones are written)."""
    return analysis_cache.search_dirs(model), user_cache_root() / model.info.name


# -- anomaly ---------------------------------------------------------------------------------------
def normal_spec(normal: Normal) -> dict:
    """A Normal as plain JSON (for task arguments and cache keys)."""
    return {"dataset": normal.dataset, "label": normal.label, "values": [float(v) for v in normal.values],
            "other": normal.other, "options": dict(normal.options)}


def normal_from(spec: dict) -> Normal:
    return Normal(spec["dataset"], spec.get("label"), tuple(spec.get("values") or ()), spec.get("other"),
                  dict(spec.get("options") or {}))


def anomaly_key(model, normal: dict, kind: str, max_reference: int) -> str:
    return f"{model.info.hash}-anomaly-{digest(normal=normal, kind=kind, ref=max_reference, v=VERSION)}"


def anomaly_evaluation(ref: str, normal: dict, kind: str, max_reference: int = 2000, progress=_quiet) -> None:
    """Fit the `kind` score on the normal training images, score the evaluation set, keep the ROC,
    the most anomalous images (`AMONG`) and the scorer's fitted state."""
    from latentlab.metrics.one_class import evaluate, evaluation_set, most_anomalous

    model = latentlab.load(ref)
    spec = normal_from(normal)
    progress(0.02, f"loading {spec.text}")
    es = evaluation_set(spec)
    progress(0.3, f"fitting the {kind} score on the normal training images")
    scorer = AnomalyScorer(kind, max_reference=max_reference).fit(model, es.x_normal_train)
    progress(0.55, f"scoring {len(es.x)} images")
    ev = evaluate(scorer, es.x, es.is_anomaly, es.labels)
    progress(0.9, "finding the most anomalous images")
    arrays = {"scores": ev.scores, "is_anomaly": ev.is_anomaly, "fpr": ev.fpr, "tpr": ev.tpr,
              "z_ref": scorer.z_ref_, "train_scores": scorer.train_scores_,
              **{f"ref.{part}": v for part, v in scorer.reference_.items()},
              **{f"label.{k}": np.asarray(v) for k, v in ev.labels.items() if np.asarray(v).dtype.kind in "biuf"}}
    for among in AMONG:
        g = most_anomalous(model, ev, GALLERY, among)
        arrays |= {f"{among}.index": g.index, f"{among}.images": g.images.numpy(),
                   f"{among}.recons": g.recons.numpy(), f"{among}.maps": g.error_maps, f"{among}.scores": g.scores}
    record = {"kind": kind, "normal": normal, "text": spec.text, "auroc": ev.auroc,
              "n_normal_train": min(len(es.x_normal_train), max_reference), "max_reference": max_reference}
    analysis_cache.write(_own(model)[1], anomaly_key(model, normal, kind, max_reference), record, arrays)


@dataclass
class AnomalyResult:
    """A stored evaluation (its images are not kept: `evaluation.x` is empty), its galleries by
    `AMONG`, and the scorer rebuilt from its fitted state (`score` works, `fit` was not rerun)."""

    evaluation: Evaluation
    galleries: dict[str, Gallery]
    scorer: AnomalyScorer
    record: dict


def read_anomaly(model, normal: dict, kind: str, max_reference: int = 2000) -> AnomalyResult | None:
    found = _find(_own(model)[0], anomaly_key(model, normal, kind, max_reference))
    if found is None:
        return None
    record, a = found
    labels = {k[6:]: v for k, v in a.items() if k.startswith("label.")}
    ev = Evaluation(kind, torch.zeros(0), a["scores"], a["is_anomaly"].astype(bool), labels,
                    float(record["auroc"]), a["fpr"], a["tpr"])
    galleries = {among: Gallery(a[f"{among}.index"], torch.as_tensor(a[f"{among}.images"]),
                                torch.as_tensor(a[f"{among}.recons"]), a[f"{among}.maps"], a[f"{among}.scores"])
                 for among in AMONG}
    return AnomalyResult(ev, galleries, fitted_scorer(model, kind, a, max_reference), record)


def fitted_scorer(model, kind: str, arrays: dict, max_reference: int = 2000) -> AnomalyScorer:
    """An AnomalyScorer with the learned attributes a stored fit left (`z_ref_`, `reference_`,
    `train_scores_`): the same scores as the scorer that was fitted, without refitting."""
    scorer = AnomalyScorer(kind, max_reference=max_reference)
    scorer.model_, scorer.z_ref_, scorer.train_scores_ = model, arrays["z_ref"], arrays["train_scores"]
    scorer.reference_ = {k[4:]: v for k, v in arrays.items() if k.startswith("ref.")}
    return scorer


# -- restoration -----------------------------------------------------------------------------------
def restoration_key(model, x_corrupt: np.ndarray, mask: np.ndarray | None, steps: int) -> str:
    request = digest(x=np.asarray(x_corrupt, np.float32), mask=None if mask is None else np.asarray(mask, bool),
                     steps=int(steps), v=VERSION)
    return f"{model.info.hash}-restore-{request}"


def restore_latent(ref: str, x_corrupt: np.ndarray, mask: np.ndarray | None, steps: int = 200,
                   progress=_quiet) -> None:
    """`restore_by_latent_optimisation` of corrupted images `[N, C, H, W]` (mask `[N, 1, H, W]`
    or None), its defaults otherwise (lr 0.05, prior weight 1e-3, seed 0); stores decode(z*)."""
    from latentlab.metrics.restoration import restore_by_latent_optimisation

    model = latentlab.load(ref)
    x = torch.as_tensor(np.asarray(x_corrupt, np.float32))
    m = None if mask is None else torch.as_tensor(np.asarray(mask, bool))
    restored = restore_by_latent_optimisation(model, x, m, steps=int(steps), progress=progress)
    analysis_cache.write(_own(model)[1], restoration_key(model, x_corrupt, mask, steps),
                         {"steps": int(steps)}, {"restored": restored.numpy()})


def read_restoration(model, x_corrupt: np.ndarray, mask: np.ndarray | None, steps: int) -> torch.Tensor | None:
    found = _find(_own(model)[0], restoration_key(model, x_corrupt, mask, steps))
    return None if found is None else torch.as_tensor(found[1]["restored"])


# -- a density over codes --------------------------------------------------------------------------
def density_key(model, n_components: int) -> str:
    return f"{model.info.hash}-code-density-{digest(k=int(n_components), v=VERSION)}"


def fit_code_density(ref: str, n_components: int = 10, progress=_quiet) -> None:
    """Encode the training split (latent cache) and fit `CodeDensity(n_components)` to its codes."""
    from latentlab.latent.cache import encode_split
    from latentlab.latent.conditional import CodeDensity
    from latentlab.progress import span

    model = latentlab.load(ref)
    z = encode_split(model, "train", progress=span(progress, 0.0, 0.4)).z
    progress(0.4, f"fitting a {n_components}-component Gaussian mixture to {len(z)} codes")
    gm = CodeDensity(n_components).fit(z).mixture_
    analysis_cache.write(_own(model)[1], density_key(model, n_components), {"n_codes": len(z)},
                         {"weights": gm.weights_, "means": gm.means_, "covariances": gm.covariances_})


def read_code_density(model, n_components: int, temperature: float = 1.0, seed: int = 0):
    """The fitted CodeDensity (a GaussianMixture rebuilt from its weights, means and
    covariances), or None if not fitted yet."""
    from sklearn.mixture import GaussianMixture

    from latentlab.latent.conditional import CodeDensity

    found = _find(_own(model)[0], density_key(model, n_components))
    if found is None:
        return None
    a = found[1]
    gm = GaussianMixture(len(a["weights"]), covariance_type="full")
    gm.weights_, gm.means_, gm.covariances_ = a["weights"], a["means"], a["covariances"]
    gm.precisions_cholesky_ = np.stack([np.linalg.inv(np.linalg.cholesky(c)).T for c in a["covariances"]])
    density = CodeDensity(n_components, temperature, seed)
    density.mixture_ = gm
    return density


# -- few-label probes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProbeRequest:
    """One probe curve: a label of a dataset (name + builder options, without `keep`), a probe of
    `latentlab.metrics.probes.PROBES`, label counts per class and seeds."""

    dataset: dict
    label: str
    probe: str
    counts: tuple[int, ...]
    seeds: tuple[int, ...]

    def key(self, representation: str, model_hash: str = "") -> str:
        fields = {"dataset": self.dataset, "label": self.label, "probe": self.probe,
                  "counts": list(self.counts), "seeds": list(self.seeds), "v": VERSION,
                  "max": [MAX_TRAIN, MAX_TEST]}
        return f"{model_hash or representation}-probe-{digest(**fields)}"


def _probe_place(request: ProbeRequest, representation: str) -> tuple[list[Path], Path, str]:
    """(lookup folders, write folder, key) of one representation's curve."""
    if representation == PIXELS:
        folder = user_cache_root() / f"{PIXELS}-{request.dataset['name']}"
        return [folder], folder, request.key(PIXELS)
    model = latentlab.load(representation) if isinstance(representation, str) else representation
    lookup, write = _own(model)
    return lookup, write, request.key(model.info.name, model.info.hash)


def subset(n: int, cap: int) -> np.ndarray:
    """All of range(n), or a seeded sorted subset of `cap` of them."""
    return np.arange(n) if n <= cap else np.sort(np.random.default_rng(0).choice(n, cap, replace=False))


def _probe_data(request: ProbeRequest, representation: str):
    """(z_train, z_test, y_train, y_test, class names) of one representation, on the subsets."""
    from latentlab.datasets import load_dataset
    from latentlab.latent.cache import encode_split
    from latentlab.metrics.probes import probe_target

    data = load_dataset(request.dataset["name"], **request.dataset.get("options", {}))
    y_train, y_test, names = probe_target(data.labels_train, data.labels_test, request.label, data.categories)
    if representation == PIXELS:
        z_train, z_test = data.x_train.flatten(1).numpy(), data.x_test.flatten(1).numpy()
    else:
        model = latentlab.load(representation)
        z_train, z_test = encode_split(model, "train").z, encode_split(model, "test").z
    tr, te = subset(len(y_train), MAX_TRAIN), subset(len(y_test), MAX_TEST)
    return z_train[tr], z_test[te], y_train[tr], y_test[te], names


def probe_curves(request: dict, representations: list[str], progress=_quiet) -> None:
    """Probe accuracy against labels per class (`learning_curve`, per_class) for each of
    `representations` ("pixels" or checkpoint names/paths), one stored curve each; curves already
    stored are skipped, so adding a model to a comparison computes only that model."""
    from latentlab.metrics.probes import learning_curve
    from latentlab.progress import span

    req = ProbeRequest(request["dataset"], request["label"], request["probe"], tuple(request["counts"]),
                       tuple(request["seeds"]))
    for i, rep in enumerate(representations):
        lookup, write, key = _probe_place(req, rep)
        if _find(lookup, key) is not None:
            continue
        step = span(progress, i / len(representations), (i + 1) / len(representations))
        step(0.0, f"{rep}: loading features")
        z_train, z_test, y_train, y_test, names = _probe_data(req, rep)
        curve = learning_curve({rep: (z_train, z_test)}, y_train, y_test, req.counts, req.seeds, req.probe,
                               per_class=True, progress=lambda f, rep=rep, step=step: step(f, f"{rep}: probing"))[rep]
        record = {"curve": {str(n): list(v) for n, v in curve.items()}, "classes": names,
                  "n_train": len(y_train), "n_test": len(y_test), "dim": int(np.prod(z_train.shape[1:]))}
        analysis_cache.write(write, key, record, {})


def read_probe_curve(request: ProbeRequest, representation) -> dict | None:
    """The stored record of one representation (a model, or "pixels"): `curve` {count: [mean,
    std]}, `classes`, `n_train`, `n_test`, `dim`; None if not computed yet."""
    lookup, _, key = _probe_place(request, representation)
    found = _find(lookup, key)
    return None if found is None else found[0]
