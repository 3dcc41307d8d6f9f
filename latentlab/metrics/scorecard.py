"""Every disentanglement score of one checkpoint, computed once and cached by its content hash.

`checkpoint_scores(model)` returns MIG, DCI, SAP, FactorVAE and BetaVAE scores (see
`metrics.disentanglement`), the latent × factor matrices (normalised MI, DCI importance) and the
test MSE, sampled from the factor source of the checkpoint's own dataset (shapes, or faces with
its attributes as factors). Results are JSON files named `<hash>-disentanglement-<settings>.json`,
looked up first in the checkpoint's shipped `cache/` folder, then in the user cache, where new
results are written. A computation reports `progress(fraction, stage)` and stops with `Cancelled`
when `cancel()` turns true, so a page can run it off its script thread.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentlab.atomic import atomic_file
from latentlab.errors import ConfigError, LatentlabError
from latentlab.metrics import disentanglement as dis
from latentlab.metrics.factor_map import normalised_mi

SCORES_VERSION = 1  # bump when a metric's code changes, so cached results are not reused
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ScoreSettings:
    """Sample sizes: `samples` factor rows train MIG / DCI / SAP (their test sample: half);
    `votes` FactorVAE / BetaVAE votes (eval: half) over groups of `group_size` images."""

    seed: int = 0
    samples: int = 10000
    votes: int = 2000
    group_size: int = 64
    num_bins: int = 20

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value, low = getattr(self, f.name), 0 if f.name == "seed" else 2
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"score setting {f.name} must be an int >= {low}, got {value!r}")

    def key(self) -> str:
        return (f"v{SCORES_VERSION}-s{self.seed}-n{self.samples}-v{self.votes}-g{self.group_size}"
                f"-b{self.num_bins}")

    def images(self) -> int:
        """Images rendered and encoded by one computation (what `progress` counts)."""
        votes = self.votes + self.votes // 2
        return self.samples + self.samples // 2 + self.samples + 3 * votes * self.group_size


# The bench's sizes for shapes (disentanglement_lib uses 10000 / 5000 votes); faces render about
# 15x slower than sprites and encode 4x slower, so they get fewer samples and smaller groups
# (29,100 images instead of 601,000).
DEFAULT_SETTINGS = {"shapes": ScoreSettings(), "faces": ScoreSettings(samples=3000, votes=300,
                                                                      group_size=16)}


def settings_for(dataset: str) -> ScoreSettings:
    return DEFAULT_SETTINGS.get(dataset, ScoreSettings())


class Cancelled(LatentlabError):
    """The caller's `cancel()` turned true; nothing was written."""


class _Meter:
    """Wraps an encoder: counts encoded images into progress fractions and checks `cancel`."""

    def __init__(self, encode, total: int, progress: Progress | None, cancel):
        self.encode, self.total, self.done = encode, max(total, 1), 0
        self.progress, self.cancel, self.label = progress, cancel, ""

    def stage(self, label: str) -> None:
        self.label = label
        self.check()

    def check(self) -> None:
        if self.cancel is not None and self.cancel():
            raise Cancelled("scoring cancelled")
        if self.progress is not None:
            self.progress(min(self.done / self.total, 1.0), self.label)

    def __call__(self, x):
        self.check()
        self.done += len(x)
        return self.encode(x)


