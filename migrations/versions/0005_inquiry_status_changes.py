"""inquiries: who changed the status and when, and a key against duplicate bursts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('status_changed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('duplicate_key', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_inquiries_status_changed_by_id_users'), 'users', ['status_changed_by_id'], ['id']
        )
        batch_op.create_unique_constraint(batch_op.f('uq_inquiries_duplicate_key'), ['duplicate_key'])


def downgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_inquiries_duplicate_key'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_inquiries_status_changed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('duplicate_key')
        batch_op.drop_column('status_changed_by_id')
        batch_op.drop_column('status_changed_at')
