"""Evidence heat-map for one finding: Grad-CAM on the OCT encoder's last feature map.

The model is asked the stage-1 curriculum's presence question about the finding ("Is there
subretinal fluid in this scan?", from curricula/templates/qa_findings.yaml, the question it was
trained to answer). The target is the logit margin of "Yes" over "No" for the first answer token;
its gradient with respect to the encoder's output feature map (the visual tokens, before the
adapter) weighs each channel, and the weighted, rectified sum over channels is the map.

Why Grad-CAM rather than the LLM's attention to the visual tokens: attention says where the LLM
reads, not what changes its answer, is spread over many layers and heads that need ad-hoc rollout,
and is not exposed by fused attention kernels. Grad-CAM is specific to the finding's answer, needs
one forward and one backward pass, works for ResNet and ViT encoders alike, and needs no gradients
through the (possibly 4-bit, frozen) weights: only the feature map requires grad.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from retinavlm.data.scan import Scan
from retinavlm.model.prompts import IMAGE_PLACEHOLDER
from retinavlm.resources import curricula_dir
from retinavlm.train.qa import load_templates


@dataclass(frozen=True)
class EvidenceMap:
    heat: np.ndarray  # (rows, cols) of the encoder grid, in [0, 1]
    view: np.ndarray  # the model's input view of the scan (fovea crop), float32 (S, S) in [0, 1]
    question: str
    p_yes: float  # the model's probability of "Yes" against "No" for the question


def presence_question(finding_name: str) -> str:
    templates = load_templates(curricula_dir() / "templates" / "qa_findings.yaml")
    return templates.section("presence")["questions"][0].format(name=finding_name)


def evidence_map(model, scan: Scan, finding_name: str) -> EvidenceMap:
    """Grad-CAM of `model` (a RetinaVLM) on `scan` for the presence of `finding_name`."""
    question = presence_question(finding_name)
    pixel_values = model.processor.preprocess(scan).unsqueeze(0)
    batch = model.processor([f"{IMAGE_PLACEHOLDER}\n{question}"], images=pixel_values)
    yes, no = (model.processor.tokenizer.encode(word, add_special_tokens=False)[0] for word in ("Yes", "No"))
    with torch.no_grad():
        features = model.encode_images(pixel_values)
    features = features.detach().float().requires_grad_(True)
    with torch.enable_grad():
        logits = model(batch["input_ids"], batch["attention_mask"], image_features=features).logits[0, -1].float()
        margin = logits[yes] - logits[no]
        (gradient,) = torch.autograd.grad(margin, features)
    weights = gradient[0].mean(dim=0)  # channel importance: gradient averaged over the grid
    cam = torch.relu(features[0].detach() @ weights).reshape(model.encoder.grid).cpu().numpy()
    peak = float(cam.max())
    heat = cam / peak if peak > 0 else np.zeros_like(cam)
    config = model.config.encoder
    view = np.clip(pixel_values[0, 0].numpy() * config.pixel_std + config.pixel_mean, 0.0, 1.0)
    return EvidenceMap(
        heat.astype(np.float32), view.astype(np.float32), question, float(torch.sigmoid(margin.detach()))
    )
