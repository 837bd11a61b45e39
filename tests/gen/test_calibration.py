"""TeaCache calibration: fitting, storing with the model, picking the nearest entry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from live.gen.errors import CalibrationError
from live.gen.teacache_calibration import (
    Calibration,
    calibration_path,
    fit_rescale_polynomial,
    load_calibrations,
    nearest_calibration,
    save_calibration,
)


def test_fit_recovers_a_known_polynomial_from_synthetic_data():
    known = (-5.21862437e04, 9.23041404e03, -5.28275948e02, 1.36987616e01, -4.99875664e-02)  # a published set
    x = np.linspace(0.005, 0.12, 60)
    fitted = fit_rescale_polynomial(x, np.polyval(known, x))
    np.testing.assert_allclose(fitted, known, rtol=1e-6)


def test_fit_with_noise_stays_close_where_the_data_is():
    rng = np.random.default_rng(0)
    known = (3.0, -2.0, 0.5, 1.2, 0.01)
    x = rng.uniform(0.02, 0.6, 400)
    y = np.polyval(known, x) + rng.normal(0, 1e-3, x.size)
    fitted = fit_rescale_polynomial(x, y)
    grid = np.linspace(0.05, 0.55, 20)
    np.testing.assert_allclose(np.polyval(fitted, grid), np.polyval(known, grid), atol=2e-3)


def test_fit_refuses_too_little_or_bad_data():
    with pytest.raises(CalibrationError, match="3 distinct input changes cannot fit a degree-4 polynomial"):
        fit_rescale_polynomial([0.1, 0.2, 0.3], [1, 2, 3])
    with pytest.raises(CalibrationError, match="NaN or infinity"):
        fit_rescale_polynomial([0.1, 0.2, np.nan, 0.4, 0.5, 0.6], [1, 2, 3, 4, 5, 6])


def _cal(width, height, steps, c0=1.0):
    return Calibration(width=width, height=height, frames=17, steps=steps, samples=10, rms_error={},
                       coefficients={"transformer": {"temb": (c0, 0.0), "timestep_proj": (c0, 1.0)}})


def test_calibrations_are_stored_beside_the_model_and_the_nearest_is_chosen(tmp_path):
    path = calibration_path(tmp_path)
    save_calibration(path, _cal(480, 272, 20))
    save_calibration(path, _cal(832, 480, 20))
    save_calibration(path, _cal(480, 272, 20, c0=2.0))  # same key: replaces
    stored = load_calibrations(path)
    assert [(c.width, c.steps) for c in stored] == [(832, 20), (480, 20)]
    assert stored[1].coefficients["transformer"]["temb"] == (2.0, 0.0)
    assert nearest_calibration(stored, width=848, height=480, steps=20).width == 832
    assert nearest_calibration(stored, width=512, height=288, steps=20).width == 480


def test_malformed_calibration_file_names_the_entry(tmp_path):
    path = tmp_path / "echoel_teacache.json"
    path.write_text(json.dumps({"schema": 1, "calibrations": [{"width": 480}]}))
    with pytest.raises(CalibrationError, match=r"calibrations\[0\]: malformed calibration entry"):
        load_calibrations(path)
    path.write_text("[]")
    with pytest.raises(CalibrationError, match="expected"):
        load_calibrations(path)


def test_calibrating_a_tiny_model_stores_a_usable_polynomial(tiny_model_dir, tmp_path):
    pytest.importorskip("torch", reason="torch not installed (extra 'gen')")
    from live.gen.pipelines.wan import load_generator
    from live.gen.settings import PipelineSettings
    from live.gen.teacache_calibration import calibrate_teacache, teacache_configs

    generator = load_generator(tiny_model_dir("wan2.2-t2v-a14b"), PipelineSettings(device="cpu"))
    cal = calibrate_teacache(generator, prompts=["neon city", "calm lake"], width=32, height=32, frames=9, steps=12)
    assert set(cal.coefficients) == {"transformer", "transformer_2"}
    assert cal.model_hash.startswith("sha256:") and cal.layout == "wan2.2-t2v-a14b"
    target = tmp_path / "cal.json"
    save_calibration(target, cal)
    configs, source = teacache_configs(generator.model_path, generator.layout, threshold=0.3, retention=False,
                                       width=32, height=32, steps=12, calibration_file=target)
    assert "cal.json" in source and set(configs) == {"transformer", "transformer_2"}
    assert configs["transformer_2"].coefficients == cal.coefficients["transformer_2"]["temb"]
    generator.set_teacache(configs)
    from live.gen.request import GenerationRequest

    result = generator.generate(GenerationRequest(prompt="neon city", frames=9, width=32, height=32, steps=12))
    assert result.computed_calls < result.transformer_calls  # the fitted polynomial lets steps be skipped


def test_models_without_coefficients_get_the_calibration_command(tiny_model_dir):
    pytest.importorskip("torch", reason="torch not installed (extra 'gen')")
    from live.gen.layouts import detect_layout
    from live.gen.teacache_calibration import teacache_configs

    model = tiny_model_dir("wan2.2-ti2v-5b")
    with pytest.raises(CalibrationError, match="run: echoel gen calibrate-teacache --model"):
        teacache_configs(model, detect_layout(model), threshold=0.1, retention=False, width=32, height=32, steps=4)
