"""Generate: new images from a frozen decoder. For requested labels, a Gaussian per condition in
code space (after Engel et al. 2018); unconditionally, the model's own prior or a Gaussian mixture
fitted to the training codes (Ghosh et al. 2020). A classifier trained on real images checks that
a requested digit is what comes out."""

import numpy as np
import streamlit as st

from latentlab import LatentlabError, analyses, render
from latentlab.latent.cache import find_cached_latents
from latentlab.latent.conditional import ConditionalGaussian, agreement, decode_codes, prior_codes
from latentlab.latent.labels import label_names, label_text
from latentlab.sample import SampleRef
from latentlab.ui import resources as res
from latentlab.ui import state, tasks, widgets
from latentlab.ui.glossary import TERMS

ANY = "any"
MAX_VALUES = 12  # labels with more distinct values (continuous ones) are not offered as conditions
COLUMNS = 8
COMPONENTS = (1, 5, 10, 20)


@st.cache_resource(show_spinner=False)
def classifier(dataset: str):
    """(the dataset's classifier, "") or (None, why not)."""
    from latentlab.metrics.classifier import load_classifier

    try:
        return load_classifier(dataset), ""
    except LatentlabError as exc:
        return None, str(exc)


def pick_condition(labels: dict, categories: dict) -> dict:
    """One selectbox per label ('any' or a value); {label: value} of those not 'any'."""
    names = [n for n in label_names(labels) if len(np.unique(labels[n])) <= MAX_VALUES]
    binary = [n for n in names if set(np.unique(labels[n]).tolist()) <= {0, 1}]
    first = binary[0] if binary else names[0]
    condition, cols = {}, st.columns(4)
    for k, name in enumerate(names):
        values = np.unique(labels[name])
        texts = label_text(name, values, categories)
        default = (len(texts) if name in binary else 1) if name == first else 0  # binary: "1"/"yes"
        choice = cols[k % 4].selectbox(name, [ANY, *texts], index=default, key=f"gen_{name}", bind="query-params")
        if choice != ANY:
            condition[name] = values[texts.index(choice)].item()
    return condition


def controls() -> tuple[int, float, int]:
    c1, c2, c3 = st.columns(3)
    n = c1.select_slider("Samples", [8, 16, 32, 64], value=32, key="gen_n", bind="query-params")
    t = c2.slider("Temperature", 0.0, 1.5, 1.0, 0.1, key="gen_t", bind="query-params", help=TERMS["temperature"])
    seed = c3.number_input("Seed", 0, 10_000, 0, key="gen_seed", bind="query-params")
    return int(n), float(t), int(seed)


def grid(images, caption: str, stem: str) -> bytes:
    png = render.png(images, ncol=min(COLUMNS, len(images)), px=widgets.TILE)
    widgets.show(png, caption)
    st.download_button("PNG", png, file_name=f"{stem}.png", mime="image/png", icon=":material/download:",
                       on_click="ignore", key=f"gen_{stem.rsplit('-', 1)[-1]}_png")
    return png


def send_to_edit(codes: np.ndarray, key: str) -> None:
    """Hand one sample's code to Edit."""
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    k = int(c1.number_input(f"Sample (0–{len(codes) - 1}, row by row)", 0, len(codes) - 1, 0, key=f"{key}_pick"))
    if c2.button(f"Edit sample {k}", icon=":material/tune:", key=f"{key}_edit"):
        state.send("edit", sample=SampleRef.of_code(codes[k]))


def agreement_text(model, images, condition: dict, sampler, seed: int, categories: dict) -> None:
    """How often the data classifier reads each requested label off the generated images, and
    (`conditional.agreement`) off fresh samples of every value of the first such label."""
    clf, why = classifier(model.info.dataset["name"])
    if clf is None:
        st.caption(f"No data classifier ships for {model.info.dataset['name']}, so agreement with the request is "
                   "not measured.", help=why)
        return
    read = clf.predict(images)
    judged = {k: v for k, v in condition.items() if k in clf.labels}
    if not judged:
        st.caption(f"The classifier reads {', '.join(clf.labels)}, none of the requested labels.")
        return
    rates = {k: float(np.mean(read[k].astype(float) == float(v))) for k, v in judged.items()}
    cols = st.columns(len(rates) + 2)
    for col, (k, rate) in zip(cols, rates.items()):
        col.metric(f"agreement: {k}", f"{rate:.1%}", help=TERMS["agreement rate"])
    held_out = ", ".join(f"{clf.info['test_accuracy'][k]:.1%}" for k in judged if k in clf.info.get("test_accuracy", {}))
    st.caption(f"Share of these {len(images)} images that the data classifier (trained on real images only"
               + (f"; {held_out} accurate on held-out real images" if held_out else "") + ") reads as requested.")
    every_value(clf, model, sampler, next(iter(judged)), len(images), seed, categories)


