-- replication_slots.sql: which replication slots exist, are they in use, and how much WAL
-- do they hold back?
-- Answers: slot name, type (physical or logical), output plugin, database, whether a
-- consumer is connected (and its pid), the slot's restart position, bytes of WAL kept for
-- it (from the current position; the last received one on a standby), wal_status
-- (reserved, extended, unreserved, lost) and safe_wal_size; most WAL held first.
-- Server versions: PostgreSQL 13 and later (wal_status, safe_wal_size); tested on 13-18.
select s.slot_name,
       s.slot_type,
       s.plugin,
       s.database,
       s.active,
       s.active_pid,
       s.restart_lsn::text as restart_lsn,
       pg_wal_lsn_diff(case when pg_is_in_recovery() then pg_last_wal_receive_lsn()
                            else pg_current_wal_lsn() end, s.restart_lsn) as wal_retained_bytes,
       s.wal_status,
       s.safe_wal_size
from pg_replication_slots s
order by wal_retained_bytes desc nulls last, s.slot_name
