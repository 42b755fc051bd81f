"""Dialogue to MP4: caption cues, frame composition and encoding, background clip checks.

A pure library (no database, no HTTP); the video job calls it in a worker thread.
"""
