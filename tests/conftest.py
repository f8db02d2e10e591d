"""Options of the whole suite (they must be known before any test directory is collected)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["both", "sqlite", "postgres"],
        default="both",
        help="where daemons keep state: integration modules marked 'both_databases' run on both "
        "by default, the others on SQLite; 'postgres' puts every daemon on PostgreSQL",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_databases: run the module's daemons on SQLite and on PostgreSQL")
    config.addinivalue_line(
        "markers",
        "one_database: in a both_databases module, a test of engine behaviour "
        "rather than state: SQLite only (keeps CI short)",
    )
