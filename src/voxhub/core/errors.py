"""Domain errors. They know nothing of HTTP; `voxhub.api.errors` maps each class to a status once.

Tree (each leaf has a stable `code` that clients may rely on):

    VoxhubError
    ├── NotFound                      not_found
    │   ├── VoiceNotFound             voice_not_found
    │   ├── GenerationNotFound        generation_not_found
    │   ├── TimingsNotFound           timings_not_found
    │   ├── JobNotFound               job_not_found
    │   ├── UserNotFound              user_not_found
    │   ├── CharacterNotFound         character_not_found
    │   ├── ChatNotFound              chat_not_found
    │   ├── ChatMessageNotFound       chat_message_not_found
    │   ├── ImageNotFound             image_not_found
    │   ├── AudioFileNotFound         audio_file_not_found
    │   └── EngineNotFound            engine_not_found
    ├── InvalidInput                  invalid_input
    │   ├── PayloadTooLarge           payload_too_large
    │   │   ├── TooManyFiles          too_many_files
    │   │   ├── TooManyFields         too_many_fields
    │   │   ├── PartTooLarge          part_too_large
    │   │   ├── ImageTooLarge         image_too_large
    │   │   └── VideoTooLarge         video_too_large
    │   ├── InvalidMultipart          invalid_multipart
    │   ├── InvalidCursor             invalid_cursor
    │   ├── UnstorableText            invalid_characters
    │   ├── TextTooLong               text_too_long
    │   ├── UnsupportedMediaType      unsupported_media_type
    │   │   ├── NotAnImage            unsupported_media_type
    │   │   └── NotAVideo             unsupported_media_type
    │   ├── ImageUndecodable          image_undecodable
    │   ├── ImageTooManyPixels        image_too_many_pixels
    │   ├── VideoUndecodable          video_undecodable
    │   ├── VideoTooLong              video_too_long
    │   ├── VideoTooManyPixels        video_too_many_pixels
    │   ├── AudioUndecodable          audio_undecodable
    │   ├── AudioTooLong              audio_too_long
    │   ├── AudioParametersRejected   audio_parameters_rejected
    │   ├── NotEnoughSpeech           not_enough_speech
    │   ├── InvalidText               invalid_text
    │   ├── UnknownBed                unknown_bed
    │   ├── BedChoice                 bed_choice
    │   ├── CallbackNotAllowed        callback_url_not_allowed
    │   └── CharacterVoiceless        character_has_no_voice
    ├── Unauthenticated               unauthenticated
    │   ├── InvalidCredentials        invalid_credentials
    │   └── InvalidTokenError         invalid_token
    ├── Forbidden                     forbidden
    ├── NotAcceptable                 not_acceptable
    ├── PaymentRequired               payment_required
    │   └── InsufficientCredits       insufficient_credits
    ├── RateLimited                   rate_limited
    │   └── JobLimitReached           job_limit_reached
    ├── Conflict                      conflict
    │   ├── IdempotencyInFlight       idempotency_key_in_flight
    │   ├── JobStateConflict          job_state_conflict
    │   └── NothingToAnswer           nothing_to_answer
    ├── EngineFailure                 engine_failure
    │   ├── EngineUnavailable         engine_unavailable
    │   ├── EngineRejected            engine_failure
    │   ├── EngineAuthFailed          engine_auth_failed
    │   └── EngineTimeout             engine_timeout
    └── LlmFailure                    llm_failure
        ├── LlmUnavailable            llm_unavailable
        └── LlmBadOutput              llm_bad_output
"""

from __future__ import annotations

from typing import Any


class VoxhubError(Exception):
    """Base of every error voxhub raises on purpose."""

    code = "error"
    title = "Error"

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        super().__init__(message or self.title)
        self.message = message or self.title
        self.extra = extra


class NotFound(VoxhubError):
    code = "not_found"
    title = "Not found"


class VoiceNotFound(NotFound):
    code = "voice_not_found"
    title = "Voice not found"


