"""Hand-built catalog dataclasses for the pure rule tests."""

from perfaudit.snapshots.indexes import IndexColumn, IndexInfo

BTREE_INT8 = 3124  # int8_ops
BTREE_BOOL = 424


def col(attnum, name, *, desc=False, opclass=BTREE_INT8, width=8):
    return IndexColumn(
        attnum=attnum,
        name=name,
        opclass=opclass,
        opclass_name="int8_ops",
        collation=0,
        option=1 if desc else 0,
        avg_width=width,
    )


def index(name, *columns, table="t", **kw):
    kw.setdefault("oid", abs(hash(name)) % 100000)
    return IndexInfo(
        schema=kw.pop("schema", "public"),
        table=table,
        name=name,
        method=kw.pop("method", "btree"),
        columns=tuple(columns),
        **kw,
    )


def server_info(*, stats_reset=None, now=None, version_num=180001):
    import datetime as dt

    from perfaudit.snapshots.server import ServerInfo

    now = now or dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    return ServerInfo("postgresql", "18.1", version_num, "db", stats_reset, now)
