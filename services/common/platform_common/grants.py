"""Read access to published views, granted by the migrations of the service that owns them.

A service reads another's data only through its API or a view published for that purpose (SPEC §1).
In the production profile each service connects as its own database role, named after its schema, that
owns only that schema (database/roles.sh); the owner's migration grants USAGE on its schema and SELECT
on the view to each reader's role. A reader role that does not exist is skipped: in the local profile
one user owns every schema and needs no grant, so the same migrations run in every profile.

A migration that drops and re-creates a published view grants it again: a view's grants go with it
(`CREATE OR REPLACE VIEW` keeps them).
"""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import text


def _existing_roles(op: Any, roles: Iterable[str]) -> list[str]:
    connection = op.get_bind()
    return [role for role in roles if connection.execute(text("SELECT to_regrole(:role)"), {"role": role}).scalar() is not None]


def grant_view(op: Any, view: str, readers: Iterable[str]) -> None:
    """Let each existing reader role SELECT from `view` ("schema.name")."""
    schema = view.split(".")[0]
    for role in _existing_roles(op, readers):
        op.execute(f'GRANT USAGE ON SCHEMA {schema} TO "{role}"')
        op.execute(f'GRANT SELECT ON {view} TO "{role}"')


def revoke_view(op: Any, view: str, readers: Iterable[str]) -> None:
    """Undo `grant_view`; USAGE on the schema goes too once the role may read nothing else there."""
    schema = view.split(".")[0]
    connection = op.get_bind()
    for role in _existing_roles(op, readers):
        op.execute(f'REVOKE SELECT ON {view} FROM "{role}"')
        still_reads = connection.execute(
            text(
                "SELECT EXISTS (SELECT FROM pg_class WHERE relnamespace = to_regnamespace(:schema) "
                "AND relkind IN ('r', 'v', 'm', 'p', 'f') AND has_table_privilege(:role, oid, 'SELECT'))"
            ),
            {"schema": schema, "role": role},
        ).scalar()
        if not still_reads:
            op.execute(f'REVOKE USAGE ON SCHEMA {schema} FROM "{role}"')


def grant_views(op: Any, schema: str, readers: dict[str, Iterable[str]]) -> None:
    """`grant_view` for each `{view name: reader roles}` of `schema` (a grants migration's upgrade)."""
    for view, roles in readers.items():
        grant_view(op, f"{schema}.{view}", roles)


def revoke_views(op: Any, schema: str, readers: dict[str, Iterable[str]]) -> None:
    """`revoke_view` for each `{view name: reader roles}` of `schema` (a grants migration's downgrade)."""
    for view, roles in readers.items():
        revoke_view(op, f"{schema}.{view}", roles)