class GenerationNotFound(NotFound):
    code = "generation_not_found"
    title = "Generation not found"


class TimingsNotFound(NotFound):
    """A generation recorded without word timings (before they were kept, or their blob could
    not be stored)."""

    code = "timings_not_found"
    title = "Timings not found"


class JobNotFound(NotFound):
    code = "job_not_found"
    title = "Job not found"


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "User not found"


class EngineNotFound(NotFound):
    code = "engine_not_found"
    title = "Engine not found"


class CharacterNotFound(NotFound):
    code = "character_not_found"
    title = "Character not found"


class ChatNotFound(NotFound):
    code = "chat_not_found"
    title = "Chat not found"


class ChatMessageNotFound(NotFound):
    code = "chat_message_not_found"
    title = "Chat message not found"


class ImageNotFound(NotFound):
    code = "image_not_found"
    title = "Image not found"


class AudioFileNotFound(NotFound):
    """A static audio path (seed 001) that names no voice the caller may hear."""

    code = "audio_file_not_found"
    title = "Audio file not found"


class InvalidInput(VoxhubError):
    code = "invalid_input"
    title = "Invalid input"


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"
    title = "Payload too large"


class TooManyFiles(PayloadTooLarge):
    code = "too_many_files"
    title = "Too many files"


class TooManyFields(PayloadTooLarge):
    code = "too_many_fields"
    title = "Too many form fields"


class PartTooLarge(PayloadTooLarge):
    code = "part_too_large"
    title = "Form field too large"


class ImageTooLarge(PayloadTooLarge):
    """An image file over the byte cap, refused before it is decoded."""

    code = "image_too_large"
    title = "Image too large"


class InvalidMultipart(InvalidInput):
    code = "invalid_multipart"
    title = "Malformed form body"


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
    title = "Invalid cursor"


class UnstorableText(InvalidInput):
    code = "invalid_characters"
    title = "Text cannot be stored"


class TextTooLong(InvalidInput):
    code = "text_too_long"
    title = "Text too long"


class UnsupportedMediaType(InvalidInput):
    code = "unsupported_media_type"
    title = "Not an audio or video file"


class NotAnImage(UnsupportedMediaType):
    """Not a PNG, JPEG, GIF or WebP image: the same code as other unsupported media."""

    title = "Not a supported image"


class ImageUndecodable(InvalidInput):
    """A supported image format whose data does not decode (truncated, corrupt)."""

    code = "image_undecodable"
    title = "Image could not be decoded"


class ImageTooManyPixels(InvalidInput):
    """Dimensions over the pixel cap, read from the header before decoding (decompression bombs)."""

    code = "image_too_many_pixels"
    title = "Image has too many pixels"


class VideoTooLarge(PayloadTooLarge):
    """A video file over the byte cap, refused before it is opened."""

    code = "video_too_large"
    title = "Video too large"


class NotAVideo(UnsupportedMediaType):
    """Not a video container with a picture stream (audio only, a still image, other data)."""

    title = "Not a supported video"


class VideoUndecodable(InvalidInput):
    """A video container whose pictures do not decode (truncated, corrupt)."""

    code = "video_undecodable"
    title = "Video could not be decoded"


class VideoTooLong(InvalidInput):
    code = "video_too_long"
    title = "Video too long"


class VideoTooManyPixels(InvalidInput):
    """Frame dimensions over the pixel cap, read from the header before any frame is decoded."""

    code = "video_too_many_pixels"
    title = "Video has too many pixels"


class AudioUndecodable(InvalidInput):
    code = "audio_undecodable"
    title = "Audio could not be decoded"


class AudioTooLong(InvalidInput):
    code = "audio_too_long"
    title = "Audio too long"


class AudioParametersRejected(InvalidInput):
    code = "audio_parameters_rejected"
    title = "Audio parameters out of range"


class NotEnoughSpeech(InvalidInput):
    code = "not_enough_speech"
    title = "Not enough speech"


