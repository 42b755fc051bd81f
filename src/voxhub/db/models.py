"""Import every table so metadata (and Alembic autogenerate) sees them all."""

from voxhub.jobs.models import Job
from voxhub.synthesis.models import Generation
from voxhub.voices.models import Voice, VoiceProfileRow, VoiceReference

__all__ = ["Generation", "Job", "Voice", "VoiceProfileRow", "VoiceReference"]
