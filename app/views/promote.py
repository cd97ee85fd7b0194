"""Promote: point an alias (production, staging, ...) at a version, with a reason, after an explicit confirmation."""
import streamlit as st

import hub
from app import state
from app.picking import model_from_url, show_lookup_error

NEW_ALIAS = "another alias…"
OUTCOME_KEY = "promote_outcome"


def submit(name: str) -> None:
    """The Promote button's callback: it runs before the page is drawn again, so the page shows the new state.

    It reads the widgets from the session state, which holds what the user entered up to the click.
    """
    ss = st.session_state
    version, alias = ss["promote_version"], ss["promote_alias"]
    if alias == NEW_ALIAS:
        alias = ss.get("promote_new_alias", "").strip()
    reason = " ".join(ss.get("promote_reason", "").split())  # the history keeps one line: lines are joined
    if not alias:
        outcome = ("warning", "Nothing changed: name the new alias first.")
    elif not reason:
        outcome = ("warning", "Nothing changed: write the reason for this promotion first.")
    elif not ss.get("promote_confirm"):
        outcome = ("warning", "Nothing changed: tick the confirmation first.")
    else:
        try:
            change = state.promote(name, version, alias, reason)
        except hub.errors.HubError as exc:
            outcome = ("error", f"Nothing changed: {exc}")
        else:
            if change.moved:
                outcome = ("success", f"{name}:{alias} now points at v{version}.")
            else:
                outcome = ("info", f"Nothing changed: {name}:{alias} already points at v{version}.")
            ss["promote_reason"] = ""
            ss["promote_confirm"] = False
    ss[OUTCOME_KEY] = outcome


st.title("Promote a version")
ref = model_from_url("promotion", in_registry=True)
if ref is None:
    st.stop()
try:
    current = state.model_info(ref)
except hub.errors.HubError as exc:
    show_lookup_error(ref, exc)
    st.stop()
name = current.name

versions = sorted(current.versions, reverse=True)
wanted = st.query_params.get("version", "")
start = versions.index(int(wanted)) if wanted.isdigit() and int(wanted) in versions else 0
aliases = sorted(set(current.aliases) | {"production", "staging"}, key=lambda a: (a != "production", a))

st.subheader(name)
st.caption("Aliases now: " + (", ".join(f"{a} → v{v}" for a, v in sorted(current.aliases.items())) or "none"))
version = st.selectbox("Version", versions, index=start, format_func=lambda v: f"v{v}", key="promote_version")
alias = st.selectbox("Alias", aliases + [NEW_ALIAS], key="promote_alias")
if alias == NEW_ALIAS:
    alias = st.text_input("New alias name", key="promote_new_alias", placeholder="e.g. canary").strip()
st.text_area("Reason (recorded in the history)", key="promote_reason",
                      placeholder="e.g. WER 0.3 points better on speech-dev")
before = current.aliases.get(alias)
st.markdown(f"**{name}:{alias or '…'}**: {f'v{before}' if before else '(unset)'} → **v{version}**, for everyone "
            f"who loads `{name}:{alias or '…'}`" + ("" if alias != "production" else f" or plain `{name}`"))
st.checkbox("I confirm this promotion", key="promote_confirm")

st.button("Promote", type="primary", icon=":material/rocket_launch:", key="promote_go", on_click=submit,
          args=(name,))
outcome = st.session_state.pop(OUTCOME_KEY, None)
if outcome:
    getattr(st, outcome[0])(outcome[1])

st.subheader("History")
moves = state.history_frame(name)
if moves.empty:
    st.caption("No alias of this model was ever set.")
else:
    st.table(moves.assign(at=moves["at"].dt.strftime("%Y-%m-%d %H:%M:%S UTC")).set_index("at"))
st.page_link("views/model.py", label=f"Back to {name}", icon=":material/arrow_back:", query_params={"model": name})
