"""latentlab explorer: `streamlit run app.py`.

The entry point runs on every page: it lists the pages (st.navigation, so pages/ is not
auto-discovered and pages/common.py stays a module), draws the sidebar model picker, then runs
the chosen page.
"""

import streamlit as st

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
