"""The web app: one page served by the API itself, plain ES modules, no build step."""
