"""Every page and action of the app, run by Streamlit's AppTest against a real registry seeded through hub."""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
from PIL import Image
from streamlit.testing.v1 import AppTest

import hub
from app.state import SAMPLES, human_size
from tests.app import tiny_models
from tests.app.conftest import MAIN, RUN_TIMEOUT, open_page, record_benchmarks, texts


def card_titles(at) -> list[str]:
    """Model names on the zoo page's cards (each card is headed by a link to its model page)."""
    return [link.proto.label for link in at.get("page_link") if "/" in link.proto.label]


def test_zoo_lists_registry_models_and_catalog_models_before_their_import(seeded):
    at = open_page()
    names = card_titles(at)
    assert {"speech/vad", "text/chars", tiny_models.CATALOG_ONLY} <= set(names)
    assert "in the catalog, not imported yet" in texts(at)
    assert any(b.label == f"Import {tiny_models.CATALOG_ONLY}" for b in at.button)


def test_zoo_search_keeps_matching_models_only(seeded):
    at = open_page()
    at.text_input(key="zoo_query").input("speech").run()
    shown = card_titles(at)
    assert "speech/vad" in shown and "text/chars" not in shown  # catalog speech models may be listed too
    assert all("speech" in (name + m.description + m.task).lower() for name, m in
               ((n, next(x for x in hub.list() if x.name == n)) for n in shown))
    at.text_input(key="zoo_query").input("vad").run()
    assert card_titles(at) == ["speech/vad"]
    at.text_input(key="zoo_query").input("no such model").run()
    assert card_titles(at) == []
    assert "No model matches" in texts(at)


def test_zoo_filters_by_task_license_and_size(seeded):
    at = open_page()
    at.multiselect(key="zoo_tasks").set_value(["text"]).run()
    assert set(card_titles(at)) == {"text/chars", tiny_models.CATALOG_ONLY} | (
        {"text/minilm-l6"} if "text/minilm-l6" in [m.name for m in hub.list()] else set())
    at.multiselect(key="zoo_tasks").set_value([]).run()
    at.multiselect(key="zoo_licenses").set_value(["CC0-1.0"]).run()
    shown = card_titles(at)
    assert "speech/vad" in shown and "text/chars" not in shown
    assert {m.license for m in hub.list() if m.name in shown} == {"CC0-1.0"}
    at.multiselect(key="zoo_licenses").set_value([]).run()
    at.number_input(key="zoo_max_mib").set_value(0.0001).run()
    shown = card_titles(at)
    assert "speech/vad" not in shown and "text/chars" not in shown  # published, with a size above 0 MiB
    assert tiny_models.CATALOG_ONLY in shown  # not imported: no size yet, always shown


def test_zoo_card_shows_production_version_and_headline_benchmark(seeded):
    hub.promote("speech/vad@1", "production", reason="first")
    record_benchmarks("speech/vad", 1, [("accuracy", 0.9, 0.905, 2.0)])
    at = open_page()
    page = texts(at)
    assert "**production** v1 · **latest** v2" in page
    assert "apptest-set:accuracy 0.905 (reproduced)" in page


def test_zoo_import_button_imports_a_catalog_model(seeded):
    at = open_page()
    at.button(key=f"import_{tiny_models.CATALOG_ONLY}").click().run()
    assert not at.exception
    assert f"Imported {tiny_models.CATALOG_ONLY}@1" in texts(at)
    assert not [b for b in at.button if b.key == f"import_{tiny_models.CATALOG_ONLY}"]
    assert [m.in_registry for m in hub.list() if m.name == tiny_models.CATALOG_ONLY] == [True]


def test_model_page_shows_card_config_files_versions_and_aliases(seeded):
    hub.promote("speech/vad@1", "production", reason="first release")
    at = open_page("model", model="speech/vad")
    page = texts(at)
    assert at.title[0].value == "speech/vad"
    assert "# speech/vad v1" in page  # the card of the production version, as Markdown
    assert '"architecture": "app-test-voice-activity"' in at.code[0].value
    files = at.dataframe[0].value
    v1 = hub.info("speech/vad@1")
    assert set(files["path"]) == {f.path for f in v1.files}
    assert set(files["sha256"]) == {f.sha256 for f in v1.files}
    versions = at.dataframe[1].value
    assert list(versions["version"]) == [2, 1]
    assert list(versions["aliases"]) == ["", "production"]
    history = at.dataframe[2].value
    assert list(history["reason"]) == ["first release"]


