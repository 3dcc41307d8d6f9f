"""The Streamlit app's shared parts. Pages live in pages/ (one file each, listed in `pages.py`);
what they share lives here, so a new page is one file plus one line in the page list.

- pages.py      the one page list (navigation, Home's text and the tests read it)
- runtime.py    once-per-process set-up of the server
- resources.py  cached loaders (checkpoints, latents, maps, directions, datasets) and inference
- state.py      samples (SampleRef) in the session and the URL; handing a sample to another page
- widgets.py    the sample picker, image rows, metric labels, downloads, page header
- draw.py       figures (plotly) and error maps, no Streamlit
- sidebar.py    the checkpoint picker and its card

Nothing in latentlab's core imports this package.
"""
