"""Attribute directions that move one attribute: candidates, measured leakage, the least-leaking
default per attribute, and a cache keyed by the checkpoint's hash (shipped for the zoo).

For every attribute target (latentlab.latent.labels.attribute_targets: "smiling", "glasses",
"hair_color: red", ...) several candidate directions are fitted on a split's codes:

- `mean_difference`: mean code with the attribute minus mean code without (Larsen et al. 2016).
- `logistic`: the normal of a logistic regression (InterFaceGAN: Shen et al. 2020).
- `conditional`: the mean difference made orthogonal to the other attributes' mean differences
  (InterFaceGAN's conditional manipulation).
- `regression`: the codes regressed on the attribute *and every other attribute as covariates*;
  the attribute's coefficient is the code change per unit of it with the others held fixed, so a
  chance imbalance of, say, glasses between open- and shut-eyed faces does not leak into it.
- `measured`: from the measured effect of every latent dimension on every attribute (the
  traversal probe of latentlab.latent.naming, a finite-difference Jacobian of readers ∘ decoder),
  the smallest move, in standard deviations of the codes, whose linearised effect is +1 on the
  target and 0 on every attribute of another family (a minimum-norm least-squares solution).

Each candidate is then measured, not trusted: held-out codes are edited along it, decoded, and
every attribute is read off the images by readers trained on the dataset's own real images,
never on a model (latentlab.latent.readers: the dataset's classifier where one ships, else pixel
ridge regressors). `slope` is the target's change per step and
`leakage` the largest change of an attribute of another family ("smiling" and "smile" are one
family, as are all "hair_color: …"), both in label standard deviations per step of one standard
deviation of the codes along the direction. The default is the candidate with the smallest
leakage per unit of slope among those that move the target at least half as much as the best.
Selection uses one sample of codes and the recorded figures a disjoint one.

Shapes: codes `z [N, d]`; directions unit float64 `[d]`; images `[N, C, H, W]` in [0, 1].
"""

from __future__ import annotations

import time

import numpy as np

from latentlab.errors import CheckpointError, ConfigError
from latentlab.latent import analysis_cache
from latentlab.latent.attributes import _numpy, classifier_direction, conditional_direction
from latentlab.latent.labels import attribute_targets
from latentlab.latent.naming import measure_dims
from latentlab.latent.readers import Readers, dataset_readers, families, reading_values, slopes
from latentlab.progress import span, tick

CANDIDATES = ("mean_difference", "logistic", "conditional", "regression", "measured")
MIN_SLOPE_SHARE = 0.5  # a default must move its target at least this share of the best candidate


def edit_targets(labels: dict, categories: dict) -> dict[str, np.ndarray]:
    """The attribute targets worth a slider: attribute_targets without binary labels derived from
    a richer one that has its own ("smiling", "neutral", "frowning" are thresholds of "smile":
    one smile slider, not four overlapping ones)."""
    targets = attribute_targets(labels, categories)
    family = families(labels, list(targets))
    derived = {k for k in targets if ": " not in k and family[k] != k and family[k] in targets}
    return {k: y for k, y in targets.items() if k not in derived}


def regression_direction(z, target, covariates) -> np.ndarray:
    """Coefficient `[d]` of `target [N]` when codes `z [N, d]` are regressed on it, an intercept
    and `covariates [N, k]` (least squares; collinear covariates such as a full one-hot are fine)."""
    z, t = _numpy(z).astype(np.float64), _numpy(target).astype(np.float64)
    x = np.column_stack([np.ones(len(t)), t, _numpy(covariates).astype(np.float64).reshape(len(t), -1)])
    coef, *_ = np.linalg.lstsq(x, z - z.mean(0), rcond=None)
    return coef[1]


def _unit(v: np.ndarray, what: str) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n == 0:
        raise ConfigError(f"{what} is zero: the attribute does not separate the codes")
    return v / n