def test_model_page_version_in_the_url_selects_that_version(seeded):
    at = open_page("model", model="speech/vad", version="1")
    assert at.selectbox(key="model_version").value == 1
    assert "# speech/vad v1" in texts(at)
    at.selectbox(key="model_version").set_value(2).run()
    assert "# speech/vad v2" in texts(at)
    assert at.query_params["version"] == "2"


def test_model_page_for_an_unknown_model_says_so_clearly(seeded):
    at = open_page("model", model="speech/vdd")
    assert len(at.error) == 1
    message = at.error[0].value
    assert "speech/vdd" in message and "unknown model" in message and "speech/vad" in message  # close name
    assert not at.tabs


def test_model_page_for_a_malformed_reference_says_so_clearly(seeded):
    at = open_page("model", model="../etc/passwd")
    assert len(at.error) == 1 and "../etc/passwd" in at.error[0].value
    assert not at.tabs


def test_model_page_of_a_catalog_model_offers_its_import(seeded):
    at = open_page("model", model=tiny_models.CATALOG_ONLY)
    assert "not imported yet" in texts(at)
    at.button(key="import_model").click().run()
    assert not at.exception
    assert at.title[0].value == tiny_models.CATALOG_ONLY
    assert f"Imported {tiny_models.CATALOG_ONLY}@1" in texts(at)
    assert "# apptest/catalog-only" in texts(at)


def test_model_page_benchmarks_show_claim_measured_verdict_and_history(seeded):
    record_benchmarks("speech/vad", 1, [("accuracy", 0.9, 0.905, 2.0)])
    record_benchmarks("speech/vad", 2, [("accuracy", 0.9, 0.85, 2.0)])
    at = open_page("model", model="speech/vad", version="2")
    table = at.dataframe[-1].value
    assert list(table["benchmark"]) == ["apptest-set:accuracy"]
    assert list(table["claimed"]) == [0.9] and list(table["measured"]) == [0.85]
    assert list(table["verdict"]) == ["not_reproduced"]
    assert len(at.get("vega_lite_chart")) == 1  # the verdict history over both versions


def test_reproduce_now_is_offered_only_when_the_hub_can_reproduce(seeded):
    at = open_page("model", model="speech/vad")
    button = at.button(key="reproduce")
    if callable(getattr(hub, "reproduce", None)):
        assert not button.disabled
    else:
        assert button.disabled
        assert "Reproduce now is unavailable" in texts(at)


needs_reproduce = pytest.mark.skipif(not callable(getattr(hub, "reproduce", None)),
                                     reason="hub.reproduce is not in this build yet (branch text2)")


@needs_reproduce
def test_reproduce_now_of_a_model_without_catalog_entry_shows_the_hubs_message(seeded):
    at = open_page("model", model="speech/vad")
    at.button(key="reproduce").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "speech/vad" in at.error[0].value


@needs_reproduce
def test_reproduce_now_runs_the_benchmarks_and_shows_the_environment(seeded):
    hub.pull(tiny_models.CATALOG_ONLY)
    at = open_page("model", model=tiny_models.CATALOG_ONLY)
    at.button(key="reproduce").click().run()
    assert not at.exception and not at.error
    assert any("claims reproduced in" in box.label for box in at.status)
    assert at.json and "python" in at.json[0].value  # the environment the benchmarks ran in


def promote_form(at, version: int, alias: str, reason: str, confirm: bool):
    at.selectbox(key="promote_version").set_value(version)
    if alias in at.selectbox(key="promote_alias").options:
        at.selectbox(key="promote_alias").set_value(alias)
    else:
        at.selectbox(key="promote_alias").set_value("another alias…").run()
        at.text_input(key="promote_new_alias").input(alias)
    at.text_area(key="promote_reason").input(reason)
    at.checkbox(key="promote_confirm").set_value(confirm)
    return at.button(key="promote_go").click().run()


def test_promote_with_reason_and_confirmation_updates_the_history_at_once(seeded):
    at = open_page("promote", model="speech/vad")
    promote_form(at, 2, "production", "better on the test clips", confirm=True)
    assert not at.exception
    assert "speech/vad:production now points at v2." in texts(at)
    history = at.table[0].value
    assert list(history["alias"]) == ["production"] and list(history["to"]) == [2]
    assert list(history["reason"]) == ["better on the test clips"]
    assert hub.info("speech/vad:production").version == 2
    assert [c.reason for c in hub.history("speech/vad")] == ["better on the test clips"]
    assert "production → v2" in texts(at)  # the aliases line above the form is already the new one
    assert at.text_area(key="promote_reason").value == "" and not at.checkbox(key="promote_confirm").value


