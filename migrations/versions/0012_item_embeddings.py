"""item embeddings: one vector per item and embedding model

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('item_embeddings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.String(length=200), nullable=False),
    sa.Column('content_digest', sa.String(length=32), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_embeddings')),
    sa.UniqueConstraint('kind', 'item_id', 'model_id', name='uq_item_embeddings_kind_item_model'),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('item_embeddings', schema=None) as batch_op:
        batch_op.create_index(
            'ix_item_embeddings_waiting',
            ['model_id'],
            unique=False,
            sqlite_where=sa.text('vector IS NULL'),
            postgresql_where=sa.text('vector IS NULL'),
        )


def downgrade():
    with op.batch_alter_table('item_embeddings', schema=None) as batch_op:
        batch_op.drop_index('ix_item_embeddings_waiting')

    op.drop_table('item_embeddings')
