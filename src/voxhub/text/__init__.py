"""Text preparation for speech: clean-up, English expansion, sentence and clause splitting.

Every step is linear in the length of its input (see the comments on the patterns): what any
text costs to plan grows with its length, whatever its shape.
"""

from voxhub.text.normalize import expand_english, normalize_text
from voxhub.text.split import split_clauses, split_sentences
from voxhub.text.spoken import spoken_text

__all__ = ["expand_english", "normalize_text", "split_clauses", "split_sentences", "spoken_text"]
