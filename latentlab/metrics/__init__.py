"""Evaluation: disentanglement (public sampling functions over pure array functions), anomaly
scores, few-label probes and restoration."""

from latentlab.metrics.anomaly import (
    auroc,
    latent_density_scores,
    one_class_protocol,
    percentile_of,
    pixel_error_map,
    reconstruction_scores,
    roc_curve,
    standardise,
)
from latentlab.metrics.disentanglement import (
    compute_beta_vae,
    compute_dci,
    compute_factor_vae,
    compute_mig,
    compute_sap,
    dci_from_codes,
    mig_from_codes,
    sap_from_codes,
)
from latentlab.metrics.one_class import AnomalyScorer, Normal, most_anomalous, score_image
from latentlab.metrics.probes import learning_curve, probe_accuracy, probe_target
from latentlab.metrics.restoration import (
    add_gaussian_noise,
    mask_region,
    psnr,
    restore_by_latent_optimisation,
    restore_by_reconstruction,
)

__all__ = [
    "AnomalyScorer", "Normal", "add_gaussian_noise", "auroc", "compute_beta_vae", "compute_dci", "compute_factor_vae",
    "compute_mig", "compute_sap", "dci_from_codes", "latent_density_scores", "learning_curve",
    "mask_region", "mig_from_codes", "most_anomalous", "one_class_protocol", "percentile_of",
    "pixel_error_map", "probe_accuracy", "probe_target", "psnr", "reconstruction_scores", "roc_curve",
    "score_image", "standardise", "restore_by_latent_optimisation", "restore_by_reconstruction",
    "sap_from_codes",
]
