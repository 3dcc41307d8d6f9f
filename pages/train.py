"""Train: a new model on built-in data or your own images, as a background job.

Jobs run in processes of their own (latentlab.jobs), one at a time from a queue, so closing the
tab or restarting the server does not stop them; this page only submits, polls and draws.
"""

import pandas as pd
import streamlit as st

from latentlab import LatentlabError, jobs
from latentlab.checkpoint import zoo_names
from latentlab.ui import state, widgets

DATA_KINDS = ("Built-in dataset", "My images", "Server folder")
SIZES = (16, 28, 32, 64)
ACTIVE = ("queued", "running")


def data_choice() -> tuple[str, list, dict]:
    """(request data, uploaded (name, bytes) items, image options)."""
    kind = st.radio("Data", DATA_KINDS, horizontal=True, key="train_kind")
    if kind == DATA_KINDS[0]:
        return st.selectbox("Dataset", jobs.datasets(), key="train_dataset"), [], {}
    c1, c2 = st.columns(2)
    size = c1.selectbox("Train at (pixels a side)", SIZES, index=3, key="train_size",
                        help="Each image is centre-cropped to a square and resized to this size.")
    grey = c2.radio("Colour", ("RGB", "greyscale"), horizontal=True, key="train_colour")
    options = {"size": size, "channels": 1 if grey == "greyscale" else 3}
    if kind == DATA_KINDS[2]:
        folders = jobs.operator_folders()
        if not folders:
            st.info("The operator has not listed any server folders for training.")
            return "folder:", [], options
        return "folder:" + st.selectbox("Folder", sorted(folders), key="train_folder"), [], options
    files = st.file_uploader("Images, or one zip of images (at least 20)", type=[*state.UPLOAD_TYPES, "zip"],
                             accept_multiple_files=True, key="train_files")
    return "upload", [(f.name, f.getvalue()) for f in files or []], options


def family_args(family: str, data: str) -> dict:
    """One widget per constructor argument the registry reports; defaults from the zoo's config."""
    base = jobs.defaults(data if data in jobs.datasets() else "upload", family)["args"]
    args, arguments = {}, jobs.families()[family]
    cols = st.columns(3)
    for i, arg in enumerate(arguments):
        default, key, box = base.get(arg.name, arg.default), f"train_arg_{family}_{arg.name}", cols[i % 3]
        if arg.choices:
            args[arg.name] = box.selectbox(arg.name, arg.choices, index=list(arg.choices).index(default), key=key)
        elif arg.kind is bool:
            args[arg.name] = box.checkbox(arg.name, value=bool(default), key=key)
        elif arg.kind is int:
            args[arg.name] = int(box.number_input(arg.name, value=int(default), step=1, key=key))
        elif arg.kind is float:
            args[arg.name] = float(box.number_input(arg.name, value=float(default), format="%g", key=key))
        else:
            args[arg.name] = box.text_input(arg.name, value=str(default), key=key)
    return args


def new_job() -> None:
    data, _, _ = data_choice()
    families = list(jobs.families())
    family = st.selectbox("Family", families, index=families.index("vae") if "vae" in families else 0,
                          key="train_family")
    family_args(family, data)
    base = jobs.defaults(data if data in jobs.datasets() else "upload", family)
    c1, c2, c3 = st.columns(3)
    c1.number_input("Latent size", 1, 512, int(base["latent_dim"]), key="train_latent")
    unit = c2.radio("Budget in", ("epochs", "minutes"), horizontal=True, key="train_unit")
    c3.number_input(unit.capitalize(), 1, 1000, int(base["epochs"]) if unit == "epochs" else 5, key="train_amount")
    st.text_input("Name of the new checkpoint", key="train_name", placeholder="e.g. my_faces_vae")
    st.button("Start training", icon=":material/play_arrow:", key="train_submit", type="primary", on_click=_submit)
    _outcome("train_submit")


def form_request(s) -> tuple[jobs.Request, list, dict]:
    """(request, uploaded (name, bytes) items, image options) from the form's widget values `s`
    (session_state). Callbacks read the widgets here rather than take args bound when the button
    was drawn: a name typed and clicked away from at once reaches the server with the click, after
    that binding, so bound args would submit the form as it was before the typing."""
    kind, items, options = s["train_kind"], [], {}
    data = s.get("train_dataset")
    if kind != DATA_KINDS[0]:
        options = {"size": s["train_size"], "channels": 1 if s["train_colour"] == "greyscale" else 3}
        data = "folder:" + (s.get("train_folder") or "") if kind == DATA_KINDS[2] else "upload"
        items = [(f.name, f.getvalue()) for f in s.get("train_files") or []] if data == "upload" else []
    family = s["train_family"]
    args = {}
    for arg in jobs.families()[family]:
        value = s[f"train_arg_{family}_{arg.name}"]
        args[arg.name] = arg.kind(value) if arg.kind in (bool, int, float) and not arg.choices else value
    amount = s["train_amount"]
    budget = {"epochs": int(amount)} if s["train_unit"] == "epochs" else {"minutes": float(amount)}
    request = jobs.Request(s["train_name"].strip(), data, family, int(s["train_latent"]), args=args, **budget)
    return request, items, options


