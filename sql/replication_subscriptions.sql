-- replication_subscriptions.sql: which logical replication subscriptions does this server
-- have, and are their workers receiving?
-- Answers: one row per subscription (every database) and worker: name, database, enabled,
-- the worker's pid (null when none runs), last received and last reported end positions,
-- and seconds since the publisher was last heard from. The connection string is never
-- read.
-- Server versions: PostgreSQL 10 and later; tested on 13-18.
select s.subname as subscription,
       d.datname as database,
       s.subenabled as enabled,
       w.pid as worker_pid,
       w.received_lsn::text as received_lsn,
       w.latest_end_lsn::text as latest_end_lsn,
       round(extract(epoch from now() - w.last_msg_receipt_time)::numeric, 3)
         as last_message_seconds
from pg_subscription s
join pg_database d on d.oid = s.subdbid
left join pg_stat_subscription w on w.subid = s.oid and w.relid is null
order by 1, 4
