"""Chainable task filters. Each one keeps the query on an index declared in tasks/models.py."""

from __future__ import annotations

from datetime import datetime

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import models
from django.db.models import F

from tasks.keyset import keyset_before
from tasks.search import SEARCH_CONFIG, task_search_text, task_search_vector

__all__ = ["TaskQuerySet", "keyset_before"]


class TaskQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(owner_id=user.pk)

    def newest_first(self):
        # Matches task_owner_*_created_idx / task_created_idx (created_at DESC, id DESC).
        return self.order_by("-created_at", "-id")

    def before(self, created_at: datetime, pk: int):
        return self.filter(keyset_before(self.model._meta.db_table, created_at, pk))

    def filtered(self, *, completed=None, priority=None, due_before=None, due_after=None):
        qs = self
        if completed is not None:
            qs = qs.filter(completed=completed)
        if priority is not None:
            qs = qs.filter(priority=priority)
        if due_before is not None:
            qs = qs.filter(due_date__lt=due_before)
        if due_after is not None:
            qs = qs.filter(due_date__gte=due_after)
        return qs

    def search(self, q: str):
        """Full-text: the expression of task_search_fts_idx, best matches first."""
        query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
        return (
            self.alias(search_vector=task_search_vector())
            .filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "-id")
        )

    def contains_text(self, q: str):
        """Substring: UPPER(title || ' ' || description) LIKE UPPER('%q%'), which is exactly the
        expression of task_search_trgm_idx."""
        return self.alias(search_text=task_search_text()).filter(search_text__icontains=q)
