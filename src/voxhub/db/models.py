"""Import every table so metadata (and Alembic autogenerate) sees them all."""

from voxhub.accounts.models import ApiKey, RefreshToken, User
from voxhub.audit.models import AuditEvent
from voxhub.jobs.models import Job
from voxhub.security.idempotency_models import IdempotencyRecord
from voxhub.synthesis.models import Generation
from voxhub.voices.models import Voice, VoiceProfileRow, VoiceReference

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Generation",
    "IdempotencyRecord",
    "Job",
    "RefreshToken",
    "User",
    "Voice",
    "VoiceProfileRow",
    "VoiceReference",
]
