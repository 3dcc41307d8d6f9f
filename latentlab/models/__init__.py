"""The autoencoder family: variants are constructor parameters, not copied files."""

from latentlab.models.autoencoder import VAE, Autoencoder, corrupt
from latentlab.models.base import Batch, LatentModel, ModelOutput
from latentlab.models.disentangling import AnnealedVAE, BetaTCVAE, FactorVAE
from latentlab.models.pca import PCA
from latentlab.models.registry import FAMILIES, build_model

__all__ = ["FAMILIES", "PCA", "VAE", "AnnealedVAE", "Autoencoder", "Batch", "BetaTCVAE", "FactorVAE",
           "LatentModel", "ModelOutput", "build_model", "corrupt"]
