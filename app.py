"""latentlab explorer: `streamlit run app.py`.

`streamlit run` finds the `st.App` below and serves this same file as the app's script. Two roles:

- Imported as a module (`__name__ == "app"`, once per server process): build the `st.App`, whose
  lifespan sets the process up and imports torch, latentlab and plotly before the server answers
  (a fresh process would otherwise spend 1.3 s of the first visitor's wait importing them).
- Run as the script (`__name__ == "__main__"`, every rerun of every session): the page list from
  latentlab.ui.pages, the sidebar's checkpoint picker, then the chosen page.
"""

import streamlit as st

if __name__ != "__main__":
    import asyncio
    from contextlib import asynccontextmanager

    def _start_process() -> None:
        from latentlab.ui import draw, resources, runtime, sidebar  # noqa: F401 - torch, latentlab, plotly
        from latentlab.ui.components import live, scatter  # noqa: F401 - the browser components

        runtime.limit_threads()
        runtime.declare_explicit_navigation()

    @asynccontextmanager
    async def _warm(_app):
        await asyncio.to_thread(_start_process)
        yield

    from latentlab.serving import middleware  # Host allow-list, WebSocket origin check, frame-ancestors
    from latentlab.ui.components import routes  # the live components' browser files and decoders

    app = st.App(__file__, lifespan=_warm, routes=routes(), middleware=middleware())

else:
    from latentlab.ui import resources, runtime, sidebar
    from latentlab.ui.pages import PAGES

    runtime.limit_threads()  # idempotent; AppTest runs this script without the lifespan
    # An emoji favicon: Streamlit draws it as an inline SVG, while a ":material/…:" favicon is
    # fetched from fonts.gstatic.com on every visit (nothing may leave the machine at run time).
    st.set_page_config(page_title="latentlab", page_icon="🧭", layout="wide")
    page = st.navigation([st.Page(p.file, title=p.title, icon=p.icon, default=i == 0)
                          for i, p in enumerate(PAGES)], expanded=True)  # all 14 pages listed, no "View more"
    st.sidebar.markdown("### Model")
    name = sidebar.model_picker()
    try:
        page.run()
    finally:
        if name is not None:  # after the page has drawn: build its dataset off the script thread
            resources.warm_dataset(name)