def _submit() -> None:
    """Button callback: submit the form as it is now, and keep what happened for the rerun to show."""
    request, items, options = form_request(st.session_state)
    try:
        job_id = jobs.submit(request, items, **options)
    except LatentlabError as exc:
        st.session_state["train_submit_outcome"] = ("error", str(exc))
    else:
        st.session_state["train_watch"] = job_id
        st.session_state["train_submit_outcome"] = ("success", f"Queued {request.name}: {jobs.get(job_id).data}")


def _outcome(key: str) -> None:
    kind, text = st.session_state.pop(f"{key}_outcome", (None, ""))
    if kind == "error":
        st.error(text, icon=":material/block:")
    elif kind == "success":
        st.success(text, icon=":material/schedule:")


def continue_form() -> None:
    names = zoo_names()  # the shipped zoo and the user's own checkpoints
    c1, c2, c3 = st.columns([2, 1, 2])
    source = c1.selectbox("Checkpoint", names, key="train_cont_src")
    c2.number_input("More epochs", 1, 1000, 5, key="train_cont_epochs")
    c3.text_input("New name", key="train_cont_name", placeholder=f"{source}_more")
    st.button("Continue training", icon=":material/fast_forward:", key="train_continue", on_click=_continue)
    _outcome("train_continue")


def _continue() -> None:
    """Button callback; reads the widgets now, for the reason given in form_request."""
    s = st.session_state
    source, epochs = s["train_cont_src"], int(s["train_cont_epochs"])
    name = s["train_cont_name"].strip() or f"{source}_more"
    try:
        job_id = jobs.continue_training(source, epochs, name)
    except LatentlabError as exc:
        st.session_state["train_continue_outcome"] = ("error", str(exc))
    else:
        st.session_state["train_watch"] = job_id
        st.session_state["train_continue_outcome"] = ("success", f"Queued {epochs} more epochs as {name}.")


def job_table(views) -> None:
    rows = [{"job": v.id, "name": v.name, "state": v.state + (f" (#{v.position + 1} in queue)" if v.position is not None else ""),
             "epoch": f"{v.epoch}/{v.epochs}", "time left": _left(v), "data": v.data, "note": v.message}
            for v in views]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _left(v) -> str:
    if v.state != "running" or v.seconds_left is None:
        return "–"
    m, s = divmod(int(v.seconds_left), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def _act(action, job_id: str) -> None:
    """Button callback: cancel or resume; a job that moved on meanwhile is a toast, not a traceback."""
    try:
        action(job_id)
    except LatentlabError as exc:
        st.toast(str(exc), icon=":material/info:")


def job_detail(v) -> None:
    """The watched job: progress, time left, Cancel / Resume, live curves and grid."""
    st.subheader(f"{v.name} · {v.state}")
    if v.state == "running" and v.total:
        st.progress(min(1.0, v.step / v.total), text=f"step {v.step}/{v.total} · epoch {v.epoch}/{v.epochs} "
                                                      f"· time left {_left(v)}")
    if v.message:
        st.caption(v.message)
    c1, c2, _ = st.columns([1, 1, 4])
    if v.state in ACTIVE:
        c1.button("Cancel", icon=":material/stop:", key=f"train_cancel_{v.id}", on_click=_act, args=(jobs.cancel, v.id))
    if v.resumable:
        c2.button("Resume", icon=":material/replay:", key=f"train_resume_{v.id}", on_click=_act, args=(jobs.resume, v.id))
    curves = jobs.curves(v.id)
    if curves:
        df = pd.DataFrame(curves).set_index("epoch")
        c1, c2, c3 = st.columns([2, 2, 1.4])
        c1.markdown("**Train loss terms** (nats per image)")
        c1.line_chart(df[[c for c in df.columns if c.startswith("train_")]])
        c2.markdown("**Test loss terms** (nats per image)")
        c2.line_chart(df[[c for c in ("bce", "neg_elbo", "kl") if c in df.columns]])
        c3.markdown("**Test MSE** (per pixel)")
        c3.line_chart(df[["mse"]])
    grid = jobs.grid(v.id)
    if grid:
        widgets.show(grid, "test images (top) and their reconstructions after the latest epoch")


@st.fragment(run_every=2.0)
def jobs_panel() -> None:
    views = jobs.list_jobs()
    if not views:
        st.info("No jobs yet.")
        return
    job_table(views)
    watched = st.session_state.get("train_watch")
    running = next((v for v in views if v.state == "running"), None)
    ids = [v.id for v in views]
    default = watched if watched in ids else (running.id if running else ids[0])
    pick = st.selectbox("Show job", ids, index=ids.index(default), key="train_show",
                        format_func=lambda i: f"{i} · {jobs.get(i).name}")
    job_detail(next(v for v in views if v.id == pick))


def main() -> None:
    widgets.page_header("Train", "A new model on built-in data or your own images. Jobs run one at a time in "
                        "the background and keep running if you close this tab.")
    with st.expander("New model", expanded=True, icon=":material/add:"):
        new_job()
    with st.expander("Continue a checkpoint", icon=":material/fast_forward:"):
        continue_form()
    st.markdown("### Jobs")
    jobs_panel()


main()
