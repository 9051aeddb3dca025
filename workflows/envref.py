"""``${NAME}`` references in config values (contact URLs, integration keys).

Pure: the caller passes the environment, so config can name secrets without holding them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingVariable(LookupError):
    """A referenced environment variable is not set."""


def expand(text: str, environ: Mapping[str, str]) -> str:
    """Replace every ``${NAME}`` with its value in ``environ``.

    Raises:
        MissingVariable: a referenced variable is not set (the message names it).
    """
    missing = [name for name in _VAR.findall(text) if name not in environ]
    if missing:
        raise MissingVariable(f"environment variable {', '.join(missing)} is not set")
    return _VAR.sub(lambda m: environ[m.group(1)], text)
