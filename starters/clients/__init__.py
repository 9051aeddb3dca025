"""One typed client per workflow: the only starter code that imports a workflow class.

Each module speaks to one workflow (:mod:`.pages`, :mod:`.incidents`, :mod:`.rotations`,
:mod:`.shifts`) with one method per thing it can be told or asked (starting it, its
signals, updates and queries), each taking and returning that call's pydantic model.
Failures come out as :mod:`starters.errors`, translated in one place
(:mod:`starters.updates`). Everything else in ``starters/``, ``worker/`` and ``bench/`` goes
through these clients (``tests/unit/test_layout.py`` holds the line).
"""
