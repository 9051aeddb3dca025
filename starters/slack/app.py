"""The Slack app: a bolt ``AsyncApp`` built by a factory, its listeners split by kind."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from starters.slack import incidents, pages, silences
from starters.slack.context import SlackContext


def create_slack_app(
    ctx: SlackContext, *, signing_secret: str | None, client: AsyncWebClient
) -> AsyncApp:
    """Build the app: every request's signature verified, listeners acking before work.

    Args:
        ctx: the Tocsin client and the config, shared by the listener modules.
        signing_secret: the app's signing secret; requests not signed with it get 401.
            None only for the Socket Mode app, whose connection Slack authenticates.
        client: the Web API client (its token is the bot token; ``SLACK_API_URL`` honoured).
    """
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=signing_secret is not None,
        process_before_response=False,
    )
    pages.register(app, ctx)
    incidents.register(app, ctx)
    silences.register(app, ctx)
    return app
