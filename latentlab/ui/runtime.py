"""Once-per-process set-up of the Streamlit server (called from app.py)."""

from __future__ import annotations


def limit_threads() -> None:
    """One BLAS/OpenMP and one torch thread: the app's problems are small and the CPU is shared, so
    extra threads only contend (fitting the 22 face-attribute directions took 12 s with 2 BLAS
    threads and 0.5 s with one). Exported images are decoded with one thread, as `replay` does."""
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    torch.set_num_threads(1)


def declare_explicit_navigation() -> bool:
    """Tell Streamlit that app.py lists its pages with st.navigation; True if it had guessed otherwise.

    Streamlit (1.67) decides once per process, when the first session starts, that an app with a
    `pages/` folder beside its script is a v1 multipage app, and until some session has called
    st.navigation it serves a request for /edit by running pages/edit.py alone, without app.py's
    sidebar. st.navigation clears that private flag itself (streamlit/commands/navigation.py); we
    clear it one step earlier: at server start (app.py's lifespan) and, where no lifespan ran
    (AppTest), when a page finds it ran alone (then it reruns through app.py). Remove this when
    Streamlit stops guessing.
    """
    from streamlit.runtime.pages_manager import PagesManager

    guessed = bool(PagesManager.uses_pages_directory)
    PagesManager.uses_pages_directory = False
    return guessed


def run_through_app() -> None:
    """Called first by every page (via page_header and current_model): if this session has never
    run app.py and the page ran alone (see declare_explicit_navigation), rerun through app.py."""
    import streamlit as st

    if "model_name" not in st.session_state and declare_explicit_navigation():
        st.rerun()
