"""Promote: point an alias (production, staging, ...) at a version, with a reason, after an explicit confirmation."""
import streamlit as st

import hub
from app import state
from app.picking import model_from_url, show_lookup_error

NEW_ALIAS = "another alias…"

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
reason = st.text_area("Reason (recorded in the history)", key="promote_reason",
                      placeholder="e.g. WER 0.3 points better on speech-dev")
before = current.aliases.get(alias)
move = f"{alias}: v{before} → v{version}" if before else f"{alias}: (unset) → v{version}"
confirmed = st.checkbox(f"I confirm {move} for everyone who loads {name}:{alias}", key="promote_confirm")

if st.button("Promote", type="primary", icon=":material/rocket_launch:", key="promote_go"):
    if not alias:
        st.warning("Nothing changed: name the new alias first.")
    elif not reason.strip():
        st.warning("Nothing changed: write the reason for this promotion first.")
    elif not confirmed:
        st.warning("Nothing changed: tick the confirmation first.")
    else:
        try:
            state.promote(name, version, alias, reason.strip())
        except hub.errors.HubError as exc:
            st.error(f"Nothing changed: {exc}")
        else:
            st.success(f"{name}:{alias} now points at v{version}.")

st.subheader("History")
moves = state.history_frame(name)
if moves.empty:
    st.caption("No alias of this model was ever set.")
else:
    st.dataframe(moves, hide_index=True, width="stretch")
st.page_link("views/model.py", label=f"Back to {name}", icon=":material/arrow_back:", query_params={"model": name})
