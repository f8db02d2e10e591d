"""Alembic owns the schema: the head migration and the models agree on both databases, a
database made by create_all before migrations is adopted, and a newer one is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, Table, create_engine, insert, inspect, select, text

import popvim.store.nfv_models  # noqa: F401 - the orchestrator's tables belong to the schema too
from popvim.clock import utcnow as now
from popvim.store import migrate
from popvim.store.db import Store
from popvim.store.models import Base, TokenRow


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    e = create_engine(url)
    yield e
    e.dispose()


def _diff(engine: Engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, Base.metadata)


def test_head_migration_and_models_agree(engine: Engine) -> None:
    assert migrate.upgrade(engine) == [s.revision for s in reversed(list(migrate.scripts().walk_revisions()))]
    assert migrate.current(engine) == migrate.head()
    assert _diff(engine) == []


def test_the_partial_unique_index_holds_after_migration(engine: Engine) -> None:
    migrate.upgrade(engine)
    indexes = {i["name"]: i for i in inspect(engine).get_indexes("endpoints")}
    assert indexes["uq_active_address"]["unique"]
    assert indexes["uq_active_address"]["column_names"] == ["network_id", "address"]


def test_upgrade_twice_applies_nothing_the_second_time(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.upgrade(engine) == []


def test_down_to_the_first_revision_and_back_up(engine: Engine) -> None:
    migrate.upgrade(engine)
    migrate.downgrade(engine, migrate.first())
    assert migrate.current(engine) == migrate.first()
    migrate.upgrade(engine)
    assert _diff(engine) == []


def test_database_made_by_create_all_is_adopted_with_its_rows(url: str, engine: Engine) -> None:
    migrate.upgrade(engine, migrate.first())  # the schema the releases before migrations made with create_all
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(insert(TokenRow).values(digest="d" * 64, username="ann", expires_at=now()))
    store = Store(url)
    try:
        assert migrate.current(store.engine) == migrate.head()
        with store.session() as session:
            assert session.scalar(select(TokenRow.username)) == "ann"
        assert _diff(store.engine) == []
    finally:
        store.close()


def test_database_of_the_first_release_is_adopted_and_upgraded(url: str, engine: Engine) -> None:
    migrate.upgrade(engine, migrate.first())
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))  # as create_all left it
    assert "labels" not in {c["name"] for c in inspect(engine).get_columns("networks")}
    store = Store(url)
    try:
        assert migrate.current(store.engine) == migrate.head()
        assert _diff(store.engine) == []
    finally:
        store.close()


def test_popvim_tables_without_revision_and_missing_a_table_are_refused(engine: Engine) -> None:
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE tokens"))
    with pytest.raises(migrate.MigrationError, match="lacks table tokens"):
        migrate.upgrade(engine)
    assert migrate.current(engine) is None


def test_database_of_a_newer_popvim_is_refused(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
    with pytest.raises(migrate.MigrationError, match="newer popvim"):
        Store(str(engine.url.render_as_string(hide_password=False)))


def test_downgrade_below_the_first_revision_is_refused(engine: Engine) -> None:
    migrate.upgrade(engine)
    with pytest.raises(migrate.MigrationError, match="drops every table"):
        migrate.downgrade(engine, "base")
    assert migrate.current(engine) == migrate.head()


def test_sqlite_foreign_keys_are_enforced_again_after_a_migration(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'popvim.db'}")
    try:
        migrate.downgrade(store.engine, migrate.first())  # rebuilds networks, which endpoints reference
        migrate.upgrade(store.engine)
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    finally:
        store.close()


def test_vnfc_pop_container_ids_survive_0003_both_ways(engine: Engine) -> None:
    """0003 renames vnfc_records.container_id (the Pop id) and drops vnf_records.desired_instances;
    a downgrade restores the count from the records."""
    migrate.upgrade(engine, "0002")
    at = now()
    with engine.begin() as connection:
        table = {n: Table(n, MetaData(), autoload_with=connection) for n in _NFV_TABLES}
        connection.execute(
            insert(table["ns_descriptors"]).values(
                id="d", name="d", vendor="", version="", format="openbaton", source="{}", created_at=at
            )
        )
        connection.execute(
            insert(table["ns_instances"]).values(id="n", name="n", nsd_id="d", state="INSTANTIATED", created_at=at)
        )
        connection.execute(
            insert(table["vnf_records"]).values(
                id="v", ns_id="n", vnf_name="web", position=0, pop_name="here", desired_instances=2
            )
        )
        for index in (0, 1):
            connection.execute(
                insert(table["vnfc_records"]).values(
                    id=f"c{index}",
                    vnf_id="v",
                    index=index,
                    pop_name="here",
                    container_name=f"web-{index}",
                    container_id=f"pop-{index}",
                    engine_id=f"engine-{index}",
                    addresses={},
                    md={},
                    state="RUNNING",
                    heals=0,
                )
            )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, pop_container_id, engine_id FROM vnfc_records ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("c0", "pop-0", "engine-0"), ("c1", "pop-1", "engine-1")]
    assert "desired_instances" not in {c["name"] for c in inspect(engine).get_columns("vnf_records")}
    migrate.downgrade(engine, "0002")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT container_id FROM vnfc_records WHERE id = 'c1'")).scalar() == "pop-1"
        assert connection.execute(text("SELECT desired_instances FROM vnf_records")).scalar() == 2


_NFV_TABLES = ("ns_descriptors", "ns_instances", "vnf_records", "vnfc_records")
