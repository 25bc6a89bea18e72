"""Sends perfaudit's history tables to PERFAUDIT["HISTORY_DATABASE"] (docs/perfaudit.md,
"History"): add ``"perfaudit.routers.HistoryRouter"`` to settings.DATABASE_ROUTERS when history
lives on a database of its own, then ``manage.py migrate --database <alias>`` creates them there
(and ``migrate`` on the others leaves them out). perfaudit's code names the alias itself
(``using=``), so reads and writes go there with or without the router."""

from __future__ import annotations

from perfaudit.conf import get_settings

HISTORY_MODELS = frozenset(
    {"capture", "capturedstatement", "capturedplan", "statementsample", "relationsample"}
)


class HistoryRouter:
    def _is_history(self, app_label, model_name) -> bool:
        return app_label == "perfaudit" and (model_name or "") in HISTORY_MODELS

    def db_for_read(self, model, **hints):
        if self._is_history(model._meta.app_label, model._meta.model_name):
            return get_settings().HISTORY_DATABASE
        return None

    db_for_write = db_for_read

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        alias = get_settings().HISTORY_DATABASE
        if alias is None or not self._is_history(app_label, model_name):
            return None
        return db == alias
