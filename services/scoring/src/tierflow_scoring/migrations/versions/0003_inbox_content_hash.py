"""The inbox keeps the content hash of each applied event, so a copy with other content is a conflict.

Existing rows keep a null hash: their content is unknown, and a copy of them is a plain duplicate
(tierflow_common/db/inbox.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import op

from tierflow_common.db.migration_ops import add_inbox_content_hash_v1, drop_inbox_content_hash_v1

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_inbox_content_hash_v1(op)


def downgrade() -> None:
    drop_inbox_content_hash_v1(op)
