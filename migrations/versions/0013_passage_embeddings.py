"""passage embeddings: the clauses reasons quote, embedded once for every worker

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('passage_embeddings',
    sa.Column('model_id', sa.String(length=200), nullable=False),
    sa.Column('content_digest', sa.String(length=32), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('model_id', 'content_digest', name=op.f('pk_passage_embeddings')),
    )


def downgrade():
    op.drop_table('passage_embeddings')