def candidate_directions(z, targets: dict, readings: dict, family: dict,
                         methods=CANDIDATES, progress=None, should_stop=None) -> dict[str, dict]:
    """{target: {method: unit direction [d]}} for boolean `targets` {name: [N]}, their float
    `readings` {name: [N]} (regression uses them) and `family` {name: label it is about}."""
    unknown = [m for m in methods if m not in CANDIDATES]
    if unknown:
        raise ConfigError(f"unknown direction candidates {unknown}: expected some of {CANDIDATES}")
    z = _numpy(z).astype(np.float64)
    md = {k: _unit(z[y].mean(0) - z[~y].mean(0), f"{k} mean difference") for k, y in targets.items()}
    out = {}
    for i, (name, y) in enumerate(targets.items()):
        tick(progress, should_stop, i / len(targets), f"fitting directions: {name}")
        others = [k for k in targets if family[k] != family[name]]
        c = {"mean_difference": md[name]}
        if "logistic" in methods:
            c["logistic"] = classifier_direction(z, y, "logistic").vector
        if "conditional" in methods:
            c["conditional"] = conditional_direction(md[name], [md[k] for k in others])
        if "regression" in methods:
            cov = np.column_stack([readings[k] for k in readings if family[k] != family[name]] or
                                  [np.zeros(len(z))])
            c["regression"] = _unit(regression_direction(z, readings[name], cov), f"{name} regression")
        out[name] = {m: c[m] for m in methods}
    return out


def measured_directions(effects, reader_names: list[str], z, targets, family: dict,
                        rcond: float = 1e-2) -> dict[str, np.ndarray]:
    """{target: unit [d]} from per-dimension `effects [d, R]` (change of each reader per step of
    one std of that dimension, reader order `reader_names`) and the codes `z [N, d]`.

    In whitened coordinates u (v = Σ^½ u, Σ the codes' covariance) the effect of a move is
    A u with A = effectsᵀ diag(1/std) Σ^½; the minimum-norm u with A_target u = 1 and
    A_other u = 0 is pinv(A) e (singular values below rcond · the largest are dropped).
    Targets without a reader get none."""
    z = _numpy(z).astype(np.float64)
    cov = np.cov(z, rowvar=False)
    w, q = np.linalg.eigh(cov)
    root = (q * np.sqrt(np.clip(w, 0, None))) @ q.T
    std = np.sqrt(np.clip(np.diag(cov), 1e-24, None))
    a = (np.asarray(effects, dtype=np.float64) / std[:, None]).T @ root  # [R, d]
    out = {}
    for name in targets:
        if name not in reader_names:
            continue
        rows = [i for i, r in enumerate(reader_names) if r == name or family.get(r, r) != family[name]]
        b = np.array([1.0 if reader_names[i] == name else 0.0 for i in rows])
        u = np.linalg.pinv(a[rows], rcond=rcond) @ b
        if np.linalg.norm(u) > 0:
            out[name] = _unit(root @ u, f"{name} measured direction")
    return out


def measure_direction(model, z, direction, scale: float, readers: Readers, name: str,
                      family: dict) -> dict:
    """Edit codes `z [n, d]` along `direction [d]` (steps of `scale`), read every attribute:
    {"slope": target's change per step (nan if it has no trusted reader), "leaks": {other: slope}
    for readers of other families, "leakage": max |leak| (nan if none), "worst": its name}."""
    read = slopes(model, z, direction, scale, readers)
    leaks = {k: s for k, s in read.items() if family.get(k, k) != family[name]}
    worst = max(leaks, key=lambda k: abs(leaks[k]), default=None)
    return {"slope": read.get(name, float("nan")), "leaks": leaks,
            "leakage": abs(leaks[worst]) if worst else float("nan"), "worst": worst}


def choose(measured: dict[str, dict], preferred: str = "mean_difference") -> str:
    """The candidate with the least leakage per unit of slope among those whose slope is at least
    MIN_SLOPE_SHARE of the best; `preferred` when the target or the leaks cannot be read."""
    slope = {m: r["slope"] for m, r in measured.items()}
    if not all(np.isfinite(s) for s in slope.values()) or max(slope.values()) <= 0:
        return preferred
    if not any(np.isfinite(r["leakage"]) for r in measured.values()):
        return max(slope, key=slope.get)
    floor = MIN_SLOPE_SHARE * max(slope.values())
    ok = [m for m in measured if slope[m] >= floor]
    return min(ok, key=lambda m: measured[m]["leakage"] / slope[m])


