"""What the words and numbers on the pages mean: one definition each, shown on the Glossary page
and as help next to the numbers (widgets.METRICS takes its help from here)."""

TERMS: dict[str, str] = {
    "code (latent)": "The few numbers an encoder squeezes an image into (the checkpoint's latent size); "
                     "the decoder draws an image back from them.",
    "test MSE": "Mean squared error per pixel between test images and their reconstructions, on the "
                "held-out test split (pixel values in [0, 1]). Lower is better.",
    "PSNR": "Peak signal-to-noise ratio of reconstructions, 10·log10(1/MSE) in dB. Higher is better; "
            "+3 dB halves the error.",
    "−ELBO": "Negative evidence lower bound in nats per image (VAEs): reconstruction cost plus the KL of "
             "the codes to the prior. An upper bound on −log p(x); lower is better.",
    "KL": "Kullback–Leibler divergence of a VAE's posterior q(z|x) from its N(0, I) prior, in nats. Per "
          "dimension it says how much information that dimension carries; ≈ 0 means unused (collapsed).",
    "active units": "Latent dimensions whose posterior mean varies across images (variance > 0.01, "
                    "Burda et al. 2016); the others are collapsed and decode to the same thing.",
    "prior": "The distribution codes are drawn from when sampling new images: N(0, I) for VAEs, the "
             "Gaussian along the principal axes for PCA. Plain autoencoders have none.",
    "β (beta)": "The weight of the KL term in a β-VAE (Higgins et al. 2017): β > 1 trades reconstruction "
                "for codes closer to the prior, hoped to be disentangled.",
    "probe accuracy": "How well a linear classifier on the codes predicts a label on held-out samples: "
                      "how readable the attribute is from the code.",
    "attribute direction": "A direction in code space that changes one attribute (e.g. mean code of smiling "
                           "faces minus mean code of the rest); a slider moves the code along it.",
    "leakage": "How much an attribute edit moves the other attributes, in label standard deviations per "
               "step, read from the edited images by regressors trained on the dataset's own pixels.",
    "slerp": "Spherical interpolation: walks the great circle between two codes instead of the straight "
             "chord, keeping the norm a Gaussian prior expects (White 2016).",
    "crossfade": "Blending two images pixel by pixel: a double exposure, the baseline a latent path should beat.",
    "PCA / UMAP / t-SNE map": "Ways to draw many-number codes in 2-D: PCA keeps the two directions of "
                              "largest spread; UMAP and t-SNE keep neighbours near each other (distances "
                              "between far-apart clusters mean little).",
    "on the data": "A decoded frame is on the data when the dataset's classifier, trained on real images "
                   "only, sees one clear digit / face / sprite (not a double exposure): both its realness and "
                   "its confidence reach levels that 99 % of real held-out images reach.",
    "disentangled code": "One whose every latent dimension moves one ground-truth factor (a sprite's x, "
                         "its scale; a face's smile) and every factor lives in one dimension; judged against "
                         "the factors a dataset was generated from (shapes, faces).",
    "MIG": "Mutual information gap (Chen et al. 2018): per factor, the information the best dimension "
           "carries about it minus the second best's, over the factor's entropy; averaged. 0-1, higher "
           "is more disentangled.",
    "DCI": "Disentanglement, completeness, informativeness (Eastwood & Williams 2018), from random forests "
           "predicting each factor from the code: D, each dimension matters for one factor; C, each factor "
           "relies on one dimension; I, how well the factors are predicted on held-out samples.",
    "SAP": "Separated attribute predictability (Kumar et al. 2018): per factor, how much better the best "
           "single dimension predicts it than the second best; averaged. Higher is more disentangled.",
    "FactorVAE score": "Accuracy of guessing which factor was held fixed in a group of images from the "
                       "dimension that varies least in that group (Kim & Mnih 2018); chance is one over "
                       "the number of factors.",
    "BetaVAE score": "Accuracy of a linear classifier guessing which factor pairs of images share, from "
                     "how much their codes differ per dimension (Higgins et al. 2017).",
    "reconstruction error": "How far an image's reconstruction is from it (MSE). Unusually large error "
                            "marks an image unlike the training data.",
    # Anomaly
    "relative error": "Reconstruction error divided by the image's own size, ||x − x̂|| / ||x|| (Zong et al. "
                      "2018): an image with little ink is not called normal just for having few pixels to miss.",
    "latent density": "How unlikely an image's code is under a Gaussian fitted to the codes of the normal "
                      "training images (its negative log density): codes far from the normal ones score high.",
    "combined score": "Relative error plus latent density, each first standardised on the normal training "
                      "images (mean 0, spread 1), so the two kinds of evidence count alike.",
    "AUROC": "Area under the ROC curve: the chance that a random anomaly scores above a random normal image. "
             "1 = every anomaly above every normal image, 0.5 = a coin toss.",
    "ROC curve": "For every threshold on the score, the share of anomalies caught (true-positive rate) "
                 "against the share of normal images wrongly flagged (false-positive rate).",
    "percentile (anomaly score)": "The share of normal test images whose score is at or below an image's: "
                                  "99 means it looks more anomalous than 99% of normal images.",
    # Restore
    "SSIM": "Structural similarity of two images (Wang et al. 2004), from 1 (identical) down: compares "
            "local brightness, contrast and structure, closer to what a person notices than PSNR.",
    "encode–decode restoration": "The corrupted image passed through the model once, decode(encode(x)): the "
                                 "decoder can only draw images like its training data (the denoising-AE view).",
    "latent optimisation": "Searching the code whose decoding best matches the pixels that are still "
                           "visible (with a small pull towards 0), starting from the encoder's guess: "
                           "hidden pixels do not mislead it (Bora et al. 2017; Yeh et al. 2017).",
    # Generate
    "conditional Gaussian": "A Gaussian fitted to the codes of the training images with the requested labels; "
                            "its samples, decoded by the unchanged decoder, are new images of that kind "
                            "(after Engel et al. 2018).",
    "temperature": "Scales how far samples stray from the centre of their Gaussian: below 1 more typical, "
                   "above 1 more varied (and more often broken).",
    "code density": "A Gaussian mixture fitted to the training codes (Ghosh et al. 2020): samples land where "
                    "the decoder has seen codes, also for models whose prior samples are poor or absent.",
    "agreement rate": "The share of generated images that the data classifier, trained on real images only, "
                      "reads as the requested label.",
    # Features
    "few-label probe": "A simple classifier trained on a few labelled images' codes and tested on every test "
                       "image: how much the unsupervised code helps when labels are scarce.",
    "logistic probe": "Logistic regression on standardised features: the linear probe of representation learning.",
    "kNN probe": "Each test image takes the majority label of its 5 nearest labelled images (fewer when there "
                 "are fewer labels per class).",
    "label spreading": "Labels flow along a graph of each image's 10 nearest neighbours among all training "
                       "images, labelled or not (Zhou et al. 2004): clustered codes spread labels well.",
}
