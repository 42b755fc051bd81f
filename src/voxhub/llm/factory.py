"""Choose the LLM backend from settings (`VOXHUB_LLM_BACKEND`)."""

from __future__ import annotations

from voxhub.llm.port import LLM
from voxhub.settings import LlmSettings


def open_llm(settings: LlmSettings) -> LLM:
    """The configured backend, not loaded yet (loading the embedded model takes seconds)."""
    if settings.llm_backend == "openai":
        from voxhub.llm.openai_compat import OpenAICompatLLM

        return OpenAICompatLLM(settings)
    from voxhub.llm.embedded import EmbeddedLLM

    return EmbeddedLLM(settings)
