"""Family name -> class. Checkpoints name their family here; nothing else is ever constructed
from a file, so a config cannot make the loader build an arbitrary object."""

from __future__ import annotations

from latentlab.codec.model import Codec  # Ballé et al. 2017 learned codec (issue 13)
from latentlab.errors import ConfigError
from latentlab.limits import check_model_size
from latentlab.models.adversarial import VAEGAN, AdversarialAE
from latentlab.models.autoencoder import VAE, Autoencoder
from latentlab.models.base import LatentModel
from latentlab.models.glo import GLO
from latentlab.models.pca import PCA

FAMILIES: dict[str, type[LatentModel]] = {"ae": Autoencoder, "vae": VAE, "pca": PCA, "codec": Codec,
                                        "glo": GLO, "aae": AdversarialAE, "vaegan": VAEGAN}


def build_model(family: str, **args) -> LatentModel:
    """Construct a model from its family name and constructor arguments (JSON values)."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
    try:
        check_model_size(FAMILIES[family], args)  # on the meta device first: nothing allocated
        return FAMILIES[family](**args)
    except TypeError as exc:  # unexpected or missing keyword
        raise ConfigError(f"bad arguments for family {family!r}: {exc}") from None
