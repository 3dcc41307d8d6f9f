"""latentlab: train or load autoencoders on a CPU and compute what people do with latent spaces."""

__version__ = "0.1.0"

from latentlab.errors import LatentlabError  # noqa: E402


def load(ref):
    """Load a checkpoint: a zoo name (str) or a folder (pathlib.Path). See latentlab.checkpoint."""
    from latentlab.checkpoint import load as _load

    return _load(ref)


__all__ = ["LatentlabError", "__version__", "load"]