def compute_scores(source, encode, settings: ScoreSettings, progress: Progress | None = None,
                   cancel: Callable[[], bool] | None = None) -> dict:
    """All scores for one encoder over a factor source (uncached). `encode(x [n, C, H, W]) ->
    [n, d]`. MIG, DCI and SAP share one encoded sample; FactorVAE's variance estimate and both
    vote metrics draw their own, all from `default_rng(settings.seed)` in a fixed order."""
    s, meter = settings, _Meter(encode, settings.images(), progress, cancel)
    rng = np.random.default_rng(s.seed)
    meter.stage("encoding factor samples (MIG, DCI, SAP)")
    train = dis.sample_codes(source, meter, s.samples, rng)
    test = dis.sample_codes(source, meter, s.samples // 2, rng)
    mig = dis.mig_from_codes(*train, num_bins=s.num_bins)
    meter.stage("fitting DCI and SAP classifiers")
    dci = dis.dci_from_codes(*train, *test, seed=s.seed)
    sap = dis.sap_from_codes(*train, *test)
    meter.stage("FactorVAE score: groups with one factor fixed")
    fv = dis.compute_factor_vae(source, meter, s.seed, num_train=s.votes, num_eval=s.votes // 2,
                                num_variance_estimate=s.samples, group_size=s.group_size)
    meter.stage("BetaVAE score: pairs sharing one factor")
    bv = dis.compute_beta_vae(source, meter, s.seed, num_train=s.votes, num_eval=s.votes // 2,
                              group_size=s.group_size)
    meter.stage("done")
    return {"mig": mig["mig"], "dci_d": dci["disentanglement"], "dci_c": dci["completeness"],
            "dci_i": dci["informativeness_test"], "sap": sap["sap"],
            "factorvae": fv["eval_accuracy"], "betavae": bv["eval_accuracy"],
            "active_dims": fv["num_active_dims"], "mig_per_factor": mig["per_factor"],
            "importance": dci["importance"],
            "mi": normalised_mi(*train, num_bins=s.num_bins).tolist(),
            "factor_names": list(source.factor_names)}


def score_file(digest: str, settings: ScoreSettings) -> str:
    """File name of a checkpoint's cached scores, from its content hash."""
    return f"{digest}-disentanglement-{settings.key()}.json"


def _dirs(folder: Path, name: str) -> list[Path]:
    """Where a checkpoint's scores may be, shipped first."""
    from latentlab.latent.cache import user_cache_root

    return [Path(folder) / "cache", user_cache_root() / name]


def lookup(folder: Path, name: str, digest: str, settings: ScoreSettings) -> dict | None:
    """Cached scores of the checkpoint in `folder` (content hash `digest`), or None."""
    for d in _dirs(folder, name):
        path = d / score_file(digest, settings)
        if path.is_file():
            return json.loads(path.read_text())
    return None


def cached_scores(model, settings: ScoreSettings | None = None) -> dict | None:
    """The scores of a loaded checkpoint if they were computed before (shipped or user cache)."""
    settings = settings or settings_for(model.info.dataset["name"])
    return lookup(model.info.path, model.info.name, model.info.hash, settings)


def checkpoint_scores(model, settings: ScoreSettings | None = None,
                      progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                      write_to: Path | None = None) -> dict:
    """Scores of a loaded checkpoint (`model.info` set by `checkpoint.load`): cached, or computed
    on its dataset's factor source and written to `write_to` (default: the user cache)."""
    settings = settings or settings_for(model.info.dataset["name"])
    found = cached_scores(model, settings)
    if found is not None:
        return found
    from latentlab.zoo import dataset_of

    data = dataset_of(model)
    if data.factors is None:
        raise ConfigError(f"{model.info.name}: dataset {data.name!r} has no ground-truth factors "
                          "to score disentanglement against")
    started = time.perf_counter()
    result = compute_scores(data.factors, model.encode, settings, progress, cancel)
    result.update(name=model.info.name, label=model.label, hash=model.info.hash,
                  dataset=data.name, settings=dataclasses.asdict(settings),
                  test_mse=float(model.evaluate(data.x_test)["mse"]),
                  seconds=round(time.perf_counter() - started, 1))
    result = _finite(result)
    folder = write_to or _dirs(model.info.path, model.info.name)[1]
    path = Path(folder) / score_file(model.info.hash, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(_finite(result), allow_nan=False))
    return result


def _finite(value):
    """JSON-safe copy: NaN (a factor constant in the sample) becomes null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def score_task(name: str, progress: Progress | None = None) -> None:
    """Background-task entry (latentlab.ui.tasks): score zoo checkpoint `name` into the user
    cache. A path (str with a separator) scores the checkpoint folder there."""
    import latentlab

    ref = Path(name) if "/" in name else name
    checkpoint_scores(latentlab.load(ref), progress=progress)
