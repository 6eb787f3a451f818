-- replication_standbys.sql: which standbys stream from this server, and how far behind are
-- they?
-- Answers: one row per WAL sender: pid, application name, client address, state, sync
-- state, the positions sent, written, flushed and replayed, bytes not yet replayed (from
-- this server's current WAL position: the last received one on a cascading standby), and
-- the write, flush and replay lag in seconds as the standby last reported them. Without
-- pg_read_all_stats (or superuser) the positions and lags are null.
-- Server versions: PostgreSQL 10 and later; tested on 13-18.
select r.pid,
       r.application_name as application,
       r.client_addr::text as client_addr,
       r.state,
       r.sync_state,
       r.sent_lsn::text as sent_lsn,
       r.write_lsn::text as write_lsn,
       r.flush_lsn::text as flush_lsn,
       r.replay_lsn::text as replay_lsn,
       pg_wal_lsn_diff(case when pg_is_in_recovery() then pg_last_wal_receive_lsn()
                            else pg_current_wal_lsn() end, r.replay_lsn) as replay_lag_bytes,
       round(extract(epoch from r.write_lag)::numeric, 3) as write_lag_seconds,
       round(extract(epoch from r.flush_lag)::numeric, 3) as flush_lag_seconds,
       round(extract(epoch from r.replay_lag)::numeric, 3) as replay_lag_seconds
from pg_stat_replication r
order by r.application_name, r.pid
