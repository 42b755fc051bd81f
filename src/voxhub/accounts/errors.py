"""Refusals of the accounts domain (mapped to HTTP by their base classes)."""

from voxhub.core.errors import Forbidden


class SignupClosed(Forbidden):
    """Sign-up is closed on this instance (VOXHUB_SIGNUP=closed): an admin creates accounts."""

    code = "signup_closed"
    title = "Sign-up is closed"
