"""voxhub: self-hostable voice cloning and speech."""

__version__ = "0.1.0"
