"""Compare two or three models side by side, and every model of a task on quality against speed."""
import pandas as pd
import streamlit as st

import hub
from app import charts, state

MAX_MODELS = 3
SPEED_WORDS = ("second", "time", "latency", "rtf", "per_s", "throughput", "ms")
TIMED = "seconds on a sample (timed here)"

st.title("Compare")
registry = [m for m in hub.list() if m.in_registry]
names = [m.name for m in registry]
wanted = [n for n in dict.fromkeys(st.query_params.get("models", "").split(",")) if n in names][:MAX_MODELS]
chosen = st.multiselect("Models (two or three)", names, default=wanted, max_selections=MAX_MODELS,
                        key="compare_models")
st.query_params["models"] = ",".join(chosen)

if len(chosen) >= 2:
    infos = [state.model_info(n) for n in chosen]
    facts = {"task": [i.task for i in infos],
             "license": [i.license or "unknown" for i in infos],
             "version shown": [f"v{i.version}" for i in infos],
             "production": [f"v{i.aliases['production']}" if "production" in i.aliases else "none" for i in infos],
             "versions": [len(i.versions) for i in infos],
             "size": [state.human_size(i.size) for i in infos],
             "files": [len(i.files) for i in infos]}
    benchmarks = sorted({v.benchmark for i in infos for v in i.verdicts})
    for bench in benchmarks:
        facts[bench] = [next((f"{v.measured:.4g} ({v.verdict.replace('_', ' ')})" if v.measured is not None
                              else v.verdict.replace("_", " ")
                              for v in i.verdicts if v.benchmark == bench), "not run") for i in infos]
    table = pd.DataFrame(facts, index=[i.ref for i in infos]).T
    st.dataframe(table.astype(str), width="stretch")
else:
    st.caption("Choose two or three models to see them side by side.")

st.header("Quality against speed")
tasks = sorted({m.task for m in registry})
if not tasks:
    st.stop()
task = st.selectbox("Task", tasks, key="compare_task")
of_task = [m.name for m in registry if m.task == task]
points = [(name, v) for name in of_task for v in state.model_info(name).verdicts if v.measured is not None]
benches = sorted({v.benchmark for _, v in points})
speed_like = [b for b in benches if any(word in b.split(":")[-1].lower() for word in SPEED_WORDS)]
quality_like = [b for b in benches if b not in speed_like]
if not quality_like:
    st.caption(f"No {task} model has a quality benchmark measured yet: `zoohub reproduce` (or Reproduce now on a "
               f"model page) records them.")
    st.stop()
can_time = task in state.SPEECH_TASKS + state.TEXT_TASKS
left, right = st.columns(2)
speed = left.selectbox("Speed", speed_like + ([TIMED] if can_time else []), key="compare_speed")
quality = right.selectbox("Quality benchmark", quality_like, key="compare_quality")
if speed is None:
    st.caption(f"No speed benchmark of the {task} models is recorded, and the app cannot time {task} models.")
    st.stop()

by_model: dict[str, dict] = {}
for name, v in points:
    if v.benchmark == quality:
        by_model.setdefault(name, {}).update(value=v.measured, verdict=v.verdict)
    elif v.benchmark == speed:
        by_model.setdefault(name, {})["seconds"] = v.measured
if speed == TIMED:
    timings = st.session_state.setdefault("timings", {})
    key = (state.registry_identity(), task)
    if st.button(f"Time the {len(of_task)} {task} models now", key="compare_time",
                 help=state.WORKLOAD_HELP[task in state.TEXT_TASKS]):
        with st.status(f"Timing {len(of_task)} models…", expanded=True) as status:
            measured = {}
            for name in of_task:
                st.write(f"{name}…")
                try:
                    measured[name] = state.workload_seconds(name, task)
                except Exception as exc:  # a damaged or failing model is left out; the others are still timed
                    st.error(f"Could not time {name}: {exc}")
            timings[key] = measured
            if len(measured) == len(of_task):
                status.update(label=f"Timed {len(of_task)} models", state="complete")
            else:
                status.update(label=f"Timed {len(measured)} of {len(of_task)} models", state="error")
    for name, seconds in timings.get(key, {}).items():
        by_model.setdefault(name, {})["seconds"] = seconds
frame = pd.DataFrame([{"model": m, **p} for m, p in by_model.items() if {"seconds", "value"} <= set(p)],
                     columns=["model", "seconds", "value", "verdict"])
if frame.empty:
    st.caption("No model has both a speed and the quality benchmark yet." +
               (" Time them with the button above." if speed == TIMED else ""))
else:
    st.altair_chart(charts.quality_vs_speed(frame, quality, speed), width="stretch")
