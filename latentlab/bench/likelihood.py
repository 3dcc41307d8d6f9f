"""Section 5: importance-weighted test NLL of the mnist VAEs (Burda et al. 2016).

`latentlab.metrics.likelihood.vae_nll` with k posterior samples per test image; the k = 1 column
is the ELBO. Also the one-sample negative ELBO the zoo recorded at training time.
"""

from __future__ import annotations

from latentlab.bench.core import Context, Section, missing
from latentlab.bench.report import md_table
from latentlab.metrics.likelihood import vae_nll
from latentlab.zoo import dataset_of

TITLE = "5. Test log-likelihood: importance-weighted bound"
MODELS = ["mnist_vae", "mnist_bvae4"]
PUBLISHED = ("Published full-MNIST numbers are not comparable: Burda et al. 2016 report "
             "−log p(x) ≈ 86.8 nats (VAE, k = 5000 evaluation) and ≈ 85.3 (IWAE, k = 50 training) on "
             "dynamically *binarised* MNIST (60,000 training images, 1 or 2 stochastic layers, "
             "GPU-trained for 3,280 epochs); Kingma & Welling 2014 report a comparable scale. Ours: "
             "4,000 grey-valued training digits, Bernoulli cross-entropy on grey pixels (not a "
             "normalised density over grey images), 30 CPU epochs.")


def run(ctx: Context) -> Section:
    s = ctx.settings
    ks = tuple(j for j in s.iwae_ks if j <= s.iwae_k)
    rows, data = [], {}
    found, absent = ctx.models(MODELS)
    for name, model in found:
        x = dataset_of(model).x_test
        res = vae_nll(model, x, k=s.iwae_k, seed=s.seed, ks=ks)
        ctx.memo[(name, s.iwae_k)] = res
        recorded = model.info.test_metrics.get("neg_elbo")
        data[name] = {**res, "recorded_neg_elbo": recorded}
        rows.append([name, recorded, f"{res['neg_elbo']:.2f} ± {res['neg_elbo_se']:.2f}",
                     *(res["by_k"][j] for j in ks),
                     f"{res['iw_nll']:.2f} ± {res['iw_nll_se']:.2f}",
                     res["neg_elbo"] - res["iw_nll"]])
    headers = (["model", "−ELBO (zoo, 1 sample)", f"−ELBO (mean of {s.iwae_k} samples)"]
               + [f"−L_{j}" for j in ks] + [f"IW-NLL (k={s.iwae_k}) ± s.e.", "ELBO gap"])
    body = (f"Nats per test image, mean over all {len(x) if rows else 0} mnist test digits, "
            f"seed {s.seed}. −L_k = −log (1/k) Σ w_i is the importance-weighted bound from the first "
            "k of the same samples: in expectation it falls as k grows (Burda et al. 2016, Thm. 1; for "
            "one set of samples it need not), and −L_1 is the (one-sample) "
            "negative ELBO. The gap ELBO − IW-NLL is how much the Gaussian posterior costs.\n\n"
            + md_table(headers, rows, digits=2) + missing(absent) + "\n" + PUBLISHED + "\n")
    return Section("likelihood", TITLE, body, {"models": data})
