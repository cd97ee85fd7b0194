"""Try a model: speech models transcribe an uploaded file or a bundled clip; text models compare sentences;
vision models read a digit from an uploaded picture or a bundled sample."""
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import hub
from app import charts, digit_image, state
from app.picking import model_from_url, show_lookup_error

MAX_SENTENCES = 30  # the heatmap has a cell per pair: 2000 sentences would send the browser a 500 MB chart
DEFAULT_SENTENCES = "A man is playing a guitar.\nSomeone plays an instrument.\nThe stock market fell sharply today."

st.title("Try it")
ref = model_from_url("try-it page", tasks=state.SPEECH_TASKS + state.TEXT_TASKS + state.VISION_TASKS)
if ref is None:
    st.stop()
try:
    summary = [m for m in hub.list() if m.name == hub.parse_reference(ref).name]
except hub.errors.HubError as exc:
    show_lookup_error(ref, exc)
    st.stop()
if not summary:
    show_lookup_error(ref, LookupError("no such model in the registry or the catalog"))
    st.stop()
task = summary[0].task
st.subheader(ref)
st.page_link("views/model.py", label=f"Back to {summary[0].name}", icon=":material/arrow_back:",
             query_params={"model": summary[0].name})
if not summary[0].in_registry:
    st.caption("Not imported yet: the first run imports it from the catalog's offline source.")


def load_model():
    with st.status(f"Loading {ref}…") as status:
        model, seconds = state.timed(lambda: state.loaded(ref))
        status.update(label=f"{ref} ready ({seconds:.1f} s to load)", state="complete")
    return model


def as_picture(digit: np.ndarray) -> np.ndarray:
    """An 8x8 digit (0..16, ink high) as a 128x128 grey picture, ink dark, to show what the model reads."""
    return np.kron(1 - digit / digit_image.INPUT_MAX, np.ones((16, 16))).clip(0, 1)


if task in state.SPEECH_TASKS:
    source = st.radio("Audio", ["Sample clip", "Upload a file"], horizontal=True, key="try_source")
    audio_name, audio_bytes = None, None
    if source == "Sample clip":
        clip = st.selectbox("Sample clip", state.sample_clips(), format_func=lambda p: p.name, key="try_clip")
        if clip is not None:
            st.audio(str(clip))
            audio_name, audio_bytes = clip.name, clip.read_bytes()
    else:
        upload = st.file_uploader("Audio file", type=["wav", "flac", "ogg", "mp3"], key="try_upload")
        if upload is not None:
            audio_name, audio_bytes = Path(upload.name).name, upload.getvalue()
    if st.button("Transcribe", type="primary", disabled=audio_bytes is None, key="try_transcribe"):
        try:
            model = load_model()
            with tempfile.TemporaryDirectory(prefix="zoohub-app-") as tmp:
                audio = Path(tmp) / audio_name
                audio.write_bytes(audio_bytes)
                result, seconds = state.timed(lambda: model.transcribe(str(audio)))
        except Exception as exc:  # audio from users fails in many ways (format, decoder): say so, keep the page
            st.error(f"Could not transcribe {audio_name}: {exc}")
        else:
            st.markdown("**Transcript**")
            st.markdown(f"> {result.text.strip()}")
            pace = f" ({seconds / result.duration:.2f}× real time)" if result.duration > 0 else ""  # none for no audio
            st.caption(f"{result.duration:.2f} s of audio transcribed in {seconds:.2f} s{pace}, "
                       f"language {result.language}")
            st.dataframe(pd.DataFrame([{"start": s.start, "end": s.end, "text": s.text.strip()}
                                       for s in result.segments], columns=["start", "end", "text"]),
                         hide_index=True, width="stretch")

elif task in state.TEXT_TASKS:
    text = st.text_area("Sentences, one per line", DEFAULT_SENTENCES, key="try_sentences", height=140)
    sentences = [line.strip() for line in text.splitlines() if line.strip()]
    if len(sentences) > MAX_SENTENCES:
        st.warning(f"Only the first {MAX_SENTENCES} of the {len(sentences)} sentences are compared.")
        sentences = sentences[:MAX_SENTENCES]
    if st.button("Compare sentences", type="primary", disabled=len(sentences) < 2, key="try_embed"):
        try:
            model = load_model()
            embeddings, seconds = state.timed(lambda: np.asarray(model.encode(sentences), dtype=np.float64))
        except Exception as exc:  # a model's failure on user text is shown on the page, not as a crash
            st.error(f"Could not embed the sentences: {exc}")
        else:
            norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
            unit = embeddings / np.where(norms == 0, 1, norms)
            st.altair_chart(charts.similarity_heatmap(sentences, unit @ unit.T))
            st.caption(f"{len(sentences)} sentences embedded in {seconds * 1000:.0f} ms "
                       f"({embeddings.shape[1]} dimensions)")

elif task in state.VISION_TASKS:
    source = st.radio("Digit", ["Sample digit", "Upload a picture"], horizontal=True, key="try_digit_source")
    digit, digit_error = None, None
    if source == "Sample digit":
        samples = state.sample_digits()
        label = st.selectbox("Sample digit", range(len(samples)), format_func=lambda i: f"a handwritten {i}",
                             key="try_digit_sample")
        if label is not None:
            digit = samples[label]
    else:
        upload = st.file_uploader("Picture of one digit (PNG or JPEG)", type=["png", "jpg", "jpeg"],
                                  key="try_digit_upload")
        if upload is not None:
            try:
                digit = digit_image.digit_from_image(upload.getvalue(), Path(upload.name).name)
            except digit_image.NotADigitImage as exc:
                digit_error = str(exc)
    if digit_error:
        st.error(digit_error)
    elif digit is not None:
        st.image(as_picture(digit), caption="what the model reads: 8x8, grey levels 0..16", width=128)
    if st.button("Read the digit", type="primary", disabled=digit is None, key="try_classify"):
        try:
            model = load_model()
            probabilities, seconds = state.timed(lambda: np.asarray(model.predict_proba(digit[None]))[0])
        except Exception as exc:  # a model's failure on user input is shown on the page, not as a crash
            st.error(f"Could not read the digit: {exc}")
        else:
            predicted = int(np.argmax(probabilities))
            st.markdown(f"**Predicted digit: {predicted}** ({probabilities[predicted]:.1%})")
            st.altair_chart(charts.class_probabilities(probabilities, predicted))
            st.caption(f"classified in {seconds * 1000:.1f} ms")

else:
    st.info(f"{ref} is a {task} model: the try-it page runs speech, text and vision models.")
