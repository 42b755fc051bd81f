"""Refusals of the pronunciation domain (mapped to HTTP by their base classes)."""

from voxhub.core.errors import Conflict, InvalidInput, NotFound


class DictionaryNotFound(NotFound):
    code = "pronunciation_dictionary_not_found"
    title = "Pronunciation dictionary not found"


class PhonemesUnsupported(InvalidInput):
    """The text uses a phoneme rule and the engine speaking it takes no phonemes."""

    code = "phonemes_unsupported"
    title = "Engine takes no phonemes"


class DictionaryVersionConflict(Conflict):
    """A request pinned a dictionary to a version it has moved on from (only the current one is
    kept), or two changes to one dictionary raced and this one lost."""

    code = "pronunciation_dictionary_version_conflict"
    title = "Dictionary changed"
