"""The errors a training command reports as one line (bad config, cohort, checkpoint or model files)."""

from retinavlm.data.cohorts.sources import CohortSourceError
from retinavlm.knowledge import KnowledgeError
from retinavlm.model.checkpoint import CheckpointError
from retinavlm.model.config import ConfigError as ModelConfigError
from retinavlm.model.encoder import EncoderWeightsError
from retinavlm.model.llm import LLMLoadError
from retinavlm.train.checkpoint import ResumeError
from retinavlm.train.config import ConfigError
from retinavlm.train.records import CohortError

TRAINING_ERRORS = (
    ConfigError,
    ModelConfigError,
    CohortError,
    CohortSourceError,
    KnowledgeError,
    ResumeError,
    CheckpointError,
    EncoderWeightsError,
    LLMLoadError,
)
