"""Text preparation for speech: clean-up, English expansion, sentence and clause splitting."""

from voxhub.text.normalize import expand_english, normalize_text
from voxhub.text.split import split_clauses, split_sentences

__all__ = ["expand_english", "normalize_text", "split_clauses", "split_sentences"]
