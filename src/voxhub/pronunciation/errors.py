"""Refusals of the pronunciation domain (mapped to HTTP by their base classes)."""

from voxhub.core.errors import InvalidInput, NotFound


class DictionaryNotFound(NotFound):
    code = "pronunciation_dictionary_not_found"
    title = "Pronunciation dictionary not found"


class PhonemesUnsupported(InvalidInput):
    """The text uses a phoneme rule and the engine speaking it takes no phonemes."""

    code = "phonemes_unsupported"
    title = "Engine takes no phonemes"


class DictionaryVersionGone(InvalidInput):
    """A request named a dictionary version other than its current one (only that one is kept)."""

    code = "pronunciation_dictionary_version_unavailable"
    title = "Dictionary version unavailable"
