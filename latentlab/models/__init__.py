"""The autoencoder family: variants are constructor parameters, not copied files."""

from latentlab.models.autoencoder import VAE, Autoencoder, corrupt
from latentlab.models.base import Batch, LatentModel, ModelOutput
from latentlab.models.pca import PCA
from latentlab.models.registry import FAMILIES, build_model

__all__ = ["FAMILIES", "PCA", "VAE", "Autoencoder", "Batch", "LatentModel", "ModelOutput",
           "build_model", "corrupt"]
