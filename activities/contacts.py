"""Contact methods as they may appear in histories and the UI: never with their secrets."""

from __future__ import annotations

from urllib.parse import urlsplit

from workflows.config import BUILTIN_METHODS, Person


def contact_label(method: str) -> str:
    """``console``/``email``/``slack`` as they are; a URL reduced to scheme, host and port.

    Apprise URLs often carry tokens or passwords in the user part or the path, so the
    label keeps neither (``mailto://user:pw@host`` → ``mailto://host/…``).
    """
    if method in BUILTIN_METHODS:
        return method
    parts = urlsplit(method)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}/…"


def find_contact(person: Person, label: str) -> str | None:
    """The person's contact method whose label is ``label``, if they still have one."""
    for method in person.contact:
        if contact_label(method) == label:
            return method
    return None
