"""Which work the task queue hands out first when it is backlogged (Temporal task priority:
1 goes first, 3 is the default, 5 goes last).

In a surge every escalation falls due at once while alerts keep arriving, rotations hand
off and chat cards are updated. What makes a page reach a human goes first: the
notification itself, then the page's workflow tasks (its timer firing, its next step).
Incidents, rotations and shifts keep the default; a page's channel card and its archive
are courtesy work and wait behind everything else.
"""

from __future__ import annotations

from temporalio.common import Priority

# A person's notification (an activity of a page).
NOTIFY = Priority(priority_key=1)
# A page's workflow tasks: its activities inherit this unless they set their own.
PAGE = Priority(priority_key=2)
# The team channel's card and the archive of a long-lived page.
COURTESY = Priority(priority_key=4)
