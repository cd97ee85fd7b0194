"""zoohub's browser. `zoohub app` runs this file with `streamlit run`; every page reads through `hub`.

    streamlit run app/main.py      # or: zoohub app --port 8501
"""
from pathlib import Path

import streamlit as st

import hub

VIEWS = Path(__file__).parent / "views"

st.set_page_config(page_title="zoohub", page_icon=":material/pets:", layout="wide")

PAGES = [
    st.Page(VIEWS / "zoo.py", title="Zoo", icon=":material/grid_view:", url_path="zoo", default=True),
    st.Page(VIEWS / "model.py", title="Model", icon=":material/description:", url_path="model"),
    st.Page(VIEWS / "compare.py", title="Compare", icon=":material/compare:", url_path="compare"),
    st.Page(VIEWS / "try_it.py", title="Try it", icon=":material/play_arrow:", url_path="try"),
    st.Page(VIEWS / "promote.py", title="Promote", icon=":material/rocket_launch:", url_path="promote"),
]

try:
    st.navigation(PAGES).run()
except hub.errors.HubError as exc:  # a registry that cannot be read, a damaged store: one line, not a traceback
    st.error(str(exc), icon=":material/error:")
