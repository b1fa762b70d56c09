"""RetinaVLM toolkit: OCT encoder + projection adapter + Llama 3, staged curricula, clinical grading."""

__version__ = "0.1.0"
