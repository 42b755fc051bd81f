"""Pronunciation dictionaries: per-user rules that respell words or give their phonemes."""
