"""Supervised disentanglement metrics over a discrete factor grid.

Each metric is a pure function over arrays (`mig_from_codes(codes, factors)`, testable on hand-made
codes) plus a sampling function `compute_*(source, encode, seed, ...)` that draws factor rows with
`np.random.default_rng(seed)`, renders them, encodes them and calls the pure function, in the
style of google-research/disentanglement_lib. Default sample sizes are those of its study configs
(Locatello et al. 2019, "Challenging Common Assumptions in the Unsupervised Learning of
Disentangled Representations"); callers may shrink them for interactive use.

Shapes: codes `[N, d]` float, factors `[N, K]` integer indices. `encode(x [n, C, H, W]) -> [n, d]`.
Factors that never vary in a sample carry no information and are left out of every mean.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.stats
import torch
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from latentlab.datasets.base import FactorSource
from latentlab.errors import ConfigError

Encoder = Callable[[torch.Tensor], torch.Tensor]


# -- sampling -------------------------------------------------------------------------------------
def encode_factor_rows(source: FactorSource, encode: Encoder, factors: np.ndarray,
                       batch_size: int = 256) -> np.ndarray:
    """Render factor rows `[n, K]` and encode them in batches -> float64 codes `[n, d]`."""
    _check_ints(1, batch_size=batch_size)
    out = []
    with torch.inference_mode():
        for start in range(0, len(factors), batch_size):
            z = encode(source.render(factors[start:start + batch_size]))
            out.append(torch.as_tensor(z).detach().cpu().double().numpy())
    codes = np.concatenate(out) if out else np.zeros((0, 0))
    if codes.ndim != 2 or len(codes) != len(factors):
        raise ConfigError(f"encode must return [n, d] codes, got shape {list(codes.shape)}")
    if not np.isfinite(codes).all():
        raise ConfigError("encode returned codes with NaN or infinity")
    return codes


def sample_codes(source: FactorSource, encode: Encoder, num: int, rng: np.random.Generator,
                 batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """`num` uniform factor rows and their codes -> (codes `[num, d]`, factors `[num, K]`)."""
    factors = np.asarray(source.sample_factors(num, rng), dtype=np.int64)
    return encode_factor_rows(source, encode, factors, batch_size), factors


def _varying_source_factors(source: FactorSource) -> np.ndarray:
    """Factors a fixed-factor group may hold fixed: those with more than one value."""
    ids = np.flatnonzero(np.asarray(source.factor_sizes) > 1)
    if len(ids) < 2:
        raise ConfigError("fixed-factor metrics need at least two factors with more than one value")
    return ids


def _check_ints(minimum: int, **values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")


def _varying(factors: np.ndarray) -> np.ndarray:
    """Mask `[K]` of factors taking more than one value in the sample."""
    return np.array([len(np.unique(factors[:, k])) > 1 for k in range(factors.shape[1])])


def _check_pair(codes: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, factors = np.asarray(codes, dtype=np.float64), np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or len(codes) != len(factors):
        raise ConfigError(f"need codes [N, d] and factors [N, K], got {list(codes.shape)} and "
                          f"{list(factors.shape)}")
    if not np.isfinite(codes).all():
        raise ConfigError("codes contain NaN or infinity")
    if not _varying(factors).any():
        raise ConfigError("every factor is constant in the sample: nothing to measure")
    return codes, factors


def _top_two_gap(scores: np.ndarray) -> np.ndarray:
    """Gap between the best and second-best code per factor, `[d, K]` -> `[K]` (0 pads d = 1)."""
    ordered = np.sort(np.vstack([scores, np.zeros((1, scores.shape[1]))]), axis=0)
    return ordered[-1] - ordered[-2]


def _floats(values) -> list[float]:
    return [float(v) for v in values]


# -- MIG ------------------------------------------------------------------------------------------
def histogram_discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Each code column into `num_bins` equal-width bins over its range -> int `[N, d]`."""
    out = np.empty(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram_bin_edges(codes[:, j], bins=num_bins)
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def mutual_info_matrix(codes: np.ndarray, factors: np.ndarray,
                       num_bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """(I(z_j; v_k) in nats `[d, K]` with codes histogram-discretised into `num_bins` bins,
    factor entropies H(v_k) `[K]`). codes `[N, d]`, factors `[N, K]`."""
    codes, factors = _check_pair(codes, factors)
    _check_ints(2, num_bins=num_bins)
    binned = histogram_discretize(codes, num_bins)
    mi = np.array([[mutual_info_score(factors[:, k], binned[:, j]) for k in range(factors.shape[1])]
                   for j in range(codes.shape[1])])
    return mi, np.array([mutual_info_score(f, f) for f in factors.T])


def mig_from_codes(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> dict:
    """Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs").

    Per factor k: (I(z_best; v_k) - I(z_second; v_k)) / H(v_k) with codes histogram-discretised
    into `num_bins` bins (disentanglement_lib's `discrete_mig`); "mig" is the mean over factors.
    codes `[N, d]`, factors `[N, K]`. "best_code" names the most informative code per factor.
    """
    mi, entropy = mutual_info_matrix(codes, factors, num_bins)
    varying = entropy > 0
    per_factor = np.full(factors.shape[1], np.nan)
    per_factor[varying] = _top_two_gap(mi)[varying] / entropy[varying]
    return {"mig": float(np.mean(per_factor[varying])), "per_factor": _floats(per_factor),
            "best_code": [int(j) for j in mi.argmax(axis=0)]}


def compute_mig(source: FactorSource, encode: Encoder, seed: int, num_train: int = 10000,
                num_bins: int = 20, batch_size: int = 256) -> dict:
    """MIG on `num_train` uniform samples of the factor grid (see `mig_from_codes`)."""
    _check_ints(2, num_train=num_train)
    codes, factors = sample_codes(source, encode, num_train, np.random.default_rng(seed), batch_size)
    return mig_from_codes(codes, factors, num_bins)


# -- DCI ------------------------------------------------------------------------------------------
DCI_MODELS = ("rf", "gbt", "lasso")


def _dci_classifier(model: str, seed: int):
    """One classifier with per-code importances. "gbt" is disentanglement_lib's exact choice."""
    if model == "rf":
        # Bagged trees that see every code at each split (so importance is not spread onto codes
        # the feature subsampling forced on them), leaves of >= 0.5% of the sample (bounded trees:
        # cost linear in N, and pure-noise codes are not memorised).
        return RandomForestClassifier(n_estimators=20, max_features=None, min_samples_leaf=0.005,
                                      random_state=seed, n_jobs=1)
    if model == "gbt":
        return GradientBoostingClassifier(random_state=seed)
    if model == "lasso":
        return make_pipeline(StandardScaler(), LogisticRegression(
            l1_ratio=1.0, C=0.1, solver="saga", tol=1e-3, max_iter=500, random_state=seed))
    raise ConfigError(f"unknown DCI model {model!r}: expected one of {', '.join(DCI_MODELS)}")


def _importances(clf) -> np.ndarray:
    if hasattr(clf, "feature_importances_"):
        return np.abs(clf.feature_importances_)
    return np.abs(clf[-1].coef_).sum(axis=0)


def importance_matrix(codes_train, factors_train, codes_test, factors_test, model: str = "rf",
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-factor classifiers on all codes -> (importance `[d, K]`, train acc `[K]`, test acc `[K]`).

    Constant factors get a zero importance column and NaN accuracies.
    """
    codes_train, factors_train = _check_pair(codes_train, factors_train)
    codes_test, factors_test = _check_pair(codes_test, factors_test)
    num_factors = factors_train.shape[1]
    importance = np.zeros((codes_train.shape[1], num_factors))
    acc_train, acc_test = np.full(num_factors, np.nan), np.full(num_factors, np.nan)
    for k in np.flatnonzero(_varying(factors_train)):
        clf = _dci_classifier(model, seed).fit(codes_train, factors_train[:, k])
        importance[:, k] = _importances(clf)
        acc_train[k] = np.mean(clf.predict(codes_train) == factors_train[:, k])
        acc_test[k] = np.mean(clf.predict(codes_test) == factors_test[:, k])
    return importance, acc_train, acc_test


def dci_from_importance(importance: np.ndarray) -> tuple[float, float]:
    """(disentanglement, completeness) of an importance matrix `[d, K]` (Eastwood & Williams 2018).

    Disentanglement: 1 - entropy (base K) of each code's importance over factors, weighted by the
    code's share of total importance. Completeness: 1 - entropy (base d) of each factor's
    importance over codes, weighted by the factor's share. An all-zero matrix scores 0.
    """
    r = np.asarray(importance, dtype=np.float64)
    weights = r if r.sum() > 0 else np.ones_like(r)
    per_code = 1.0 - scipy.stats.entropy(r.T + 1e-11, base=max(r.shape[1], 2))
    per_factor = 1.0 - scipy.stats.entropy(r + 1e-11, base=max(r.shape[0], 2))
    disentanglement = np.sum(per_code * weights.sum(axis=1) / weights.sum())
    completeness = np.sum(per_factor * weights.sum(axis=0) / weights.sum())
    return float(disentanglement), float(completeness)


def dci_from_codes(codes_train, factors_train, codes_test, factors_test, model: str = "rf",
                   seed: int = 0) -> dict:
    """DCI (Eastwood & Williams 2018, "A Framework for the Quantitative Evaluation of Disentangled
    Representations") from codes `[N, d]` and factors `[N, K]`.

    Importances come from one classifier per factor, as in disentanglement_lib's `compute_dci`,
    which uses 100-stage gradient boosting (`model="gbt"`). On a dSprites-like 5-factor sample
    of 5000/2500 codes, "gbt" took 176 s per representation on one core; the default "rf", a
    random forest (the original paper's nonlinear choice), took 3 s and ranked perfect / mixed /
    noise codes alike (D 0.86 / 0.20 / 0.00 vs gbt's 0.76 / 0.17 / 0.00). "lasso", an L1
    logistic regression (the paper's linear choice), sees only linear relations and gives
    noise codes D ~0.2 (sparse fits concentrate importance by chance). Informativeness is the
    mean classification accuracy over factors.
    """
    importance, acc_train, acc_test = importance_matrix(
        codes_train, factors_train, codes_test, factors_test, model, seed)
    disentanglement, completeness = dci_from_importance(importance)
    return {"disentanglement": disentanglement, "completeness": completeness,
            "informativeness_train": float(np.nanmean(acc_train)),
            "informativeness_test": float(np.nanmean(acc_test)),
            "importance": [_floats(row) for row in importance]}


def compute_dci(source: FactorSource, encode: Encoder, seed: int, num_train: int = 10000,
                num_test: int = 5000, model: str = "rf", batch_size: int = 256) -> dict:
    """DCI on `num_train` / `num_test` uniform samples (see `dci_from_codes`)."""
    _check_ints(2, num_train=num_train, num_test=num_test)
    _dci_classifier(model, seed)  # fail on a bad name before any encoding
    rng = np.random.default_rng(seed)
    train = sample_codes(source, encode, num_train, rng, batch_size)
    test = sample_codes(source, encode, num_test, rng, batch_size)
    return dci_from_codes(*train, *test, model=model, seed=seed)


# -- SAP ------------------------------------------------------------------------------------------
SAP_CLASSIFIERS = ("threshold", "svm")


def _sap_entry(code_train, y_train, code_test, y_test, classifier: str) -> float:
    """Test accuracy of predicting one discrete factor from one code `[N]`."""
    if classifier == "svm":  # disentanglement_lib's choice
        clf = LinearSVC(C=0.01, class_weight="balanced")
    else:  # thresholds on the code: separates every value of a monotone code, any scale
        clf = DecisionTreeClassifier(min_samples_leaf=0.005, random_state=0)
    clf.fit(code_train[:, None], y_train)
    return float(np.mean(clf.predict(code_test[:, None]) == y_test))


def _sap_continuous(code: np.ndarray, y: np.ndarray) -> float:
    """Squared correlation (R² of a 1-D linear fit); 0 for a constant code."""
    c = np.cov(code, y)
    return float(c[0, 1] ** 2 / (c[0, 0] * c[1, 1])) if c[0, 0] > 1e-12 else 0.0


def sap_score_matrix(codes_train, factors_train, codes_test, factors_test,
                     classifier: str = "threshold", continuous: bool = False) -> np.ndarray:
    """Predictability of each factor from each single code -> `[d, K]` (NaN for constant factors).

    Discrete: test accuracy of a 1-D classifier on the code. "threshold" (default): a decision
    tree, i.e. thresholds on the code, independent of the code's scale. "svm":
    disentanglement_lib's LinearSVC(C=0.01, balanced), for comparison with published numbers;
    its strong regularisation and one-vs-rest lines make it scale dependent (a perfect code in
    [0, 1] scores ~0.2) and unable to isolate middle values of a factor.
    Continuous: R² of a 1-D linear fit on the training codes.
    """
    if classifier not in SAP_CLASSIFIERS:
        raise ConfigError(f"unknown SAP classifier {classifier!r}: expected threshold or svm")
    codes_train, factors_train = _check_pair(codes_train, factors_train)
    codes_test, factors_test = _check_pair(codes_test, factors_test)
    scores = np.full((codes_train.shape[1], factors_train.shape[1]), np.nan)
    for k in np.flatnonzero(_varying(factors_train)):
        for j in range(codes_train.shape[1]):
            if continuous:
                scores[j, k] = _sap_continuous(codes_train[:, j], factors_train[:, k])
            else:
                scores[j, k] = _sap_entry(codes_train[:, j], factors_train[:, k],
                                          codes_test[:, j], factors_test[:, k], classifier)
    return scores


def sap_from_codes(codes_train, factors_train, codes_test, factors_test,
                   classifier: str = "threshold", continuous: bool = False) -> dict:
    """SAP score (Kumar et al. 2018, "Variational Inference of Disentangled Latent Concepts from
    Unlabeled Observations", Sec. 3): per factor, the gap between the two codes that predict it
    best (`sap_score_matrix`); "sap" is the mean over factors. Codes `[N, d]`, factors `[N, K]`.
    """
    scores = sap_score_matrix(codes_train, factors_train, codes_test, factors_test,
                              classifier, continuous)
    varying = ~np.isnan(scores[0])
    per_factor = np.full(scores.shape[1], np.nan)
    per_factor[varying] = _top_two_gap(scores[:, varying])
    return {"sap": float(np.mean(per_factor[varying])), "per_factor": _floats(per_factor)}


def compute_sap(source: FactorSource, encode: Encoder, seed: int, num_train: int = 10000,
                num_test: int = 5000, classifier: str = "threshold", continuous: bool = False,
                batch_size: int = 256) -> dict:
    """SAP on `num_train` / `num_test` uniform samples (see `sap_from_codes`)."""
    _check_ints(2, num_train=num_train, num_test=num_test)
    rng = np.random.default_rng(seed)
    train = sample_codes(source, encode, num_train, rng, batch_size)
    test = sample_codes(source, encode, num_test, rng, batch_size)
    return sap_from_codes(*train, *test, classifier=classifier, continuous=continuous)


# -- FactorVAE score ------------------------------------------------------------------------------
def prune_dims(variances: np.ndarray, threshold: float = 0.05) -> np.ndarray:
    """Mask `[d]` of active codes: global std >= threshold (disentanglement_lib's `prune_dims`,
    0.05 in its study configs); collapsed VAE codes sit at the prior with std ~ 0."""
    return np.sqrt(np.asarray(variances)) >= threshold


def factor_vae_votes(group_codes: np.ndarray, fixed: np.ndarray, global_variances: np.ndarray,
                     num_factors: int, threshold: float = 0.05) -> np.ndarray:
    """Votes `[K, d]`: for each group `[G, d]` of codes whose factor `fixed[v]` was held fixed,
    one vote for (fixed factor, active code of least variance after dividing by its global
    variance). group_codes `[V, G, d]`, fixed `[V]`, global_variances `[d]`."""
    active = np.flatnonzero(prune_dims(global_variances, threshold))
    votes = np.zeros((num_factors, group_codes.shape[2]), dtype=np.int64)
    if len(active) == 0:
        return votes
    local = np.var(group_codes[:, :, active], axis=1, ddof=1) / global_variances[active]
    np.add.at(votes, (fixed, active[local.argmin(axis=1)]), 1)
    return votes


def factor_vae_from_votes(train_votes: np.ndarray, eval_votes: np.ndarray) -> dict:
    """FactorVAE score (Kim & Mnih 2018, "Disentangling by Factorising"): a majority-vote
    classifier maps each code to the factor that most often chose it (from `train_votes`
    `[K, d]`); accuracy of that map on train and eval votes. No votes -> 0."""
    code_to_factor = train_votes.argmax(axis=0)
    cols = np.arange(train_votes.shape[1])

    def accuracy(votes):
        return float(votes[code_to_factor, cols].sum() / votes.sum()) if votes.sum() else 0.0

    return {"train_accuracy": accuracy(train_votes), "eval_accuracy": accuracy(eval_votes),
            "code_to_factor": [int(k) for k in code_to_factor]}


def _sampled_votes(source, encode, rng, num_votes, group_size, global_variances, threshold,
                   batch_size) -> np.ndarray:
    """Votes `[K, d]` from `num_votes` groups, each with one factor fixed at a random value."""
    votes = np.zeros((len(source.factor_sizes), len(global_variances)), dtype=np.int64)
    varying = _varying_source_factors(source)
    per_chunk = max(1, 16384 // group_size)  # bounds the rendered images held at once
    for start in range(0, num_votes, per_chunk):
        n = min(per_chunk, num_votes - start)
        fixed = rng.choice(varying, size=n)
        rows = np.asarray(source.sample_factors(n * group_size, rng), dtype=np.int64)
        rows = rows.reshape(n, group_size, -1)
        rows[np.arange(n), :, fixed] = rows[np.arange(n), 0, fixed][:, None]
        codes = encode_factor_rows(source, encode, rows.reshape(n * group_size, -1), batch_size)
        votes += factor_vae_votes(codes.reshape(n, group_size, -1), fixed, global_variances,
                                  len(source.factor_sizes), threshold)
    return votes


def compute_factor_vae(source: FactorSource, encode: Encoder, seed: int, num_train: int = 10000,
                       num_eval: int = 5000, num_variance_estimate: int = 10000,
                       group_size: int = 64, prune_threshold: float = 0.05,
                       batch_size: int = 256) -> dict:
    """FactorVAE score with `num_train` / `num_eval` votes over groups of `group_size` images.

    Codes are normalised by their std over `num_variance_estimate` samples; codes with std below
    `prune_threshold` are ignored ("num_active_dims" reports how many remain).
    """
    _check_ints(2, num_train=num_train, num_eval=num_eval, group_size=group_size,
                num_variance_estimate=num_variance_estimate)
    _varying_source_factors(source)  # fail before encoding the variance sample
    rng = np.random.default_rng(seed)
    codes, _ = sample_codes(source, encode, num_variance_estimate, rng, batch_size)
    variances = np.var(codes, axis=0, ddof=1)
    args = (group_size, variances, prune_threshold, batch_size)
    train_votes = _sampled_votes(source, encode, rng, num_train, *args)
    eval_votes = _sampled_votes(source, encode, rng, num_eval, *args)
    scores = factor_vae_from_votes(train_votes, eval_votes)
    return {**scores, "num_active_dims": int(prune_dims(variances, prune_threshold).sum())}


# -- BetaVAE score --------------------------------------------------------------------------------
def beta_vae_features(codes_a: np.ndarray, codes_b: np.ndarray) -> np.ndarray:
    """Mean absolute code difference over each group of pairs: `[V, G, d]` x2 -> `[V, d]`."""
    return np.mean(np.abs(codes_a - codes_b), axis=1)


def beta_vae_from_features(x_train, y_train, x_eval, y_eval, seed: int = 0) -> dict:
    """BetaVAE score (Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a
    Constrained Variational Framework"): accuracy of a logistic regression predicting which
    factor was fixed from the pair features `[V, d]` (disentanglement_lib's sklearn variant, plus
    feature standardisation so that the score and lbfgs' convergence do not depend on the
    codes' scale)."""
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    clf.fit(x_train, y_train)
    return {"train_accuracy": float(clf.score(x_train, y_train)),
            "eval_accuracy": float(clf.score(x_eval, y_eval))}


def _sampled_features(source, encode, rng, num_points, group_size, batch_size):
    """`num_points` BetaVAE features `[V, d]` and the factor each pair group shared `[V]`."""
    feats, labels = [], []
    varying = _varying_source_factors(source)
    per_chunk = max(1, 8192 // group_size)  # bounds the rendered images held at once
    for start in range(0, num_points, per_chunk):
        n = min(per_chunk, num_points - start)
        fixed = rng.choice(varying, size=n)
        rows_a, rows_b = (np.asarray(source.sample_factors(n * group_size, rng), dtype=np.int64)
                          .reshape(n, group_size, -1) for _ in range(2))
        groups = np.arange(n)
        rows_b[groups, :, fixed] = rows_a[groups, :, fixed]
        a, b = (encode_factor_rows(source, encode, r.reshape(n * group_size, -1), batch_size)
                .reshape(n, group_size, -1) for r in (rows_a, rows_b))
        feats.append(beta_vae_features(a, b))
        labels.append(fixed)
    return np.concatenate(feats), np.concatenate(labels)


def compute_beta_vae(source: FactorSource, encode: Encoder, seed: int, num_train: int = 10000,
                     num_eval: int = 5000, group_size: int = 64, batch_size: int = 256) -> dict:
    """BetaVAE score on `num_train` / `num_eval` points, each from `group_size` image pairs
    whose two images share the value of one factor (the same factor for the whole group)."""
    _check_ints(2, num_train=num_train, num_eval=num_eval, group_size=group_size)
    rng = np.random.default_rng(seed)
    train = _sampled_features(source, encode, rng, num_train, group_size, batch_size)
    evaluation = _sampled_features(source, encode, rng, num_eval, group_size, batch_size)
    return beta_vae_from_features(*train, *evaluation, seed=seed)
