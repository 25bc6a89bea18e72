"""The search expressions: shared by the GIN indexes in tasks/models.py and the queries that must
match them (TaskQuerySet.search / contains_text, the admin's search box).

Its own module so that models.py and querysets.py both import it, and not each other.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat

# Full-text search configuration; the GIN index and the search query must use the same one,
# or PostgreSQL cannot match the query's expression to the index.
SEARCH_CONFIG = "english"


def task_search_vector():
    """The tsvector the full-text GIN index is built on; TaskQuerySet.search() reuses it."""
    return SearchVector("title", "description", config=SEARCH_CONFIG)


def task_search_text():
    """The text the trigram GIN index is built on; substring search filters on this expression."""
    return Concat("title", Value(" "), "description", output_field=models.TextField())
