"""The Estimate page, run headless with Streamlit's AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "2_Estimate.py")


def _new() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60)


def test_defaults_without_a_split_say_so_and_draw_the_charts():
    at = _new().run()
    assert not at.exception
    assert any("No split yet" in info.value for info in at.info)
    assert at.success and at.success[0].value.startswith("Fits")
    assert len(at.get("plotly_chart")) >= 3  # fixes, per strategy, memory vs sequence length


def test_hackathon_preset_from_the_url_explains_the_oom():
    at = _new()
    at.query_params["preset"] = "hackathon"
    at.run()
    assert not at.exception
    assert at.error and "Does not fit" in at.error[0].value and "RTX 4090" in at.error[0].value
    assert any("Hackathon preset" in info.value for info in at.info)
    assert any(
        "Why the hackathon run died" in text.value and "full replica" in text.value for text in at.markdown
    )
    path = at.dataframe[0].value
    assert bool(path["fits"].iloc[-1]) and not path["fits"].iloc[:-1].any()
    assert at.get("plotly_chart")


def test_prefilled_from_the_split_page():
    at = _new()
    at.session_state["split_summary"] = {
        "model": "SmolLM2-360M",
        "window": 512,
        "num_chars": 40_000,
        "num_tokens": 10_000,
        "strategies": {
            name: {
                "examples": 20,
                "tokens_trained": 10_000,
                "tokens_processed": 10_000,
                "coverage": 1.0,
                "dropped_tokens": 0,
                "duplication": 1.0,
                "padding_tokens": 240,
                "max_tokens": 512,
            }
            for name in ("truncation", "sliding", "blocks", "boundary")
        },
    }
    at.run()
    assert not at.exception
    assert any("From the Split page" in caption.value for caption in at.caption)
    assert at.number_input(key="est_seq_len").value == 512
    table = next(frame.value for frame in at.dataframe if "strategy" in frame.value.columns)
    assert list(table["strategy"]) == ["truncation", "sliding", "blocks", "boundary"]
    assert (table["steps / epoch"] == 20).all()


def test_hackathon_button_fills_the_inputs():
    at = _new().run()
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["est_model"] == "phi-2" and at.session_state["est_batch"] == 8
    assert at.error and "Does not fit" in at.error[0].value


def test_any_config_json_and_the_cpu_timing_button(tmp_path):
    import json

    from core.estimate.validation import WIDE_VOCAB

    path = tmp_path / "config.json"
    path.write_text(json.dumps(WIDE_VOCAB))
    at = _new().run()
    at.selectbox[0].select("other: config.json path or cached HF id").run()
    at.text_input[0].input(str(path)).run()
    assert not at.exception
    assert at.session_state["est_model"] == str(path)
    table = next(frame.value for frame in at.dataframe if "strategy" in frame.value.columns)
    assert (table["CPU time (this machine)"] == "time a step first").all()
    next(button for button in at.button if button.label.startswith("Time one training step")).click().run()
    assert not at.exception
    table = next(frame.value for frame in at.dataframe if "strategy" in frame.value.columns)
    assert not (table["CPU time (this machine)"] == "time a step first").any()
    assert any("one step of" in caption.value for caption in at.caption)
