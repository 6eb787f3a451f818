-- doctor_checkpoints.sql: how many checkpoints were requested (WAL filled max_wal_size, or a
-- CHECKPOINT command) against those started by checkpoint_timeout?
-- Answers: timed and requested checkpoints since the statistics were reset, and max_wal_size.
-- Server versions: PostgreSQL 17 and later (pg_stat_checkpointer); doctor_checkpoints_legacy.sql
-- answers for older servers; tested on 17-18.
select c.num_timed as timed,
       c.num_requested as requested,
       current_setting('max_wal_size') as max_wal_size
from pg_stat_checkpointer c
