"""Refusals of the safety domain: consent and the no-go list (mapped to HTTP by their base
classes)."""

from voxhub.core.errors import Conflict, Forbidden, InvalidInput, NotFound


class ConsentPhraseNotFound(NotFound):
    """No consent phrase with that id was issued to the caller (another user's reads the same)."""

    code = "consent_phrase_not_found"
    title = "Consent phrase not found"


class BlockedVoiceNotFound(NotFound):
    code = "blocked_voice_not_found"
    title = "Blocked voice not found"


class ConsentRequired(InvalidInput):
    """A clone without the consent its upload must carry: the attestation (`consent`), or under
    the spoken policy the consent phrase id or its recording."""

    code = "consent_required"
    title = "Consent required"


class ConsentMismatch(InvalidInput):
    """The consent recording does not say the phrase (too many wrong words, or not its code)."""

    code = "consent_mismatch"
    title = "Consent recording does not match the phrase"


class SpeakerMismatch(InvalidInput):
    """The voice reading the consent phrase is not the voice of the reference."""

    code = "speaker_mismatch"
    title = "Consent speaker is not the reference speaker"


class VoiceBlocked(Forbidden):
    """A reference whose speaker is on the instance's no-go list. The answer never says which
    entry matched, nor how closely: that would tell anyone who is on the list."""

    code = "voice_blocked"
    title = "This voice may not be cloned here"


class StandingConsentRequired(Forbidden):
    """An upload through a face with no consent field (the seeds', ElevenLabs') by a caller
    who has not recorded a standing attestation: schema-valid, refused for the caller's state."""

    code = "consent_required"
    title = "Standing consent attestation required"


class ConsentPhraseUsed(Conflict):
    """The consent phrase already consented to a voice: each phrase is good for one."""

    code = "consent_phrase_used"
    title = "Consent phrase already used"


class ConsentPhraseExpired(Conflict):
    """The consent phrase was issued more than its lifetime ago: ask for a new one."""

    code = "consent_phrase_expired"
    title = "Consent phrase expired"


class StandingConsentNotFound(NotFound):
    """A withdrawal with no standing attestation in force (never given, or withdrawn already):
    nothing is recorded, so the answer says so rather than pretending it withdrew something."""

    code = "standing_consent_not_found"
    title = "No standing consent attestation in force"
