"""Import every table so metadata (and Alembic autogenerate) sees them all."""

from voxhub.accounts.models import ApiKey, AuthSession, RefreshToken, User
from voxhub.activities.models import Activity
from voxhub.audit.models import AuditEvent
from voxhub.characters.models import Character, CharacterImage, CharacterStar
from voxhub.chats.models import ChatMessageRow, ChatThread
from voxhub.credits.models import CreditEntry
from voxhub.jobs.models import Job, JobEvent
from voxhub.pronunciation.models import PronunciationDictionary
from voxhub.renders.models import LineTake, ScriptRender, VideoBackground
from voxhub.safety.blocklist_models import BlockedVoice
from voxhub.safety.challenge_models import ConsentChallenge
from voxhub.safety.consent_models import StandingConsent, VoiceConsent
from voxhub.safety.models import MarkedOutput
from voxhub.scripts.models import Script, ScriptLine
from voxhub.security.idempotency_models import IdempotencyRecord
from voxhub.security.signature_models import UsedSignature
from voxhub.storage.models import BlobDeletion
from voxhub.synthesis.models import Generation
from voxhub.voices.models import Voice, VoiceProfileRow, VoiceReference
from voxhub.webhooks.models import WebhookAttempt, WebhookDelivery

__all__ = [
    "Activity",
    "ApiKey",
    "AuditEvent",
    "AuthSession",
    "BlobDeletion",
    "BlockedVoice",
    "Character",
    "CharacterImage",
    "CharacterStar",
    "ChatMessageRow",
    "ChatThread",
    "ConsentChallenge",
    "CreditEntry",
    "Generation",
    "IdempotencyRecord",
    "Job",
    "JobEvent",
    "LineTake",
    "MarkedOutput",
    "PronunciationDictionary",
    "RefreshToken",
    "Script",
    "ScriptLine",
    "ScriptRender",
    "StandingConsent",
    "UsedSignature",
    "User",
    "VideoBackground",
    "Voice",
    "VoiceConsent",
    "VoiceProfileRow",
    "VoiceReference",
    "WebhookAttempt",
    "WebhookDelivery",
]
