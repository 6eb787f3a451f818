-- replication_role.sql: is this server a primary or a standby, and how is it set up for
-- replication?
-- Answers: role (primary or standby), wal_level, the current WAL position (on a standby: the
-- last received and replayed), max_wal_senders, max_replication_slots, and on a standby
-- the time of the last replayed transaction.
-- Server versions: PostgreSQL 10 and later; tested on 13-18.
select case when pg_is_in_recovery() then 'standby' else 'primary' end as role,
       current_setting('wal_level') as wal_level,
       case when pg_is_in_recovery() then null else pg_current_wal_lsn()::text end
         as current_lsn,
       case when pg_is_in_recovery() then pg_last_wal_receive_lsn()::text end as received_lsn,
       case when pg_is_in_recovery() then pg_last_wal_replay_lsn()::text end as replayed_lsn,
       case when pg_is_in_recovery() then pg_last_xact_replay_timestamp() end
         as last_replayed_commit,
       current_setting('max_wal_senders')::int as max_wal_senders,
       current_setting('max_replication_slots')::int as max_replication_slots
