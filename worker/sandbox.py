"""The workflow sandbox Tocsin's workers and replayers run in.

The SDK (1.35) asks a sandboxed workflow for the *serialization context* of every payload
it encodes or decodes, three passes each way, and answers each question by compiling and
``exec``-ing a snippet inside the sandbox with its import hooks applied. On a page's
escalation that was a fifth of the worker's CPU (py-spy, ``bench/escalation_lateness.py
--pages 400 --mode aligned``). The answer is a pure read of the workflow's info and its
pending commands (no import, no user code), so :class:`ContextReadingRunner` reads it
directly from the sandboxed instance. Everything the workflow code itself runs stays in
the sandbox as before.

Private SDK names are used here and only here; ``temporalio`` is pinned in pyproject.toml
and ``tests/unit/test_sandbox_runner.py`` checks that the answers match the SDK's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio.converter import SerializationContext
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

# The name under which the SDK keeps the sandboxed instance (its InSandbox) in the
# sandbox's globals.
_IN_SANDBOX = "__temporal_in_sandbox"


class _ContextReadingInstance(_Instance):
    """A sandboxed workflow instance that answers context questions without ``exec``."""

    def get_serialization_context(self, command_info: Any) -> SerializationContext | None:
        found: Any = self.globals_and_locals.get(_IN_SANDBOX)
        if found is None:  # not created yet: the SDK's way
            return super().get_serialization_context(command_info)
        context: SerializationContext | None = found.get_serialization_context(command_info)
        return context

    def get_external_store_context(self, command_info: Any) -> Any:
        found: Any = self.globals_and_locals.get(_IN_SANDBOX)
        if found is None:
            return super().get_external_store_context(command_info)
        return found.get_external_store_context(command_info)


@dataclass(frozen=True)
class ContextReadingRunner(SandboxedWorkflowRunner):
    """:class:`SandboxedWorkflowRunner` whose instances read serialization contexts directly."""

    def create_instance(self, det: Any) -> Any:
        return _ContextReadingInstance(det, self.runner_class, self.restrictions)
