"""Trees kept by a parent link (units, supervisors): the loop check, in one SQL query."""

import sqlalchemy as sa

from app.extensions import db


def ancestor_ids(column_parent: sa.Column, column_id: sa.Column, start_id: int) -> set[int]:
    """The ids above `start_id` (itself included) following the parent link upwards."""
    chain = (
        sa.select(column_id.label("id"), column_parent.label("parent"))
        .where(column_id == start_id)
        .cte("chain", recursive=True)
    )
    step = sa.select(column_id, column_parent).join(chain, column_id == chain.c.parent)
    chain = chain.union(step)
    return set(db.session.scalars(sa.select(chain.c.id)))


def would_loop(
    column_parent: sa.Column, column_id: sa.Column, node_id: int | None, new_parent_id: int | None
) -> bool:
    """Whether linking `node_id` under `new_parent_id` makes a loop."""
    if node_id is None or new_parent_id is None:
        return False
    return node_id in ancestor_ids(column_parent, column_id, new_parent_id)
