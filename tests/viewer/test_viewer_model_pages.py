"""The pages that need a model: the evidence heat-map and the live report, with a tiny checkpoint."""

import numpy as np
import torch
from conftest import APP
from streamlit.testing.v1 import AppTest
from viewer_testing import reference_ids

from retinavlm.data.augment import fovea_center_crop
from retinavlm.data.io import read_scan
from retinavlm.viewer.heatmap import evidence_map
from retinavlm.viewer.run import load_run


def test_grad_cam_map_matches_a_direct_computation(demo_run, checkpoint):
    from retinavlm.model.vlm import RetinaVLM

    torch.manual_seed(0)
    model = RetinaVLM.from_pretrained(checkpoint, device="cpu")
    case = load_run(demo_run).cases[reference_ids(demo_run)[0]]
    scan = read_scan(case.image)
    result = evidence_map(model, scan, "subretinal fluid")
    assert result.heat.shape == model.encoder.grid
    assert np.isfinite(result.heat).all() and result.heat.min() >= 0.0 and result.heat.max() <= 1.0
    assert 0.0 < result.p_yes < 1.0
    assert result.question == "Is there subretinal fluid in this scan?"
    np.testing.assert_allclose(
        result.view,
        fovea_center_crop(scan.pixels, model.config.encoder.image_size, model.config.encoder.crop_fraction),
        atol=1e-5,
    )

    # the map is the rectified, gradient-weighted sum of the feature map: redo it by hand on the same inputs
    pixel_values = model.processor.preprocess(scan).unsqueeze(0)
    batch = model.processor([f"<image>\n{result.question}"], images=pixel_values)
    features = model.encode_images(pixel_values).detach().requires_grad_(True)
    logits = model(batch["input_ids"], batch["attention_mask"], image_features=features).logits[0, -1]
    yes, no = (model.processor.tokenizer.encode(w, add_special_tokens=False)[0] for w in ("Yes", "No"))
    (logits[yes] - logits[no]).backward()
    cam = torch.relu((features[0] * features.grad[0].mean(0)).sum(-1)).reshape(model.encoder.grid).detach().numpy()
    expected = cam / cam.max() if cam.max() > 0 else cam
    np.testing.assert_allclose(result.heat, expected, atol=1e-4)


def test_live_report_streams_and_grades_with_a_checkpoint(demo_run, checkpoint, view_args):
    view_args(demo_run, "--checkpoint", checkpoint)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("page_live.py").run()
    at.segmented_control(key="live-source").set_value("Pick from the run").run()
    at.slider(key="live-tokens").set_value(32).run()
    at.button(key="live-go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    texts = [m.value for m in at.markdown]
    assert "**Internal consistency**" in texts
    verdicts = [
        v.value
        for v in (*at.success, *at.warning, *at.error)
        if v.value.startswith(("Consistent", "Inconsistent", "Not gradable"))
    ]
    assert len(verdicts) == 1, verdicts


def test_case_page_heat_map_with_a_checkpoint(demo_run, checkpoint, view_args):
    view_args(demo_run, "--checkpoint", checkpoint)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["id"] = reference_ids(demo_run)[0]
    at.run()
    at.switch_page("page_case.py").run()
    at.button(key="heat-go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.image) == 2 and "Grad-CAM" in str(at.image[1].proto)
