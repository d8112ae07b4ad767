"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 15:56:42.251606
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('name', name=op.f('uq_categories_name'))
    )
    op.create_table('pipeline_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('engine', sa.String(length=200), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('models', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('timings', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_runs'))
    )
    with op.batch_alter_table('pipeline_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pipeline_runs_status'), ['status'], unique=False)

    op.create_table('revisions',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('annotation_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('author', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_revisions'))
    )
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.create_index('ix_revisions_annotation_id_state_seq', ['annotation_id', 'state', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_revisions_author'), ['author'], unique=False)
        batch_op.create_index('ix_revisions_state_seq', ['state', 'seq'], unique=False)

    op.create_table('settings',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )
    op.create_table('training_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('checkpoint', sa.Text(), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_runs')),
    sa.UniqueConstraint('name', name=op.f('uq_training_runs_name'))
    )
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_runs_status'), ['status'], unique=False)

    op.create_table('videos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('fps', sa.Float(), nullable=False),
    sa.Column('frame_count', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('has_audio', sa.Boolean(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('split', sa.String(length=50), nullable=True),
    sa.Column('category', sa.String(length=200), nullable=True),
    sa.Column('keyframe_rate', sa.Float(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_videos')),
    sa.UniqueConstraint('path', name=op.f('uq_videos_path'))
    )
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_videos_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_videos_split'), ['split'], unique=False)

    op.create_table('clip_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('frames', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['pipeline_runs.id'], name=op.f('fk_clip_results_run_id_pipeline_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], name=op.f('fk_clip_results_video_id_videos'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clip_results'))
    )
    with op.batch_alter_table('clip_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clip_results_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clip_results_video_id'), ['video_id'], unique=False)

    op.create_table('objects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('colour', sa.String(length=9), nullable=False),
    sa.Column('visible', sa.Boolean(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], name=op.f('fk_objects_video_id_videos'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objects')),
    sa.UniqueConstraint('video_id', 'index', name=op.f('uq_objects_video_id_index'))
    )
    with op.batch_alter_table('objects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objects_video_id'), ['video_id'], unique=False)

    op.create_table('annotations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('video_id', sa.Integer(), nullable=False),
    sa.Column('frame', sa.Integer(), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('counts', sa.Text(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('area', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('author', sa.String(length=200), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['object_id'], ['objects.id'], name=op.f('fk_annotations_object_id_objects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['pipeline_runs.id'], name=op.f('fk_annotations_run_id_pipeline_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], name=op.f('fk_annotations_video_id_videos'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotations')),
    sa.UniqueConstraint('video_id', 'frame', 'object_id', name=op.f('uq_annotations_video_id_frame_object_id'))
    )
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annotations_object_id'), ['object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotations_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotations_source'), ['source'], unique=False)
        batch_op.create_index(batch_op.f('ix_annotations_status'), ['status'], unique=False)
        batch_op.create_index('uq_annotations_empty_frame', ['video_id', 'frame'], unique=True, sqlite_where=sa.text('object_id IS NULL'), postgresql_where=sa.text('object_id IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_index('uq_annotations_empty_frame', sqlite_where=sa.text('object_id IS NULL'), postgresql_where=sa.text('object_id IS NULL'))
        batch_op.drop_index(batch_op.f('ix_annotations_status'))
        batch_op.drop_index(batch_op.f('ix_annotations_source'))
        batch_op.drop_index(batch_op.f('ix_annotations_run_id'))
        batch_op.drop_index(batch_op.f('ix_annotations_object_id'))

    op.drop_table('annotations')
    with op.batch_alter_table('objects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objects_video_id'))

    op.drop_table('objects')
    with op.batch_alter_table('clip_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clip_results_video_id'))
        batch_op.drop_index(batch_op.f('ix_clip_results_run_id'))

    op.drop_table('clip_results')
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_videos_split'))
        batch_op.drop_index(batch_op.f('ix_videos_category'))

    op.drop_table('videos')
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_runs_status'))

    op.drop_table('training_runs')
    op.drop_table('settings')
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_index('ix_revisions_state_seq')
        batch_op.drop_index(batch_op.f('ix_revisions_author'))
        batch_op.drop_index('ix_revisions_annotation_id_state_seq')

    op.drop_table('revisions')
    with op.batch_alter_table('pipeline_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pipeline_runs_status'))

    op.drop_table('pipeline_runs')
    op.drop_table('categories')
