-- doctor_checkpoints_legacy.sql: how many checkpoints were requested (WAL filled max_wal_size,
-- or a CHECKPOINT command) against those started by checkpoint_timeout?
-- Answers: timed and requested checkpoints since the statistics were reset, and max_wal_size.
-- Server versions: PostgreSQL 9.5 to 16 (pg_stat_bgwriter's checkpoint counters, moved to
-- pg_stat_checkpointer in 17); tested on 13-16.
select b.checkpoints_timed as timed,
       b.checkpoints_req as requested,
       current_setting('max_wal_size') as max_wal_size
from pg_stat_bgwriter b
