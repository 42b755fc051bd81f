"""Accounts: users, passwords, access and refresh tokens, API keys, roles."""
