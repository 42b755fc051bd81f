"""Blob storage behind one port: a local folder, S3-compatible stores, or memory (tests)."""
