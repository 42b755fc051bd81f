"""An ElevenLabs-compatible subset at ElevenLabs' own paths (`/v1/text-to-speech`, `/v1/voices`),
so code written against the `elevenlabs` SDK works by changing its base URL (see README)."""
