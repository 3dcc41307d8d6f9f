"""Section 1: a β sweep on shapes scored by five disentanglement metrics, with traversal grids.

Models: the plain AE, the VAE (β = 1), β-VAEs with β = 4 and 8 (Higgins et al. 2017) and PCA, all
d = 10 on 32×32 sprites. Metrics come from `latentlab.metrics.disentanglement` (MIG, Chen et al.
2018; DCI, Eastwood & Williams 2018; SAP, Kumar et al. 2018; FactorVAE score, Kim & Mnih 2018;
BetaVAE score, Higgins et al. 2017), sampled from the renderer the models were trained on.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.bench.core import Context, Section, missing
from latentlab.bench.report import md_table
from latentlab.latent.traverse import rank_dims, traversal_grid
from latentlab.metrics import disentanglement as dis
from latentlab.zoo import dataset_of

MODELS = ["shapes_ae", "shapes_vae", "shapes_bvae4", "shapes_bvae8", "shapes_pca"]
# The traversal's base sprite: an ellipse at the largest scale, unrotated, in the centre.
BASE_FACTORS = [1, 5, 0, 16, 16]
METRICS = ["mig", "dci_d", "dci_c", "dci_i", "sap", "factorvae", "betavae"]
HEADERS = ["model", "MIG", "DCI dis.", "DCI compl.", "DCI inform.", "SAP", "FactorVAE",
           "BetaVAE", "active dims", "test MSE"]


def scores(model, source, ctx: Context) -> dict:
    """All five metrics for one model: a flat dict of floats plus the DCI importance matrix.

    MIG, DCI and SAP share one encoded train/test sample (their compute_* functions would each
    draw and encode the same seeded rows again)."""
    s, enc = ctx.settings, model.encode
    n, half, votes = s.metric_samples, s.metric_samples // 2, s.vote_samples
    rng = np.random.default_rng(s.seed)
    train = dis.sample_codes(source, enc, n, rng)
    test = dis.sample_codes(source, enc, half, rng)
    mig = dis.mig_from_codes(*train)
    dci = dis.dci_from_codes(*train, *test, seed=s.seed)
    sap = dis.sap_from_codes(*train, *test)
    fv = dis.compute_factor_vae(source, enc, s.seed, num_train=votes, num_eval=votes // 2,
                                num_variance_estimate=n, group_size=s.group_size)
    bv = dis.compute_beta_vae(source, enc, s.seed, num_train=votes, num_eval=votes // 2,
                              group_size=s.group_size)
    return {"mig": mig["mig"], "dci_d": dci["disentanglement"], "dci_c": dci["completeness"],
            "dci_i": dci["informativeness_test"], "sap": sap["sap"],
            "factorvae": fv["eval_accuracy"], "betavae": bv["eval_accuracy"],
            "active_dims": fv["num_active_dims"], "importance": dci["importance"],
            "mig_per_factor": mig["per_factor"]}


def traversal_png(model, source, x: torch.Tensor, ctx: Context, name: str) -> tuple[str, dict]:
    """Render the traversal of the base sprite (rows = dims by KL/variance) -> (link, row info)."""
    base = source.render(np.array([BASE_FACTORS]))[0]
    with torch.inference_mode():
        z = model.encode(x)
    dims, score, score_name = rank_dims(model, x, z)
    trav = traversal_grid(model, base, dims=dims, steps=ctx.settings.traversal_steps, z_data=z)
    link = ctx.save_grid(trav.images.flatten(0, 1), ctx.settings.traversal_steps,
                         f"traversal_{name}.png")
    return link, {"dims": [int(d) for d in dims], "score": [float(score[d]) for d in dims],
                  "score_name": score_name}


def row_factor_table(rows: dict, importance: list, factor_names: list[str]) -> str:
    """Per traversal row: the latent dim, its KL/variance and the factor DCI says it encodes."""
    imp = np.asarray(importance)
    out = []
    for i, (d, sc) in enumerate(zip(rows["dims"], rows["score"])):
        share = imp[d] / imp[d].sum() if imp[d].sum() > 0 else np.zeros(len(factor_names))
        k = int(share.argmax())
        out.append([str(i + 1), f"z{d}", sc, factor_names[k], float(share[k]), float(imp[d].sum())])
    headers = ["row", "dim", rows["score_name"], "factor (DCI)", "share of dim's importance",
               "dim's total importance"]
    return md_table(headers, out)


def ranking_table(results: dict) -> str:
    """Rank of each model under each metric (1 = best) and the mean rank."""
    names = list(results)
    ranks = {m: _ranks([results[n][m] for n in names]) for m in METRICS}
    rows = []
    for i, n in enumerate(names):
        r = [ranks[m][i] for m in METRICS]
        rows.append([n] + [str(v) for v in r] + [float(np.mean(r))])
    headers = ["model", "MIG", "DCI-D", "DCI-C", "DCI-I", "SAP", "FactorVAE", "BetaVAE", "mean rank"]
    return md_table(headers, sorted(rows, key=lambda row: row[-1]), digits=1)


def _ranks(values: list[float]) -> list[int]:
    order = np.argsort(-np.asarray(values), kind="stable")
    ranks = np.empty(len(values), dtype=int)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks.tolist()


def run(ctx: Context) -> Section:
    results, rows_info, links, body = {}, {}, {}, []
    found, absent = ctx.models(MODELS)
    for name, model in found:
        data = dataset_of(model)
        source, x = data.factors, data.x_test[:2000]
        results[name] = scores(model, source, ctx)
        results[name]["test_mse"] = model.evaluate(data.x_test)["mse"]
        links[name], rows_info[name] = traversal_png(model, source, x, ctx, name)
        factor_names = source.factor_names
    if not results:
        return Section("disentanglement", TITLE, "No shapes checkpoint found." + missing(absent))
    body.append(_intro(ctx))
    table = [[n, *(r[m] for m in METRICS), str(r["active_dims"]), r["test_mse"]]
             for n, r in results.items()]
    body.append(md_table(HEADERS, table, digits=3))
    body.append("\nRank per metric (1 = most disentangled):\n\n" + ranking_table(results))
    body.append(missing(absent))
    body.append(_traversal_section(results, rows_info, links, factor_names))
    data = {"metrics": results, "traversal_rows": rows_info, "images": links}
    return Section("disentanglement", TITLE, "\n".join(body), data)


TITLE = "1. Disentanglement: β sweep on shapes"


def _intro(ctx: Context) -> str:
    s = ctx.settings
    return (f"32×32 sprites, 5 factors (shape, scale, orientation, x, y), d = 10 for every model. "
            f"MIG, DCI (random-forest importances) and SAP (threshold classifier) on "
            f"{s.metric_samples} / {s.metric_samples // 2} train/test factor samples; FactorVAE and "
            f"BetaVAE scores on {s.vote_samples} / {s.vote_samples // 2} votes of groups of "
            f"{s.group_size} (disentanglement_lib uses 10000 / 5000: ours are smaller to fit a CPU "
            f"budget). Scores are eval accuracies / test informativeness; seed {s.seed}, one seed "
            "per model and one factor sample (no sampling error is estimated, so treat small "
            "differences with care).\n")


def _traversal_section(results, rows_info, links, factor_names) -> str:
    parts = ["\n### Traversals\n",
             "Each grid sweeps one latent dimension per row (VAEs: N(0, 1) quantiles 5%–95%, rows "
             "sorted by KL; AE and PCA: the 5th–95th percentile of that dim's codes, rows sorted by "
             "code variance) from the same ellipse in the centre. The table under each grid says "
             "which factor the DCI classifier finds in that dimension.\n"]
    for name in results:
        parts.append(f"**{name}**\n\n![traversal {name}]({links[name]})\n")
        parts.append(row_factor_table(rows_info[name], results[name]["importance"], factor_names))
    return "\n".join(parts)