def every_value(clf, model, sampler, label: str, n: int, seed: int, categories: dict) -> None:
    values = [v for v in np.unique(sampler.labels_[label]).tolist() if sampler.matches({label: v}).sum() >= sampler.min_matches]
    with st.expander(f"Agreement for every {label}"):
        found = agreement(lambda x: clf.predict(x)[label], model, sampler, label, values, n, seed)
        st.dataframe([{label: label_text(label, [v], categories)[0], "agreement": f"{r:.0%}"}
                      for v, r in found["per_value"].items()],
                     hide_index=True)
        st.caption(f"Mean over the {len(values)} values: **{found['mean']:.1%}**, {n} fresh samples per value at "
                   f"temperature {sampler.temperature:g} (seed {seed} + the value's position).")


def conditional(model, lat, categories, n: int, t: float, seed: int) -> None:
    st.subheader("Samples for a request")
    condition = pick_condition(lat.labels, categories) if label_names(lat.labels) else {}
    if not condition:
        st.info("Pick a value for at least one label." if label_names(lat.labels) else
                "This dataset has no labels: only unconditional samples below.")
        return
    try:
        sampler = ConditionalGaussian(temperature=t).fit(lat.z, lat.labels)
        codes = sampler.sample(condition, n, seed)
    except LatentlabError as exc:
        st.warning(str(exc))
        return
    images = decode_codes(model, codes)
    request = ", ".join(f"{k} = {label_text(k, [v], categories)[0]}" for k, v in condition.items())
    st.caption(f"{TERMS['conditional Gaussian']} Fitted on the {int(sampler.matches(condition).sum())} training "
               f"codes with {request}.")
    grid(images, f"{request}: {n} samples, temperature {t:g}", f"{model.info.name}-generate-cond")
    agreement_text(model, images, condition, sampler, seed, categories)
    send_to_edit(codes, "gen_c")


def from_prior(model, n: int, seed: int) -> None:
    st.markdown("**The model's prior**")
    if not model.has_prior:
        st.info(f"{model.info.name} ({model.label}) has no prior to sample from: its codes fill a region of "
                "code space that only the data shows. Sample the code density instead →")
        return
    grid(prior_codes(model, n, seed), f"{n} samples of the {model.prior} prior", f"{model.info.name}-generate-prior")


def from_density(model, n: int, t: float, seed: int) -> None:
    st.markdown("**A Gaussian mixture fitted to the training codes**")
    k = int(st.select_slider("Mixture components", COMPONENTS, value=10, key="gen_k", bind="query-params"))
    density = tasks.result(lambda: analyses.read_code_density(model, k, t, seed),
                           f"density-{analyses.density_key(model, k)}", "latentlab.analyses:fit_code_density",
                           {"ref": model.info.name, "n_components": k},
                           f"Fitting a {k}-component mixture to {model.info.name}'s training codes")
    if density is None:
        return
    codes = density.sample(n, seed)
    grid(decode_codes(model, codes), f"{n} samples, {k} components, temperature {t:g}",
         f"{model.info.name}-generate-density")
    st.caption(TERMS["code density"])
    send_to_edit(codes, "gen_d")


def training_codes(model):
    """The training split's codes and labels (encoded once, in the background; for a model whose
    encoder is an optimisation only when asked, as it takes minutes)."""
    if model.slow_encode and tasks.result(
            lambda: find_cached_latents(model, "train"), f"encode-{model.info.hash}-train",
            "latentlab.latent.precompute:encode", {"name": model.info.name, "split": "train"},
            f"Encode the training split of {model.info.name}",
            ask=f"The samples come from {model.info.name}'s codes of the training images, which it encodes by "
                f"optimisation ({model.label}): minutes on a CPU, once.") is None:
        st.stop()
    return res.latents(model, "train")


def main() -> None:
    model = res.current_model()
    widgets.page_header("Generate", "New images from the model's decoder, left unchanged: ask for labels, "
                        "or sample its prior or a density fitted to its codes.")
    lat = training_codes(model)
    n, t, seed = controls()
    conditional(model, lat, res.dataset(model).categories, n, t, seed)
    st.subheader("Unconditional samples")
    left, right = st.columns(2)
    with left:
        from_prior(model, n, seed)
    with right:
        from_density(model, n, t, seed)


main()
