"""``tocsin import opsgenie DIR``: an Opsgenie account, saved from its REST API, as ``tocsin.yaml``.

- :mod:`.shapes`: the response bodies Opsgenie documents, as pydantic models;
- :mod:`.export`: the layout of DIR and reading it (errors name the file and the key);
- :mod:`.convert`: the whole conversion, pure: an :class:`~.export.Export` in, the config
  and the report out; :mod:`.people`, :mod:`.schedules`, :mod:`.escalations` and
  :mod:`.integrations` map one kind each;
- :mod:`.report`: what could not be mapped, and why, as Markdown;
- :mod:`.names`: Tocsin ids made from Opsgenie names; time zone names.
"""