def test_promote_to_the_version_the_alias_points_at_says_so_and_adds_no_history(seeded):
    hub.promote("speech/vad@2", "production", reason="first")
    at = open_page("promote", model="speech/vad")
    promote_form(at, 2, "production", "again", confirm=True)
    assert not at.exception
    assert "Nothing changed: speech/vad:production already points at v2." in texts(at)
    assert [c.reason for c in hub.history("speech/vad")] == ["first"]


def test_promote_reason_over_several_lines_is_kept_as_one_line(seeded):
    at = open_page("promote", model="speech/vad")
    promote_form(at, 2, "production", "better on\nthe test clips\n", confirm=True)
    assert not at.exception and "speech/vad:production now points at v2." in texts(at)
    assert [c.reason for c in hub.history("speech/vad")] == ["better on the test clips"]


def test_promote_to_a_new_alias_name(seeded):
    at = open_page("promote", model="speech/vad")
    promote_form(at, 1, "canary", "try on 5 % of traffic", confirm=True)
    assert hub.info("speech/vad:canary").version == 1


def test_promote_without_confirmation_does_nothing(seeded):
    at = open_page("promote", model="speech/vad")
    promote_form(at, 2, "production", "better on the test clips", confirm=False)
    assert "tick the confirmation" in texts(at)
    assert hub.history("speech/vad") == []
    assert "No alias of this model was ever set." in texts(at)


def test_promote_without_a_reason_does_nothing(seeded):
    at = open_page("promote", model="speech/vad")
    promote_form(at, 2, "production", "   ", confirm=True)
    assert "write the reason" in texts(at)
    assert hub.history("speech/vad") == []


def test_promote_page_for_an_unknown_model_says_so_clearly(seeded):
    at = open_page("promote", model="nope/none")
    assert len(at.error) == 1 and "unknown model 'nope/none'" in at.error[0].value
    assert not at.button


def test_promote_page_without_a_model_offers_the_registry_models(seeded):
    at = open_page("promote")
    picker = at.selectbox(key="pick_promotion")
    assert picker.options == ["speech/vad", "text/chars"]  # not the catalog-only model: nothing to promote
    picker.set_value("text/chars").run()
    assert at.query_params["model"] == "text/chars"
    assert at.selectbox(key="promote_version").options == ["v1"]


def test_try_it_transcribes_a_bundled_sample_clip(seeded):
    at = open_page("try_it", model="speech/vad")
    assert at.selectbox(key="try_clip").value.name == "l01_01.wav"
    at.button(key="try_transcribe").click().run()
    assert not at.exception and not at.error
    page = texts(at)
    assert "> heard " in page and "stretches of voice" in page
    assert "s of audio transcribed in" in page  # the time taken
    segments = at.dataframe[0].value
    assert list(segments.columns) == ["start", "end", "text"] and len(segments) > 0
    assert (segments["end"] > segments["start"]).all()


def test_try_it_transcribes_an_uploaded_file(seeded):
    clip = SAMPLES / "l02_01.wav"
    at = open_page("try_it", model="speech/vad")
    at.radio(key="try_source").set_value("Upload a file").run()
    at.file_uploader(key="try_upload").set_value(("clip.wav", clip.read_bytes(), "audio/wav")).run()
    at.button(key="try_transcribe").click().run()
    assert not at.exception and not at.error
    assert "stretches of voice" in texts(at)


def test_try_it_reports_an_unreadable_upload(seeded):
    at = open_page("try_it", model="speech/vad")
    at.radio(key="try_source").set_value("Upload a file").run()
    at.file_uploader(key="try_upload").set_value(("broken.wav", b"RIFF not audio", "audio/wav")).run()
    at.button(key="try_transcribe").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "broken.wav" in at.error[0].value


