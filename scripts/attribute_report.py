"""Attribute directions on the faces zoo, measured against ground truth (printed, not asserted).

Usage: python scripts/attribute_report.py [--models faces_ae faces_vae ...] [--samples 32]
For "smile", "glasses", "eye_openness" and "skin_tone" (binarised: smiling vs not, glasses vs
none, above vs below the median), fit directions on the test latents with each method — mean
difference, logistic-regression normal (InterFaceGAN), and the logistic normal conditioned to be
orthogonal to the other three — then edit held-out codes along each and read the decoded images
with ridge regressors trained on the dataset's own pixels (not on any model). Reports probe
accuracy, cosine between methods, the target's slope (label stds per unit strength, strength in
std of the codes along the direction) and the largest leak into another attribute.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import latentlab  # noqa: E402
from latentlab.latent import AttributeDirections, attribute_report, encode_split, fit_attribute_regressors  # noqa: E402
from latentlab.latent.labels import attribute_targets  # noqa: E402
from latentlab.zoo import dataset_of  # noqa: E402

ATTRS = ("smile", "glasses", "eye_openness", "skin_tone")


def binary_labels(labels: dict, categories: dict) -> dict[str, np.ndarray]:
    """The app's own targets (latentlab.latent.labels) for the four attributes reported here."""
    targets = attribute_targets(labels, categories)
    return {"smile": targets["smiling"], "glasses": targets["glasses"],
            "eye_openness": targets["eye_openness"], "skin_tone": targets["skin_tone"]}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", nargs="*", default=["faces_ae", "faces_vae", "faces_bvae4", "faces_pca"])
    p.add_argument("--samples", type=int, default=32)
    a = p.parse_args()
    torch.set_num_threads(1)
    first = latentlab.load(a.models[0])
    data = dataset_of(first)
    n = min(6000, len(data.x_train))
    regressors = fit_attribute_regressors(data.x_train[:n], {k: data.labels_train[k][:n] for k in ATTRS})
    print("regressor held-out R²: " + ", ".join(f"{k} {r.r2_:.3f}" for k, r in regressors.items()))
    others = {k: [o for o in ATTRS if o != k] for k in ATTRS}
    print(f"\n{'model':<12} {'method':<16} {'attribute':<13} {'acc':>5} {'slope':>6} {'max leak':>18}  cos(md,logistic)")
    for name in a.models:
        model = latentlab.load(name)
        lat = encode_split(model, "test")
        labels = binary_labels(lat.labels, data.categories)
        for method, conditions in (("mean_difference", None), ("logistic", None), ("conditional", others)):
            dirs = AttributeDirections(method="logistic" if method == "conditional" else method,
                                       conditions=conditions).fit(lat.z, labels)
            rep = attribute_report(dirs, lat.z, model, regressors, n_samples=a.samples)
            for attr, r in rep.items():
                worst = max(r["leaks"].items(), key=lambda kv: kv[1])
                cos = r["cosines"].get("mean_difference~logistic", float("nan"))
                print(f"{name:<12} {method:<16} {attr:<13} {r['accuracy']:>5.2f} {r['slope']:>6.2f} "
                      f"{worst[0] + ' ' + format(worst[1], '.2f'):>18}  {cos:.2f}", flush=True)


if __name__ == "__main__":
    main()
