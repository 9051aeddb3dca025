"""Any Apprise URL (json://, mailto://, ntfy://, …) through the ``apprise`` library.

URLs may reference environment variables as ``${NAME}`` so tokens stay out of the
config file; they are expanded here, at send time, and never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import apprise

from activities.contacts import contact_label
from activities.errors import NotConfigured, Rejected, Unavailable
from activities.ports import Message
from workflows.config import Person
from workflows.envref import MissingVariable
from workflows.envref import expand as expand_references


def expand(url: str, environ: Mapping[str, str]) -> str:
    """Replace ``${NAME}`` with the environment's value.

    Raises:
        NotConfigured: a referenced variable is not set.
    """
    try:
        return expand_references(url, environ)
    except MissingVariable as err:
        raise NotConfigured(str(err)) from None


class AppriseNotifier:
    """Delivers through Apprise; failures carry Apprise's reason with the URL redacted."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    async def send(self, person: Person, address: str, message: Message) -> str:
        url = expand(address, self._environ)
        label = contact_label(address)
        sender = apprise.Apprise()
        if not sender.add(url):
            raise Rejected(f"{label} is not a valid Apprise URL")
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]  # apprise leaves LogCapture unannotated
            ok = await sender.async_notify(body=message.body, title=message.subject)
            reason = captured.getvalue().strip().splitlines()[-1:] if not ok else []
        if not ok:
            detail = reason[0].split(" - ", 2)[-1] if reason else "delivery failed"
            raise Unavailable(f"{label}: {detail.replace(url, label)}")
        return label
