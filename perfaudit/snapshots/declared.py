"""What the project's models and migrations declare about indexes (catalog.declared reads it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from perfaudit.snapshots.base import Record


@dataclass(frozen=True)
class ModelRef(Record):
    """How a table maps to a Django model, so fixes can name the migration operation."""

    app_label: str
    model_name: str
    #: The model's class name, for messages ("Item.Meta.indexes").
    object_name: str = ""


@dataclass(frozen=True)
class IndexOrigin(Record):
    """Who made an index, which decides the migration that can change it.

    * ``field``: Django's own index for a field (ForeignKey, ``db_index=True``); ``like``: the
      ``_like`` pattern-ops index Django adds for a CharField/TextField with db_index or
      unique. No migration state names them: RemoveIndex* would fail ("No index named").
    * ``declared``: an entry of ``Meta.indexes`` (or a migration's AddIndex): in the app's
      migration state, so RemoveIndexConcurrently applies.
    * ``unique``: the index behind a field's ``unique=True`` or a ``unique_together`` entry
      (Django names the constraint itself; the migration state has no entry of that name).
    * ``runsql``: created by a migration's ``RunSQL`` (``migration`` names it): every fresh
      install creates it, no migration state knows it.
    * ``stray``: created by hand; no model, state or migration knows it.

    Decided by structure (table, key columns, opclass, uniqueness), never by name alone:
    RenameModel and RenameField keep the old index names (rules.indexes.origins).
    """

    kind: str
    model: ModelRef | None = None
    field: str | None = None  # the model field, for field / like / unique
    in_state: bool = False  # the app's migration state has an index of this name
    #: runsql: "app_label.migration_name" of the migration whose RunSQL creates it.
    migration: str | None = None

    @property
    def rank(self) -> int:
        """Between duplicates, the one to keep has the highest rank."""
        return {"declared": 3, "unique": 3, "field": 2, "like": 2, "runsql": 1}.get(self.kind, 0)

    @property
    def wanted(self) -> bool:
        """Something the project declares wants it: re-create it if it breaks."""
        return self.kind != "stray"


STRAY = IndexOrigin("stray")


@dataclass(frozen=True)
class ImplicitIndex(Record):
    """An index Django makes on its own for a field, by its shape on the table as it is now,
    and the name a ``migrate`` from zero gives it.

    ``kind``: ``field`` (ForeignKey, ``db_index=True``: one plain B-tree key), ``like`` (the
    pattern-ops B-tree of a CharField/TextField with db_index or unique), ``unique`` (the
    constraint of ``unique=True`` or a ``unique_together`` entry: its columns in order).
    """

    table: str
    columns: tuple[str, ...]
    kind: str
    model: ModelRef
    field: str
    #: The name ``migrate`` from zero gives it: Django names an index when it creates it, and
    #: RenameModel / RenameField / AlterModelTable keep that name.
    name: str
    #: like: varchar_pattern_ops or text_pattern_ops.
    opclass: str | None = None


@dataclass(frozen=True)
class MigrationIndex(Record):
    """An index a migration's RunSQL creates (parsed with PostgreSQL's parser)."""

    table: str
    name: str
    #: "app_label.migration_name".
    migration: str
    unique: bool = False


@dataclass(frozen=True)
class DeclaredIndex(Record):
    """A ``Meta.indexes`` entry or an index-backed ``Meta.constraints`` entry."""

    table: str
    name: str
    model: ModelRef
    method: str
    unique: bool
    #: One entry per key position: the column name, or None for an expression.
    columns: tuple[str | None, ...]
    descending: tuple[bool, ...]
    partial: bool
    include: tuple[str, ...]
    #: What Django's schema editor runs to create it (concurrently for an index).
    create_sql: str


@dataclass(frozen=True)
class DeclaredSchema(Record):
    """The models' side of an index audit, read in one walk of the app registry."""

    #: db_table -> model, for every managed model migrated on this database.
    models: dict[str, ModelRef] = field(default_factory=dict)
    #: Tables whose indexes the project cannot change through its own migrations:
    #: auto-created many-to-many tables and the models of apps installed as packages (Django's
    #: contrib, third-party apps) get their indexes from Django or the package; flagging them
    #: as warnings would fail CI on something no project migration can fix.
    unactionable: frozenset[str] = frozenset()
    #: Meta.indexes and index-backed Meta.constraints.
    indexes: tuple[DeclaredIndex, ...] = ()
    #: Every index name Django itself would create (field-level db_index, unique, FK get
    #: generated names) or that a migration declares (the migration state keeps indexes a
    #: migration created but a model no longer mentions).
    known_names: frozenset[str] = frozenset()
    #: (table, index name) -> who made it (absent: a stray).
    origins: dict[tuple[str, str], IndexOrigin] = field(default_factory=dict)
    #: (table, FK column names) -> (field names, the name Django gives
    #: models.Index(fields=[...]) on that model): missing-FK-index fixes use Django's own
    #: naming, so the name passes its 30-character check (models.E034).
    fk_index_names: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, ...], str]] = field(
        default_factory=dict
    )
    #: The indexes Django creates on its own for the models' fields, by shape.
    implicit: tuple[ImplicitIndex, ...] = ()
    #: The indexes the project's migrations create with RunSQL, still there at the last one.
    runsql: tuple[MigrationIndex, ...] = ()
    #: Tables of apps installed as packages (Django's contrib, third-party): table -> app label.
    package_apps: dict[str, str] = field(default_factory=dict)
