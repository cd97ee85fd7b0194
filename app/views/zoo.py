"""The zoo: every model of the registry and the catalog, searchable, filtered by task, license and size."""
import streamlit as st

from app import state
from app.importing import import_button, show_import_result

CARDS_PER_PAGE = 12
COLUMNS = 3

st.title("Model zoo")
show_import_result()
rows = state.zoo_rows()

search, task_col, license_col, size_col = st.columns([3, 2, 2, 2])
query = search.text_input("Search", key="zoo_query", placeholder="name or description, e.g. speech")
tasks = task_col.multiselect("Task", sorted({r.task for r in rows}), key="zoo_tasks")
licenses = license_col.multiselect("License", sorted({r.license for r in rows}), key="zoo_licenses")
max_mib = size_col.number_input("Largest size (MiB, 0: any)", min_value=0.0, value=0.0, step=10.0,
                                key="zoo_max_mib", help="models not imported yet have no size and are always shown")

needle = query.strip().lower()
shown = [r for r in rows
         if (not needle or needle in r.name.lower() or needle in r.description.lower())
         and (not tasks or r.task in tasks)
         and (not licenses or r.license in licenses)]
if max_mib > 0:  # only this filter needs every model's size
    shown = [r for r in shown if r.shown_ref is None or state.card_facts(r.shown_ref)[0] <= max_mib * 2**20]

pages = max(1, -(-len(shown) // CARDS_PER_PAGE))
st.caption(f"{len(shown)} of {len(rows)} models")
page = st.number_input("Page", 1, pages, 1, key="zoo_page") if pages > 1 else 1
visible = shown[(page - 1) * CARDS_PER_PAGE: page * CARDS_PER_PAGE]

if not shown:
    st.info("No model matches. Clear the search or the filters.")

columns = st.columns(COLUMNS)
for i, row in enumerate(visible):
    size, headline = state.card_facts(row.shown_ref) if row.shown_ref else (None, "")
    with columns[i % COLUMNS].container(border=True):
        st.page_link("views/model.py", label=row.name, icon=":material/open_in_new:", query_params={"model": row.name})
        st.caption(f"{row.task} · {row.license} · {state.human_size(size)}")
        if row.description:
            st.write(row.description)
        if row.in_registry:
            production = f"v{row.production}" if row.production else "none"
            st.markdown(f"**production** {production} · **latest** v{row.latest_version}")
            st.markdown(f"**benchmark** {headline}" if headline else "_no benchmark run yet_")
        else:
            st.markdown("_in the catalog, not imported yet_")
            if import_button(row.name, key=f"import_{row.name}"):
                st.rerun()
