"""Engines that run elsewhere: a provider's HTTP API behind voxhub's `Engine` port."""
