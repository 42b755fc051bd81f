"""Voices: references, speaker embeddings and engine profiles of real people."""
