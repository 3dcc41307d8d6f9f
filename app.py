"""latentlab explorer: `streamlit run app.py`.

`streamlit run` finds the `st.App` below and serves this same file as the app's script. Two roles:

- Imported as a module (`__name__ == "app"`, once per server process): build the `st.App`, whose
  lifespan imports torch, latentlab and plotly before the server answers. A fresh process would
  otherwise spend 1.3 s of the first visitor's wait importing them (measured in a real browser).
- Run as the script (`__name__ == "__main__"`, every rerun of every session): list the pages
  (st.navigation, so pages/ is not auto-discovered and pages/common.py stays a module), draw the
  sidebar model picker, then run the chosen page.
"""

import streamlit as st

if __name__ != "__main__":
    import asyncio
    from contextlib import asynccontextmanager

    def _import_app_modules() -> None:
        import pages.common  # noqa: F401 - torch, numpy, latentlab
        import pages.draw  # noqa: F401 - plotly
        import pages.sidebar  # noqa: F401

    @asynccontextmanager
    async def _warm(_app):
        await asyncio.to_thread(_import_app_modules)
        yield

    app = st.App(__file__, lifespan=_warm, middleware=__import__("latentlab.serving", fromlist=["_"]).middleware())

else:
    from pages import common, sidebar

    st.set_page_config(page_title="latentlab", page_icon=":material/explore:", layout="wide")

    PAGES = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/explore.py", title="Explore", icon=":material/scatter_plot:"),
        st.Page("pages/edit.py", title="Edit", icon=":material/tune:"),
        st.Page("pages/interpolate.py", title="Interpolate", icon=":material/timeline:"),
        st.Page("pages/upload.py", title="Upload", icon=":material/upload:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    ]

    page = st.navigation(PAGES)
    st.sidebar.markdown("### Model")
    name = sidebar.model_picker()
    try:
        page.run()
    finally:
        if name is not None:  # after the page has drawn: build its dataset off the script thread
            common.warm_dataset(name)
