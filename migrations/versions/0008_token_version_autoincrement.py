"""token version on accounts; SQLite tables never reuse ids (AUTOINCREMENT)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Every token names its account's token version and creation time, so a token stops working when the
version is raised and cannot authenticate a later account that gets the same id. On SQLite every
table with an integer id is rebuilt with AUTOINCREMENT, so that a deleted newest row's id is never
handed out again (PostgreSQL sequences never reuse ids). migrations/env.py turns SQLite's foreign key
enforcement off while tables are rebuilt and checks every reference afterwards.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ID_TABLES = (
    'users',
    'providers',
    'solutions',
    'cases',
    'case_promotions',
    'enterprises',
    'inquiries',
    'inquiry_replies',
    'index_outbox',
    'feedback_events',
    'assessments',
    'pilot_sub_industries',
    'pilot_enrolments',
    'retrofit_projects',
)


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))
    if op.get_bind().dialect.name == 'sqlite':
        for name in ID_TABLES:
            with op.batch_alter_table(name, recreate='always', table_kwargs={'sqlite_autoincrement': True}):
                pass


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('token_version')
