-- replication_receiver.sql: on a standby, where does WAL come from and how far behind is
-- replay?
-- Answers: one row when the server is in recovery (none otherwise): the WAL receiver's
-- status, sender host and port, slot (null without a receiver, e.g. replaying from an
-- archive), the last positions received and replayed, bytes received but not replayed,
-- seconds since the last replayed transaction committed on the primary (0 when everything
-- received is replayed: an idle primary is not lag), and seconds since the primary was last
-- heard from. Sender host and port need pg_read_all_stats (or superuser).
-- Server versions: PostgreSQL 13 and later (flushed_lsn); tested on 13-18.
select w.status as receiver_status,
       w.sender_host,
       w.sender_port,
       w.slot_name,
       pg_last_wal_receive_lsn()::text as received_lsn,
       pg_last_wal_replay_lsn()::text as replayed_lsn,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) as replay_lag_bytes,
       case when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
            else round(extract(epoch from now() - pg_last_xact_replay_timestamp())::numeric, 3)
       end as replay_lag_seconds,
       round(extract(epoch from now() - w.last_msg_receipt_time)::numeric, 3)
         as last_message_seconds
from (select pg_is_in_recovery() as in_recovery) r
left join pg_stat_wal_receiver w on true
where r.in_recovery
