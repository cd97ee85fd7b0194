"""A model: its card, config, files, versions, aliases and their history, benchmarks, and "reproduce now"."""
import json

import pandas as pd
import streamlit as st

import hub
from app import charts, state
from app.importing import import_button, show_import_result
from app.picking import is_catalog_only, model_from_url, show_lookup_error

ref = model_from_url("model page")
if ref is None:
    st.stop()

try:
    resolved = state.model_info(ref)
except hub.errors.ModelNotFound as exc:
    if not is_catalog_only(ref):
        show_lookup_error(ref, exc)
        st.stop()
    st.title(ref)
    st.info(f"{ref} is in the zoo's catalog but not imported yet. Import it to see its files and benchmarks.")
    if import_button(ref, key="import_model"):
        st.rerun()
    st.stop()
except hub.errors.HubError as exc:
    show_lookup_error(ref, exc)
    st.stop()

name = resolved.name
versions = list(resolved.versions)
chosen = st.query_params.get("version", "")
default = versions.index(int(chosen)) if chosen.isdigit() and int(chosen) in versions \
    else versions.index(resolved.version)

st.title(name)
show_import_result()
st.caption(resolved.description)
version = st.selectbox("Version", versions, index=default, format_func=lambda v: f"v{v}", key="model_version")
info = resolved if version == resolved.version else state.model_info(f"{name}@{version}")
st.query_params["version"] = str(version)

aliases_here = ", ".join(a for a, v in sorted(info.aliases.items()) if v == info.version) or "none"
a, b, c, d, e = st.columns(5)
a.metric("Task", info.task)
b.metric("License", info.license or "unknown")
c.metric("Production", f"v{info.aliases['production']}" if "production" in info.aliases else "none")
d.metric("Size", state.human_size(info.size))
e.metric("Aliases of this version", aliases_here)

links = st.columns(3)
links[0].page_link("views/try_it.py", label="Try it", icon=":material/play_arrow:", query_params={"model": info.ref})
links[1].page_link("views/promote.py", label="Promote", icon=":material/rocket_launch:",
                   query_params={"model": name, "version": str(info.version)})
links[2].page_link("views/compare.py", label="Compare", icon=":material/compare:", query_params={"models": name})

card, config, files, history, benchmarks = st.tabs(["Card", "Config", "Files", "Versions & aliases", "Benchmarks"])

with card:
    st.markdown(info.card or "_This version has no model card (README.md)._")

with config:
    st.code(json.dumps(info.config, indent=2, sort_keys=True), language="json")
    st.caption(f"source: {info.source or 'unknown'} · manifest sha256:{info.manifest_sha256}")

with files:
    st.dataframe(pd.DataFrame([{"path": f.path, "size": state.human_size(f.size), "bytes": f.size,
                                "sha256": f.sha256} for f in info.files]),
                 hide_index=True, width="stretch")
    st.caption(f"{len(info.files)} files, {state.human_size(info.size)} in all")

with history:
    every = state.model_versions(name)
    by_version = {}
    for alias, number in info.aliases.items():
        by_version.setdefault(number, []).append(alias)
    st.subheader("Versions")
    st.dataframe(pd.DataFrame([{"version": v.version, "aliases": ", ".join(sorted(by_version.get(v.version, []))),
                                "created": v.created_at, "by": v.created_by, "source": v.source,
                                "size": state.human_size(v.size), "manifest": v.manifest_sha256[:16]}
                               for v in reversed(every)]),
                 hide_index=True, width="stretch")
    st.subheader("Alias history")
    moves = state.history_frame(name)
    if moves.empty:
        st.caption("No alias was ever set. Promote a version to start the history.")
    else:
        st.dataframe(moves, hide_index=True, width="stretch")

with benchmarks:
    if state.can_reproduce():
        run_now = st.button("Reproduce now", icon=":material/replay:", key="reproduce",
                            help="re-run this version's benchmarks here and judge every claim")
    else:
        run_now = st.button("Reproduce now", icon=":material/replay:", key="reproduce", disabled=True,
                            help="hub.reproduce is not available in this build of zoohub yet")
        st.caption("Reproduce now is unavailable: this build of the hub has no `reproduce`.")
    if run_now:
        with st.status(f"Re-running the benchmarks of {info.ref}…", expanded=True) as status:
            try:
                report = hub.reproduce(info.ref, on_step=lambda bench: st.write(f"running {bench}…"))
            except hub.errors.HubError as exc:
                status.update(label="Reproduction failed", state="error")
                st.error(str(exc))
            else:
                st.session_state[f"report:{info.ref}"] = report
                state.forget_card_facts()
                info, every = state.model_info(info.ref), state.model_versions(name)
                judged = sum(r.verdict == "reproduced" for r in report.results)
                status.update(label=f"{judged} of {len(report.results)} claims reproduced in {report.seconds:.1f} s",
                              state="complete" if report.ok else "error")

    if info.verdicts:
        st.dataframe(pd.DataFrame([{"benchmark": v.benchmark, "claimed": v.claimed, "measured": v.measured,
                                    "delta": v.delta, "tolerance": f"{v.abs_tol:g} + {v.rel_tol:g}·|claim|",
                                    "verdict": v.verdict, "source": v.source, "at": v.at, "note": v.reason}
                                   for v in info.verdicts]),
                     hide_index=True, width="stretch")
    else:
        st.caption("No benchmark of this version has been run yet.")

    report = st.session_state.get(f"report:{info.ref}")
    if report is not None:
        with st.expander(f"Environment of the run at {report.started_at:%Y-%m-%d %H:%M:%S} UTC", expanded=run_now):
            st.json(report.env)

    verdicts = state.verdict_frame(every).dropna(subset=["measured"])
    if not verdicts.empty:
        st.altair_chart(charts.verdict_history(verdicts), width="stretch")
