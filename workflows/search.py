"""Custom search attributes Tocsin upserts so the Temporal Web UI can filter its workflows.

Every attribute is a Keyword; the dev server, the docker-compose namespace step and the
tests all register exactly :data:`SEARCH_ATTRIBUTE_NAMES`.
"""

from temporalio.common import SearchAttributeKey

KIND = SearchAttributeKey.for_keyword("TocsinKind")
TEAM = SearchAttributeKey.for_keyword("TocsinTeam")
SERVICE = SearchAttributeKey.for_keyword("TocsinService")
SEVERITY = SearchAttributeKey.for_keyword("TocsinSeverity")
STATUS = SearchAttributeKey.for_keyword("TocsinStatus")
LEAD = SearchAttributeKey.for_keyword("TocsinLead")

ALL_KEYS = (KIND, TEAM, SERVICE, SEVERITY, STATUS, LEAD)
SEARCH_ATTRIBUTE_NAMES: tuple[str, ...] = tuple(key.name for key in ALL_KEYS)
