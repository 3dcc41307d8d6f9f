"""Glossary: what the words and numbers on the other pages mean."""

import streamlit as st

from latentlab.ui import widgets
from latentlab.ui.glossary import TERMS


def main() -> None:
    widgets.page_header("Glossary", "The words and numbers the pages use, one short definition each.")
    query = st.text_input("Find a term", key="term", bind="query-params", placeholder="e.g. KL")
    shown = {t: d for t, d in TERMS.items() if query.lower() in (t + " " + d).lower()}
    if not shown:
        st.info(f"No term mentions {query!r}.")
    for term, definition in sorted(shown.items(), key=lambda td: td[0].lower()):
        st.markdown(f"**{term}** — {definition}")


main()
