"""Which model a page shows: the `model` query parameter of the URL, or a choice the user makes."""
from __future__ import annotations

import streamlit as st

import hub


def model_from_url(purpose: str, tasks: tuple[str, ...] | None = None, in_registry: bool = False) -> str | None:
    """The model reference in ?model=..., else a select box of the zoo's models (written back to the URL)."""
    wanted = st.query_params.get("model", "").strip()
    if wanted:
        return wanted
    names = [m.name for m in hub.list()
             if (tasks is None or m.task in tasks) and (m.in_registry or not in_registry)]
    if not names:
        st.info("The registry holds no model for this page yet: publish one with `zoohub publish`, or import one "
                "from the zoo page.")
        return None
    choice = st.selectbox(f"Model for the {purpose}", names, index=None, placeholder="choose a model",
                          key=f"pick_{purpose}")
    if choice:
        st.query_params["model"] = choice
    return choice


def show_lookup_error(ref: str, exc: Exception) -> None:
    """A clear message for a reference the hub cannot resolve, with the way back to the zoo."""
    st.error(f"Cannot show {ref!r}: {exc}")
    st.page_link("views/zoo.py", label="Back to the zoo", icon=":material/arrow_back:")


def is_catalog_only(name: str) -> bool:
    """True for a catalog model that has not been imported into the registry yet."""
    return any(m.name == name and not m.in_registry for m in hub.list())
