"""How to run this very ``tocsin`` from where it was started: the command the ``tocsin dev``
banner, the notifications and the link pages print, so that it works when pasted.

After ``make run`` that is ``.venv/bin/tocsin`` (relative to the directory it was started
in, where the person reading it is); where ``tocsin`` is on the PATH (the Docker image, an
activated venv) plain ``tocsin``. Only the standard library: workflow code imports the
notify activity's module, which imports this one.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

PROGRAM = "tocsin"


def tocsin_command(
    argv0: str | None = None, cwd: Path | None = None, path: str | None = None
) -> str:
    """The ``tocsin`` command as a shell reads it, for this process (or ``argv0`` run in
    ``cwd`` with ``path`` as the PATH).

    A process that is not the ``tocsin`` program (tests, ``python -m``) says ``tocsin``:
    it cannot know where one is installed.
    """
    program = Path(sys.argv[0] if argv0 is None else argv0)
    if program.name != PROGRAM:
        return PROGRAM
    here = Path.cwd() if cwd is None else cwd
    target = (here / program).resolve()
    found = shutil.which(PROGRAM, path=os.environ.get("PATH") if path is None else path)
    if found is not None and (here / found).resolve() == target:
        return PROGRAM
    # Relative to where it was started, as long as that is not the root (a service's cwd,
    # where nobody pastes); the absolute path otherwise.
    if here.resolve() != Path(here.anchor):
        try:
            relative = target.relative_to(here.resolve())
        except ValueError:
            pass
        else:
            shown = str(relative) if relative.parent != Path() else f"./{relative}"
            return shlex.quote(shown)
    return shlex.quote(str(target))
