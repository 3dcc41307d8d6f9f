"""The autoencoder family: variants are constructor parameters, not copied files."""

from latentlab.models.adversarial import VAEGAN, AdversarialAE
from latentlab.models.autoencoder import VAE, Autoencoder, corrupt
from latentlab.models.base import Batch, LatentModel, ModelOutput
from latentlab.models.disentangling import AnnealedVAE, BetaTCVAE, FactorVAE
from latentlab.models.glo import GLO
from latentlab.models.pca import PCA
from latentlab.models.registry import FAMILIES, build_model

__all__ = ["FAMILIES", "GLO", "PCA", "VAE", "VAEGAN", "AdversarialAE", "AnnealedVAE", "Autoencoder", "Batch",
           "BetaTCVAE", "FactorVAE", "LatentModel", "ModelOutput", "build_model", "corrupt"]
