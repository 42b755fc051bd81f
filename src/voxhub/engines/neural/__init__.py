"""Neural zero-shot engines for GPU workers: F5-TTS, Chatterbox and Kyutai's pocket-tts.

Each is optional: its package comes with an extra (`voxhub[f5]`, `voxhub[chatterbox]`,
`voxhub[pocket]`; README, "Neural engines") and is imported in `load`, never when voxhub is,
so a process without it still starts and names what is missing when the engine is asked for.
"""
