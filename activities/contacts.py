"""Contact methods as they may appear in histories and the UI: never with their secrets."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from workflows.config import BUILTIN_METHODS, Person

# Schemes whose host part is a plain network address. Other Apprise schemes often put a
# token where a host would be (pover://user@TOKEN, slack://TokenA/…), so they show none.
_ADDRESS_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms", "http", "https"})


def contact_label(method: str) -> str:
    """A name for a contact method that is safe to store, show and log.

    ``console``/``email``/``slack`` stay as they are. A URL becomes its scheme, its host and
    port when the scheme is a plain webhook, and a short fingerprint of the whole URL, so
    two URLs on one host stay distinct: ``json://127.0.0.1:9000/… #3fa2c1``,
    ``pover://… #9b1d07``. Credentials, paths and tokens never appear.
    """
    if method in BUILTIN_METHODS:
        return method
    parts = urlsplit(method)
    scheme = parts.scheme.lower()
    fingerprint = hashlib.sha256(method.encode()).hexdigest()[:6]
    where = ""
    if scheme in _ADDRESS_SCHEMES:
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            port = ""
        where = f"{parts.hostname or ''}{port}/"
    return f"{scheme}://{where}… #{fingerprint}"


def find_contact(person: Person, label: str) -> str | None:
    """The person's contact method whose label is ``label``, if they still have one."""
    rules = [rule.via for rule in person.notify or []]
    for method in [*person.contact, *(person.low_urgency_contact or []), *rules]:
        if contact_label(method) == label:
            return method
    return None