def test_try_it_of_a_clip_without_samples_shows_no_real_time_factor(seeded):
    empty = io.BytesIO()
    soundfile.write(empty, np.zeros(0, dtype=np.float32), 16000, format="WAV")
    at = open_page("try_it", model="speech/vad")
    at.radio(key="try_source").set_value("Upload a file").run()
    at.file_uploader(key="try_upload").set_value(("empty.wav", empty.getvalue(), "audio/wav")).run()
    at.button(key="try_transcribe").click().run()
    assert not at.exception and not at.error
    assert "0.00 s of audio transcribed in" in texts(at)
    assert "real time" not in texts(at)  # seconds over zero seconds of audio is no speed


def test_try_it_embeds_sentences_and_draws_the_similarity_heatmap(seeded):
    at = open_page("try_it", model="text/chars")
    at.text_area(key="try_sentences").input("abc abc\nabc abd\nxyz").run()
    at.button(key="try_embed").click().run()
    assert not at.exception and not at.error
    assert len(at.get("vega_lite_chart")) == 1
    assert "3 sentences embedded in" in texts(at)


def test_try_it_compares_at_most_30_sentences_of_a_long_text(seeded):
    at = open_page("try_it", model="text/chars")
    at.text_area(key="try_sentences").input("\n".join(f"sentence number {i}" for i in range(2000))).run()
    assert "Only the first 30 of the 2000 sentences are compared." in texts(at)
    at.button(key="try_embed").click().run()
    assert not at.exception and not at.error
    assert "30 sentences embedded in" in texts(at)
    assert len(str(at.get("vega_lite_chart")[0].proto)) < 2**20  # 2000 sentences made a 500 MB chart


def test_try_it_imports_a_catalog_model_on_first_use(seeded):
    at = open_page("try_it", model=tiny_models.CATALOG_ONLY)
    assert "Not imported yet" in texts(at)
    at.button(key="try_embed").click().run()
    assert not at.exception and not at.error
    assert [m.in_registry for m in hub.list() if m.name == tiny_models.CATALOG_ONLY] == [True]


def test_try_it_for_an_unknown_model_says_so_clearly(seeded):
    at = open_page("try_it", model="speech/nothing")
    assert len(at.error) == 1 and "speech/nothing" in at.error[0].value


@pytest.fixture
def vision(seeded, tmp_path):
    """The seeded registry plus vision/templates, a nearest-class-mean digit reader."""
    return tiny_models.publish_vision(tmp_path / "vision-src")


def png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


def test_try_it_reads_a_bundled_sample_digit_and_charts_the_class_probabilities(vision):
    at = open_page("try_it", model="vision/templates")
    at.selectbox(key="try_digit_sample").set_value(3).run()
    at.button(key="try_classify").click().run()
    assert not at.exception and not at.error
    assert "Predicted digit: 3" in texts(at)
    assert len(at.get("vega_lite_chart")) == 1


def test_try_it_reads_an_uploaded_picture_drawn_dark_on_light(vision):
    seven = np.load(SAMPLES / "digits.npy")[7].astype(np.float64)
    picture = np.kron(255 - seven * 255 / 16, np.ones((12, 12)))  # 96x96, ink dark as on paper
    at = open_page("try_it", model="vision/templates")
    at.radio(key="try_digit_source").set_value("Upload a picture").run()
    at.file_uploader(key="try_digit_upload").set_value(("seven.png", png(picture), "image/png")).run()
    at.button(key="try_classify").click().run()
    assert not at.exception and not at.error
    assert "Predicted digit: 7" in texts(at)


@pytest.mark.parametrize("name, data, says", [
    ("notes.png", b"these are notes, not a picture", "is not a picture"),
    ("blank.png", png(np.full((40, 40), 255)), "is blank"),
])
def test_try_it_reports_an_upload_it_cannot_read_as_a_digit_in_one_line(vision, name, data, says):
    at = open_page("try_it", model="vision/templates")
    at.radio(key="try_digit_source").set_value("Upload a picture").run()
    at.file_uploader(key="try_digit_upload").set_value((name, data, "image/png")).run()
    assert not at.exception
    assert len(at.error) == 1 and name in at.error[0].value and says in at.error[0].value
    assert "\n" not in at.error[0].value
    assert at.button(key="try_classify").disabled


def test_compare_shows_two_models_side_by_side(seeded):
    record_benchmarks("speech/vad", 2, [("accuracy", 0.9, 0.905, 2.0)])
    at = open_page("compare", models="speech/vad,text/chars")
    table = at.dataframe[0].value
    assert list(table.columns) == ["speech/vad@2", "text/chars@1"]
    assert table.loc["task"].tolist() == ["speech", "text"]
    assert table.loc["apptest-set:accuracy"].tolist() == ["0.905 (reproduced)", "not run"]
    assert table.loc["size"].tolist() == [human_size(hub.info(n).size) for n in ("speech/vad", "text/chars")]


