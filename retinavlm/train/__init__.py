"""Curriculum runner, trainer, frozen-encoder feature cache and checkpoints."""
