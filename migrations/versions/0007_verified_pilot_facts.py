"""verified pilot facts: the tier a city confirmed, the on-site level, a project's frozen evidence

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_tier', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('tier_verified_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tier_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('verified_level', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('level_verified_on', sa.Date(), nullable=True))
        batch_op.create_foreign_key(
            'fk_enterprises_tier_verified_by_id_users', 'users', ['tier_verified_by_id'], ['id']
        )
    with op.batch_alter_table('retrofit_projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('before_assessment_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('after_assessment_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_retrofit_projects_before_assessment_id_assessments',
            'assessments', ['before_assessment_id'], ['id'], ondelete='SET NULL',
        )
        batch_op.create_foreign_key(
            'fk_retrofit_projects_after_assessment_id_assessments',
            'assessments', ['after_assessment_id'], ['id'], ondelete='SET NULL',
        )
    latest_onsite = (
        "SELECT a.{column} FROM assessments a WHERE a.enterprise_id = enterprises.id "
        "AND a.kind = 'onsite' ORDER BY a.assessed_on DESC, a.id DESC LIMIT 1"
    )
    op.execute(
        f"UPDATE enterprises SET verified_level = ({latest_onsite.format(column='level')}), "
        f"level_verified_on = ({latest_onsite.format(column='assessed_on')})"
    )


def downgrade():
    with op.batch_alter_table('retrofit_projects', schema=None) as batch_op:
        batch_op.drop_constraint('fk_retrofit_projects_after_assessment_id_assessments', type_='foreignkey')
        batch_op.drop_constraint('fk_retrofit_projects_before_assessment_id_assessments', type_='foreignkey')
        batch_op.drop_column('after_assessment_id')
        batch_op.drop_column('before_assessment_id')
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_constraint('fk_enterprises_tier_verified_by_id_users', type_='foreignkey')
        batch_op.drop_column('level_verified_on')
        batch_op.drop_column('verified_level')
        batch_op.drop_column('tier_verified_at')
        batch_op.drop_column('tier_verified_by_id')
        batch_op.drop_column('verified_tier')