class UnknownBed(InvalidInput):
    """An ambience bed name that is not in the library."""

    code = "unknown_bed"
    title = "Unknown ambience bed"


class BedChoice(InvalidInput):
    """A mix names no bed, or both a library bed and an uploaded one."""

    code = "bed_choice"
    title = "Give exactly one bed"


class InvalidText(InvalidInput):
    code = "invalid_text"
    title = "Invalid text"


class CallbackNotAllowed(InvalidInput):
    """A webhook destination that is malformed or points inside the network."""

    code = "callback_url_not_allowed"
    title = "Callback URL not allowed"


class Unauthenticated(VoxhubError):
    code = "unauthenticated"
    title = "Authentication required"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    title = "Wrong email or password"


class InvalidTokenError(Unauthenticated):
    code = "invalid_token"
    title = "Invalid token"


class Forbidden(VoxhubError):
    code = "forbidden"
    title = "Forbidden"


class CsrfFailed(Forbidden):
    """A cookie-signed-in request that changes state without the session's X-CSRF-Token."""

    code = "csrf_failed"
    title = "Missing or wrong CSRF token"


class NotAcceptable(VoxhubError):
    """The request's `Accept` header names none of the media types the route can answer with;
    `extra["available"]` lists those it can."""

    code = "not_acceptable"
    title = "No acceptable representation"


class RateLimited(VoxhubError):
    code = "rate_limited"
    title = "Too many requests"


class JobLimitReached(RateLimited):
    """Too many of the caller's jobs are queued or running; `retry_after` says when to try."""

    code = "job_limit_reached"
    title = "Too many jobs"


class PaymentRequired(VoxhubError):
    code = "payment_required"
    title = "Payment required"


class InsufficientCredits(PaymentRequired):
    """The balance cannot cover the operation; `extra` names the cost and the balance."""

    code = "insufficient_credits"
    title = "Insufficient credits"


class Conflict(VoxhubError):
    code = "conflict"
    title = "Conflict"


class CharacterVoiceless(InvalidInput):
    """A spoken reply was asked of a character whose voice is gone (or it never had one)."""

    code = "character_has_no_voice"
    title = "Character has no voice"


class NothingToAnswer(Conflict):
    """A reply was asked for, but the thread's last message is already answered."""

    code = "nothing_to_answer"
    title = "Nothing to answer"


class JobStateConflict(Conflict):
    """The job is not in a state that allows this (cancel a finished job, retry a running one)."""

    code = "job_state_conflict"
    title = "Job state does not allow this"


class IdempotencyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    title = "Idempotency key in use"


class EngineFailure(VoxhubError):
    code = "engine_failure"
    title = "Engine failure"


class EngineUnavailable(EngineFailure):
    code = "engine_unavailable"
    title = "Engine unavailable"


class EngineRejected(EngineFailure):
    """A remote engine refused the request (a 4xx other than auth or rate limits); the message
    is the provider's, with any key removed."""

    code = "engine_failure"
    title = "Engine refused the request"


class EngineAuthFailed(EngineFailure):
    """A remote engine refused voxhub's credentials: the operator's key is wrong or revoked."""

    code = "engine_auth_failed"
    title = "Engine refused the credentials"


class EngineTimeout(EngineFailure):
    """A remote engine did not answer (or stopped sending) within the configured timeout."""

    code = "engine_timeout"
    title = "Engine timed out"


class LlmFailure(VoxhubError):
    code = "llm_failure"
    title = "Language model failure"


class LlmUnavailable(LlmFailure):
    """The language model cannot answer now (loading, endpoint down or slow); `retry_after` says
    when to try again. A caller keeps what the user sent so the retry can answer it."""

    code = "llm_unavailable"
    title = "Language model unavailable"


class LlmBadOutput(LlmFailure):
    """The model answered, but not with what was asked (no valid JSON for the schema)."""

    code = "llm_bad_output"
    title = "Language model gave an unusable answer"
