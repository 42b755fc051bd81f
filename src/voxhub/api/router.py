"""Every router, in one tree."""

from __future__ import annotations

from fastapi import APIRouter

from voxhub.accounts.router import router as accounts
from voxhub.accounts.web_router import router as web_sign_in
from voxhub.activities.router import router as activities
from voxhub.ambience.router import router as ambience
from voxhub.audit.router import router as audit
from voxhub.characters.router import router as characters
from voxhub.chats.router import router as chats
from voxhub.compat.elevenlabs.speech import router as elevenlabs_speech
from voxhub.compat.elevenlabs.stream_input import router as elevenlabs_stream_input
from voxhub.compat.elevenlabs.voices import router as elevenlabs_voices
from voxhub.compat.openai_api import router as openai_speech
from voxhub.compat.seed000 import router as seed000
from voxhub.compat.seed000_echo import router as seed000_echo
from voxhub.compat.seed001 import router as seed001
from voxhub.compat.seed001_activities import router as seed001_activities
from voxhub.compat.seed001_characters import router as seed001_characters
from voxhub.compat.seed001_scripts import router as seed001_scripts
from voxhub.compat.seed001_video import router as seed001_video
from voxhub.compat.seed002 import router as seed002
from voxhub.compat.seed004 import router as seed004
from voxhub.credits.router import router as credits
from voxhub.engines.router import router as engines
from voxhub.jobs.router import router as jobs
from voxhub.pronunciation.router import router as pronunciation
from voxhub.renders.router import router as renders
from voxhub.safety.blocklist_router import router as blocked_voices
from voxhub.safety.consent_router import router as consent
from voxhub.safety.detect_router import router as detection
from voxhub.safety.standing_router import router as standing_consent
from voxhub.scripts.router import router as scripts
from voxhub.security.deps import limited
from voxhub.synthesis.router import router as speech
from voxhub.voices.router import router as voices
from voxhub.webhooks.router import router as webhooks

api_router = APIRouter()
for router in (
    accounts,
    web_sign_in,
    voices,
    consent,
    standing_consent,
    characters,
    chats,
    scripts,
    activities,
    renders,
    speech,
    pronunciation,
    ambience,
    jobs,
    credits,
    webhooks,
    engines,
    audit,
    detection,
    blocked_voices,
    seed000,
    seed000_echo,
    seed001,
    seed001_characters,
    seed001_scripts,
    seed001_activities,
    seed001_video,
    openai_speech,
):
    api_router.include_router(router, dependencies=[limited("default")])
api_router.include_router(seed002)  # limits per route there: /health stays unlimited
api_router.include_router(seed004)  # limits per route; HMAC routes limit per caller
# ElevenLabs' paths; limits per route there (speech as `tts`, cloning as `clone`).
api_router.include_router(elevenlabs_speech)
api_router.include_router(elevenlabs_voices)
api_router.include_router(elevenlabs_stream_input)  # a WebSocket: counted as one `tts` request
