"""API credentials: tokens with kinds and scopes, stored hashed, resolved to principals.

- :mod:`.tokens`: the ``tocsin_<id>_<secret>`` format and argon2 hashing;
- :mod:`.principal`: :class:`Principal`, who a request's credential says is calling;
- :mod:`.verify`: :class:`Authenticator`, token to principal (bootstrap token, or a
  stored credential; revocation checked on every request, argon2 results cached);
- :mod:`.issue`: creating, listing and revoking, the same rules for the API and the CLI.

The kinds and scopes themselves are :class:`activities.credential_models.Kind` and
:class:`~activities.credential_models.Scope`.
"""

from activities.credential_models import Kind, Scope
from starters.credentials.principal import BOOTSTRAP, Principal
from starters.credentials.verify import Authenticator

__all__ = ["BOOTSTRAP", "Authenticator", "Kind", "Principal", "Scope"]
