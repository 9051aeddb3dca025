"""Tocsin as a Slack app (slack-bolt, async): commands, interactivity, mounted in FastAPI."""