def _sample(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint seeded samples of k indices from range(n): one to select, one to report."""
    perm = np.random.default_rng(seed).permutation(n)
    return perm[:k], perm[k:2 * k]


def select_directions(model, z, candidates: dict, readers: Readers, family: dict,
                      n_samples: int = 32, seed: int = 0, progress=None, should_stop=None) -> dict:
    """Measure every candidate on one sample of codes, choose per target, re-measure the choices
    on a disjoint sample. Returns {target: {"method", "vector", "scale", "slope", "leakage",
    "worst", "leaks", "candidates": {method: {"slope", "leakage"}}}}."""
    z = _numpy(z).astype(np.float64)
    pick, report = _sample(len(z), n_samples, seed)
    out = {}
    for i, (name, cands) in enumerate(candidates.items()):
        tick(progress, should_stop, i / len(candidates), f"measuring leakage: {name}")
        scales = {m: float((z @ v).std()) for m, v in cands.items()}
        measured = {m: measure_direction(model, z[pick], v, scales[m], readers, name, family)
                    for m, v in cands.items()}
        method = choose(measured)
        final = measure_direction(model, z[report], cands[method], scales[method], readers, name, family)
        out[name] = {"method": method, "vector": cands[method], "scale": scales[method], **final,
                     "candidates": {m: {"slope": r["slope"], "leakage": r["leakage"], "scale": scales[m]}
                                    for m, r in measured.items()}}
    return out


def fit_least_leaking(model, z, labels: dict, categories: dict, readers: Readers,
                      n_samples: int = 32, seed: int = 0, progress=None, should_stop=None) -> tuple[dict, dict]:
    """Candidates on codes `z [N, d]` with their `labels`, then selection measured with
    `readers`. Returns (`select_directions`'s result, `candidate_directions`'s); ({}, {}) when
    the labels give no attribute target."""
    targets = edit_targets(labels, categories)
    if not targets:
        return {}, {}
    readings = reading_values(labels, categories)
    family = families(labels, list(readings))
    cands = candidate_directions(z, targets, readings, family, CANDIDATES[:-1],
                                 span(progress, 0.0, 0.1), should_stop)
    effects = measure_dims(model, z, readers, n_samples, seed, span(progress, 0.1, 0.35), should_stop)
    for name, v in measured_directions(effects, readers.names, z, targets, family).items():
        cands[name]["measured"] = v
    selected = select_directions(model, z, cands, readers, family, n_samples, seed,
                                 span(progress, 0.35, 1.0), should_stop)
    return selected, cands


# -- the fitted object and its cache -----------------------------------------------------------
VERSION = "v1"  # bump when candidates, selection or measurement change: old caches are then ignored


class EditDirections:
    """Least-leaking attribute directions of one checkpoint, as the Edit page uses them.

    Learned (all keyed by attribute target): `directions_` unit `[d]` (the default), `scale_`
    (std of the codes along it: one slider step), `method_` (which candidate won), `slope_` and
    `leakage_` (label stds per step: the target's change and the largest change of another
    attribute, measured on held-out codes), `worst_` (that attribute), `leaks_` {other: slope},
    `candidates_` {method: {"slope", "leakage", "scale"}} and `vectors_` {method: unit [d]}.
    """

    def __init__(self, selected: dict, candidates: dict, info: dict | None = None):
        self.info = info or {}
        self.directions_ = {k: np.asarray(r["vector"], dtype=np.float64) for k, r in selected.items()}
        self.scale_ = {k: float(r["scale"]) for k, r in selected.items()}
        self.method_ = {k: r["method"] for k, r in selected.items()}
        self.slope_ = {k: float(r["slope"]) for k, r in selected.items()}
        self.leakage_ = {k: float(r["leakage"]) for k, r in selected.items()}
        self.worst_ = {k: r["worst"] for k, r in selected.items()}
        self.leaks_ = {k: {o: float(s) for o, s in r["leaks"].items()} for k, r in selected.items()}
        self.candidates_ = {k: r["candidates"] for k, r in selected.items()}
        self.vectors_ = candidates

    def step(self, name: str, method: str | None = None) -> np.ndarray:
        """The code change `[d]` of one slider step (scale · unit direction) for attribute `name`;
        `method` picks a non-default candidate."""
        if name not in self.directions_:
            raise ConfigError(f"no direction named {name!r}; have {sorted(self.directions_)}")
        if method is None or method == self.method_[name]:
            return self.scale_[name] * self.directions_[name]
        if method in self.vectors_[name]:
            return self.candidates_[name][method]["scale"] * self.vectors_[name][method]
        raise ConfigError(f"unknown method {method!r} for {name!r}: have {sorted(self.vectors_[name])}")

    def measured(self, name: str, method: str | None = None) -> dict:
        """{"method", "slope", "leakage"} of the direction a slider uses (label stds per step)."""
        method = method if method in self.candidates_[name] else self.method_[name]
        found = self.candidates_[name][method]
        number = lambda v: float("nan") if v is None else float(v)  # noqa: E731 - not measured: NaN
        return {"method": method, "slope": number(found["slope"]), "leakage": number(found["leakage"])}

    def apply(self, z, name: str, strength: float, method: str | None = None):
        """z `[N, d]` or `[d]` -> z + strength · step(name, method) (same type); strength is in
        stds of the codes along the direction used."""
        import torch

        delta = strength * self.step(name, method)
        if isinstance(z, torch.Tensor):
            return z + torch.as_tensor(delta, dtype=z.dtype, device=z.device)
        return np.asarray(z) + delta.astype(np.asarray(z).dtype, copy=False)


def directions_key(model) -> str:
    return f"{model.info.hash}-directions-{VERSION}"


def find_directions(model) -> EditDirections | None:
    """Shipped or cached directions of this checkpoint, or None (then they must be fitted)."""
    key = directions_key(model)
    folder = analysis_cache.find(model, key)
    if folder is None:
        return None
    record, arrays = analysis_cache.read(folder, key)
    names, methods = record["names"], record["methods"]
    if arrays["vectors"].shape[:2] != (len(names), len(methods)):
        raise CheckpointError(f"{folder / key}.npz: vectors do not match the names in its JSON")
    nan = float("nan")
    selected = {}
    for i, name in enumerate(names):
        r = record["selected"][name]
        selected[name] = {**r, "vector": arrays["vectors"][i, methods.index(r["method"])],
                          "slope": nan if r["slope"] is None else r["slope"],
                          "leakage": nan if r["leakage"] is None else r["leakage"]}
    vectors = {name: {m: v for m, v in zip(methods, arrays["vectors"][i]) if np.isfinite(v).all()}
               for i, name in enumerate(names)}
    return EditDirections(selected, vectors, record["info"])


def load_or_fit_directions(model, progress=None, should_stop=None, write_to=None,
                           n_samples: int = 32, seed: int = 0) -> EditDirections | None:
    """The checkpoint's least-leaking directions: shipped, cached, or fitted now and cached.

    Fitting loads the dataset, encodes the test split (if not cached), trains the pixel readers
    and measures every candidate: seconds to a minute on a CPU, so callers run it off the UI
    thread with `progress(fraction, message)` and `should_stop()` (Cancelled, nothing written).
    None if the dataset has no labels to fit directions on.
    """
    from latentlab.latent.cache import encode_split
    from latentlab.zoo import dataset_of

    found = find_directions(model)
    if found is not None:
        if progress is not None:
            progress(1.0, "directions loaded")
        return found
    start = time.time()
    tick(progress, should_stop, 0.0, "loading the dataset")
    data = dataset_of(model)
    lat = encode_split(model, "test", progress=span(progress, 0.0, 0.2), should_stop=should_stop)
    tick(progress, should_stop, 0.2, "preparing the attribute readers")
    readers = dataset_readers(data)
    selected, cands = fit_least_leaking(model, lat.z, lat.labels, data.categories, readers,
                                        n_samples, seed, span(progress, 0.25, 1.0), should_stop)
    if not selected:
        return None
    info = {"checkpoint": model.info.name, "hash": model.info.hash, "version": VERSION,
            "n_samples": n_samples, "seed": seed, "split": "test", "readers": readers.kind,
            "reader_r2": readers.r2_,
            "seconds": round(time.time() - start, 1)}
    names, methods = list(selected), list(CANDIDATES)
    record = {"names": names, "methods": methods, "info": info,
              "selected": {k: {f: r[f] for f in ("method", "scale", "slope", "leakage", "worst",
                                                 "leaks", "candidates")} for k, r in selected.items()}}
    d = lat.z.shape[1]
    vectors = np.stack([[cands[k].get(m, np.full(d, np.nan)) for m in methods] for k in names])
    analysis_cache.write(write_to or analysis_cache.search_dirs(model)[1], directions_key(model),
                         record, {"vectors": vectors})
    if progress is not None:
        progress(1.0, "directions fitted")
    return EditDirections(selected, cands, info)
