"""Import on demand: a catalog model becomes a registry version when someone asks for it (hub.pull)."""
import streamlit as st

import hub
from app import state

DONE_KEY = "import_done"


def import_button(name: str, key: str) -> bool:
    """A button that imports catalog model `name` with a status box; True once the model is in the registry
    (the caller reruns the page, which then shows the result with show_import_result)."""
    if not st.button(f"Import {name}", key=key, icon=":material/download:"):
        return False
    with st.status(f"Importing {name} from its offline source…", expanded=True) as status:
        st.write("checking the source files' sha256, converting, publishing into the blob store")
        try:
            info, seconds = state.timed(lambda: hub.pull(name))
        except hub.errors.HubError as exc:
            status.update(label=f"Import of {name} failed", state="error")
            st.error(str(exc))
            return False
        message = f"Imported {info.ref} in {seconds:.1f} s ({state.human_size(info.size)})"
        status.update(label=message, state="complete")
    st.session_state[DONE_KEY] = message
    return True


def show_import_result() -> None:
    """The message of an import that finished just before this rerun, shown once."""
    message = st.session_state.pop(DONE_KEY, None)
    if message:
        st.success(message, icon=":material/check_circle:")
