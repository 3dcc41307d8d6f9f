"""2-D maps of latent codes (PCA, UMAP, t-SNE) that can place new points, saved without pickle.

- PCA: Pearson 1901 / Hotelling 1933; scikit-learn fits, transform is (z - mean) @ componentsᵀ.
- UMAP: McInnes, Healy & Melville 2018, "UMAP: Uniform Manifold Approximation and Projection"
  (umap-learn).
- t-SNE: van der Maaten & Hinton 2008; openTSNE (Poličar, Stražar & Zupan 2019/2024), whose
  `TSNEEmbedding.transform` optimises new points against the fixed reference embedding.

Persistence: `map.json` (method and parameters) + `map.npz` (arrays; loaded with
allow_pickle=False). PCA stores its mean and components, so transform after load is exact.
t-SNE stores the training codes and embedding; load rebuilds the affinity index with
`openTSNE.affinity.PerplexityBasedNN` and re-creates the `TSNEEmbedding`, so `transform` still
works. UMAP models are not serialisable without pickle, so a loaded UMAP places new points with
the *neighbour fallback*: the inverse-squared-distance weighted mean of the embedded positions of
the k nearest training codes (Shepard interpolation; a training code maps exactly onto its own
position; new points land inside their neighbours' hull, never extrapolate). The same fallback
serves freshly fitted UMAP/t-SNE maps when `fast_transform=True`, so the app never waits on
numba compilation (UMAP's own transform compiles for tens of seconds on first use).
umap-learn and openTSNE are imported lazily: loading a PCA or UMAP map imports neither.

Shapes: codes `z [N, d]`, embedding `[N, n_components]`.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path

import numpy as np
import torch

from latentlab.atomic import atomic_dir
from latentlab.errors import ConfigError

MAP_METHODS = ("pca", "umap", "tsne")
_FORMAT = 1
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def _codes(z) -> np.ndarray:
    if isinstance(z, torch.Tensor):
        z = z.detach().cpu().numpy()
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise ConfigError(f"expected codes [N, d], got shape {z.shape}")
    return z


class LatentMap:
    """A fitted 2-D (or n_components-D) map of latent codes.

    method: "pca", "umap" or "tsne". params go to the backend (e.g. n_neighbors, min_dist for
    UMAP; perplexity for t-SNE). fast_transform: place new points with the neighbour fallback
    instead of the backend's optimiser; None (default) means yes for UMAP (its transform compiles
    for tens of seconds) and no for t-SNE (openTSNE's transform takes ~0.05 s for 20 points).
    k_transform: neighbours the fallback averages.
    Learned: `embedding_ [N, n_components]`; PCA `mean_`, `components_`; UMAP/t-SNE `train_`.
    """

    def __init__(self, method: str = "pca", n_components: int = 2, random_state: int = 0,
                 fast_transform: bool | None = None, k_transform: int = 10, **params):
        self.method = method
        self.n_components = n_components
        self.random_state = random_state
        self.fast_transform = fast_transform
        self.k_transform = k_transform
        self.params = params

    def fit(self, z) -> LatentMap:
        if self.method not in MAP_METHODS:
            raise ConfigError(f"unknown map method {self.method!r}: expected one of {MAP_METHODS}")
        z = _codes(z)
        if len(z) < 5:
            raise ConfigError(f"a map needs at least 5 codes, got {len(z)}")
        self._backend, self._index = None, None
        getattr(self, f"_fit_{self.method}")(z)
        return self

    def _fit_pca(self, z: np.ndarray) -> None:
        from sklearn.decomposition import PCA  # lazy: loading a shipped map needs only numpy

        pca = PCA(self.n_components, random_state=self.random_state, **self.params).fit(z)
        self.mean_, self.components_ = pca.mean_, pca.components_
        self.embedding_ = self.transform(z)

    def _fit_umap(self, z: np.ndarray) -> None:
        import umap  # lazy: pulls in numba, seconds to import

        params = {"n_neighbors": min(15, len(z) - 1), **self.params}
        with warnings.catch_warnings():  # a seed forces n_jobs=1, which is what we want anyway
            warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
            self._backend = umap.UMAP(n_components=self.n_components,
                                      random_state=self.random_state, **params).fit(z)
        self.train_, self.embedding_ = z, np.asarray(self._backend.embedding_, dtype=np.float64)

    def _fit_tsne(self, z: np.ndarray) -> None:
        from openTSNE import TSNE

        params = {"perplexity": min(30.0, (len(z) - 1) / 3), **self.params}
        self._backend = TSNE(n_components=self.n_components, random_state=self.random_state,
                             n_jobs=1, **params).fit(z)
        self.train_, self.embedding_ = z, np.asarray(self._backend, dtype=np.float64)

    def transform(self, z_new) -> np.ndarray:
        """Place new codes `[M, d]` on the map -> `[M, n_components]`."""
        z = _codes(z_new)
        if self.method == "pca":
            return (z - self.mean_) @ self.components_.T
        fast = self.method == "umap" if self.fast_transform is None else self.fast_transform
        if self.method == "tsne" and self._backend is None and not fast:
            # a loaded t-SNE map: rebuild openTSNE's embedding on first use, not at load time
            self._backend = _rebuild_tsne(self.train_, self.embedding_, self.random_state, self.params)
        if self._backend is None or fast:
            return self._neighbour_transform(z)
        return np.asarray(self._backend.transform(z), dtype=np.float64)

    def _neighbour_transform(self, z: np.ndarray) -> np.ndarray:
        if self._index is None:
            from sklearn.neighbors import NearestNeighbors

            self._index = NearestNeighbors().fit(self.train_)
        k = min(self.k_transform, len(self.train_))
        dist, idx = self._index.kneighbors(z, n_neighbors=k)
        w = 1.0 / np.maximum(dist, 1e-12) ** 2
        w /= w.sum(1, keepdims=True)
        return np.einsum("mk,mkc->mc", w, self.embedding_[idx])

    # -- persistence --------------------------------------------------------------------------
    def save(self, directory) -> Path:
        """Write `map.json` + `map.npz` into `directory` (created if missing); no pickle."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        meta = {"format": _FORMAT, "method": self.method, "n_components": self.n_components,
                "random_state": self.random_state, "fast_transform": self.fast_transform,
                "k_transform": self.k_transform, "params": self.params}
        arrays = {"embedding": self.embedding_}
        if self.method == "pca":
            arrays.update(mean=self.mean_, components=self.components_)
        else:
            arrays["train"] = self.train_
        np.savez(d / "map.npz", **arrays)
        (d / "map.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        return d

    @classmethod
    def load(cls, directory) -> LatentMap:
        """Inverse of `save`. A t-SNE map rebuilds its openTSNE embedding on its first
        `transform` (so loading only to draw the map costs nothing); UMAP maps use the
        neighbour fallback for `transform`."""
        d = Path(directory)
        try:
            meta = json.loads((d / "map.json").read_text())
            with np.load(d / "map.npz", allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read latent map in {d}: {e}") from e
        if meta.get("format") != _FORMAT or meta.get("method") not in MAP_METHODS:
            raise ConfigError(f"unsupported latent map in {d}: {meta.get('format')=}")
        m = cls(meta["method"], meta["n_components"], meta["random_state"],
                meta["fast_transform"], meta["k_transform"], **meta["params"])
        m.embedding_, m._backend, m._index = arrays["embedding"], None, None
        if m.method == "pca":
            m.mean_, m.components_ = arrays["mean"], arrays["components"]
        else:
            m.train_ = arrays["train"]
        return m


def _rebuild_tsne(train: np.ndarray, embedding: np.ndarray, random_state: int, params: dict):
    """A `TSNEEmbedding` over a stored embedding, with affinities recomputed from the codes."""
    from openTSNE import TSNEEmbedding
    from openTSNE.affinity import PerplexityBasedNN

    perplexity = params.get("perplexity", min(30.0, (len(train) - 1) / 3))
    affinities = PerplexityBasedNN(train, perplexity=perplexity,
                                   metric=params.get("metric", "euclidean"),
                                   n_jobs=1, random_state=random_state)
    return TSNEEmbedding(embedding, affinities, random_state=random_state)


def params_key(method: str, **params) -> str:
    """Short stable hash of a method and its parameters, for cache keys (`<ckpt>-<this>`)."""
    blob = json.dumps({"method": method, **params}, sort_keys=True, default=str)
    return f"{method}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def cached_map(cache_dir, key: str, z, method: str = "pca", **params) -> LatentMap:
    """Load the map saved under `cache_dir/key`, or fit one on `z` and save it atomically.

    key: e.g. f"{checkpoint_hash}-{params_key(method, **params)}"; letters, digits, '.', '_', '-'
    only. The map is written to a temporary folder and moved into place in one rename
    (latentlab.atomic.atomic_dir), so a reader never sees half a map; if another process got
    there first, its map is kept.
    """
    if not _KEY.match(key):
        raise ConfigError(f"bad cache key {key!r}: use letters, digits, '.', '_' and '-'")
    root = Path(cache_dir)
    final = root / key
    if (final / "map.json").exists():
        return LatentMap.load(final)
    root.mkdir(parents=True, exist_ok=True)
    fitted = LatentMap(method, **params).fit(z)
    with atomic_dir(final, exists="keep") as tmp:  # the same key means the same map
        fitted.save(tmp)
    return fitted
