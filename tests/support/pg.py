"""Databases of their own on the throwaway PostgreSQL cluster of scripts/postgres.sh.

Every daemon that keeps its state on PostgreSQL gets a fresh database (CREATE
DATABASE), dropped when the daemon is purged, so runs never see each other's rows.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres.sh"


@functools.cache
def admin_url() -> str:
    """The cluster superuser's SQLAlchemy URL; starts the cluster when needed (idempotent)."""
    started = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, check=False)
    if started.returncode != 0:
        raise AssertionError(f"scripts/postgres.sh start failed:\n{started.stderr}")
    return subprocess.run([str(SCRIPT), "url"], capture_output=True, text=True, check=True).stdout.strip()


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(name: str) -> str:
    """A new empty database ``name``; its SQLAlchemy URL."""
    admin = admin_url()
    with psycopg.connect(_libpq(admin), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_libpq(admin_url()), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