def test_compare_shows_a_model_named_twice_in_the_url_once(seeded):
    at = open_page("compare", models="speech/vad,speech/vad,text/chars")
    assert at.multiselect(key="compare_models").value == ["speech/vad", "text/chars"]
    assert list(at.dataframe[0].value.columns) == ["speech/vad@2", "text/chars@1"]


def test_compare_needs_two_models(seeded):
    at = open_page("compare", models="speech/vad")
    assert not at.dataframe
    assert "Choose two or three models" in texts(at)


def test_compare_charts_quality_against_speed_across_models_of_a_task(seeded, tmp_path):
    tiny_models.publish_speech(tmp_path / "fast", name="speech/vad-fast", versions=1)
    record_benchmarks("speech/vad", 2, [("accuracy", 0.9, 0.905, 2.0), ("seconds", 2.0, 2.0, 2.0)])
    record_benchmarks("speech/vad-fast", 1, [("accuracy", 0.9, 0.8, 0.5), ("seconds", 2.0, 0.5, 0.5)])
    at = open_page("compare")
    at.selectbox(key="compare_task").set_value("speech").run()
    assert at.selectbox(key="compare_speed").value == "apptest-set:seconds"
    assert at.selectbox(key="compare_quality").value == "apptest-set:accuracy"
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    assert "speech/vad-fast" in charts[0].proto.spec or "speech/vad-fast" in str(charts[0].proto)


def test_compare_times_the_models_of_a_task_when_no_speed_benchmark_exists(seeded, tmp_path):
    tiny_models.publish_speech(tmp_path / "fast", name="speech/vad-fast", versions=1)
    record_benchmarks("speech/vad", 2, [("accuracy", 0.9, 0.905, 2.0)])
    record_benchmarks("speech/vad-fast", 1, [("accuracy", 0.9, 0.8, 0.5)])
    at = open_page("compare")
    at.selectbox(key="compare_task").set_value("speech").run()
    assert at.selectbox(key="compare_speed").options == ["seconds on a sample (timed here)"]
    assert not at.get("vega_lite_chart")
    at.button(key="compare_time").click().run()
    assert not at.exception
    assert any(box.label == "Timed 2 models" for box in at.status)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1 and "speech/vad-fast" in str(charts[0].proto)


def test_compare_without_measured_benchmarks_says_how_to_get_them(seeded):
    at = open_page("compare")
    at.selectbox(key="compare_task").set_value("text").run()
    assert "`zoohub reproduce`" in texts(at)


def test_compare_timing_leaves_out_a_model_whose_weights_left_the_blob_store(seeded, tmp_path):
    from hub.access import blob_store
    damaged = hub.publish(tiny_models.speech_folder(tmp_path / "damaged", threshold=0.5), "speech/vad-damaged",
                          task="speech")
    record_benchmarks("speech/vad", 2, [("accuracy", 0.9, 0.905, 2.0)])
    record_benchmarks("speech/vad-damaged", 1, [("accuracy", 0.9, 0.8, 0.5)])
    weights = next(f for f in hub.info(damaged.ref).files if f.path == "model.safetensors")
    blob_store().path(weights.sha256.removeprefix("sha256:")).unlink()
    at = open_page("compare")
    at.selectbox(key="compare_task").set_value("speech").run()
    at.button(key="compare_time").click().run()
    assert not at.exception
    assert any(box.label == "Timed 1 of 2 models" for box in at.status)
    assert len(at.error) == 1 and "Could not time speech/vad-damaged: " in at.error[0].value
    assert "missing" in at.error[0].value
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1 and "speech/vad" in str(charts[0].proto)  # the model that could be timed


@pytest.mark.parametrize("page", [None, "compare", "model", "try_it", "promote"])
def test_every_page_says_in_one_line_that_the_registry_cannot_be_opened(monkeypatch, tmp_path, page):
    unreachable = f"sqlite:///{tmp_path}/no-such-folder/registry.db"
    monkeypatch.setenv("ZOOHUB_DB_URL", unreachable)
    at = AppTest.from_file(str(MAIN), default_timeout=RUN_TIMEOUT).run()
    if page is not None:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and "cannot use the registry database" in at.error[0].value
