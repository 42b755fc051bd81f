"""Import every table so metadata (and Alembic autogenerate) sees them all."""

from voxhub.accounts.models import ApiKey, AuthSession, RefreshToken, User
from voxhub.audit.models import AuditEvent
from voxhub.jobs.models import Job
from voxhub.security.idempotency_models import IdempotencyRecord
from voxhub.security.signature_models import UsedSignature
from voxhub.storage.models import BlobDeletion
from voxhub.synthesis.models import Generation
from voxhub.voices.models import Voice, VoiceProfileRow, VoiceReference

__all__ = [
    "ApiKey",
    "AuditEvent",
    "AuthSession",
    "BlobDeletion",
    "Generation",
    "IdempotencyRecord",
    "Job",
    "RefreshToken",
    "UsedSignature",
    "User",
    "Voice",
    "VoiceProfileRow",
    "VoiceReference",
]
