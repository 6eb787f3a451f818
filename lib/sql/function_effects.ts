/**
 * The reviewed catalogue of PostgreSQL's built-in functions (and those of the
 * contrib extensions shipped with the server) whose effects escape the
 * transaction, or reach past what it can see: what a read-only run refuses and
 * a rolled-back check must not run. Names are exact function names, reviewed
 * one by one against the catalogs of PostgreSQL 13 to 18
 * (tests/integration/function_effects_test.ts reads `pg_proc` of each major and fails on a
 * volatile function in neither list, on a function that runs SQL text and is
 * not classed as such, and on a listed name that no major has).
 *
 * Where one name has overloads of different effect, it is classed by the worst
 * one and `what` says which. A name is looked up without its schema, so a user
 * function of the same name is judged as the built-in would be.
 *
 * What this cannot see: the body of user functions, views, rules, policies and
 * triggers, and user-made functions bound to the same C code under another name
 * (tablefunc's documentation suggests `crosstab_N` functions of one's own). A
 * reader role that lacks the privileges is the real guard; this is the second
 * line.
 *
 * @module
 */

/** How a function acts beyond computing a value from what the transaction can see. */
export type EffectClass =
  /** Rollback cannot undo it: signals a session, writes server files, runs a program, changes replication, reloads or rotates server state, switches WAL, resets statistics, reaches another database, logs, emits messages. */
  | "outside"
  /** Reads the server's files or directories (or raw pages and WAL, past the snapshot). */
  | "server-read"
  /** Runs SQL given as text: what that text does is not seen. */
  | "sql-text"
  /** Moves a sequence: rollback does not undo it. */
  | "sequence"
  /**
   * Changes the session or the transaction's state beyond rows, or writes what
   * the server's read-only mode does not stop; rollback undoes the rest.
   */
  | "session";

/** What a function does beyond computing a value, for a refusal message. */
export interface FunctionEffect {
  /** Which kind of effect it is, and so whether rollback undoes it. */
  class: EffectClass;
  /** What it does, for a refusal message: "signals another session", "runs SQL given as text" ... */
  what: string;
}

function effect(effectClass: EffectClass, what: string): FunctionEffect {
  return Object.freeze({ class: effectClass, what });
}

// --- outside: rollback cannot undo it ----------------------------------------

// pg_cancel_backend and pg_terminate_backend send a signal to another backend;
// pg_log_backend_memory_contexts signals one to write its memory map to the log.
const SIGNALS = effect("outside", "signals another session");
const LOGS_MEMORY = effect("outside", "makes another server process write to the log");
// pg_reload_conf signals the postmaster to re-read the configuration files;
// pg_rotate_logfile (and 13-16's pg_rotate_logfile_old) tells the logging
// collector to switch files.
const RELOADS = effect("outside", "reloads the server's configuration");
const ROTATES_LOG = effect("outside", "switches the server's log file");
// Each of these writes WAL (or a backup label) that no rollback takes back.
const SWITCHES_WAL = effect("outside", "switches the server to a new WAL file");
const RESTORE_POINT = effect("outside", "writes a named restore point into the WAL");
const STANDBY_SNAPSHOT = effect("outside", "writes a standby snapshot record into the WAL");
const WAL_MESSAGE = effect("outside", "writes a message into the WAL for logical decoding");
const BACKUP = effect("outside", "starts or stops an online backup of the server");
// Standby control acts on the startup process, not on this transaction.
const PROMOTE = effect("outside", "promotes a standby server");
const REPLAY = effect("outside", "pauses or resumes WAL replay on a standby");
// Slots are shared server state: creating, copying, dropping, advancing one (or
// consuming its changes) outlives the transaction and holds back WAL.
const SLOTS = effect("outside", "changes a replication slot");
const SLOT_SYNC = effect("outside", "synchronizes replication slots from the primary");
// Origin progress lives in shared memory and is WAL-logged as it moves; a drop
// clears that memory state even when the catalog row comes back on rollback.
const ORIGIN_PROGRESS = effect("outside", "moves or drops a replication origin");
// Statistics counters live in shared memory, outside any transaction.
const RESETS_STATS = effect("outside", "resets server statistics");
// BRIN summarization and GIN pending-list cleanup write index pages as VACUUM
// does, without the transaction.
const INDEX_MAINTENANCE = effect("outside", "writes index pages outside the transaction");
// pg_import_system_collations runs `locale -a` on the server.
const RUNS_PROGRAM = effect("outside", "runs a program on the server (locale -a)");
// The OID counter and initdb's pinned-object boundary are never rolled back.
const OID_COUNTER = effect("outside", "allocates an OID from the server's counter");
const INITDB_ONLY = effect("outside", "changes initdb's pinned-object state");
// adminpack (13-16): files written, renamed, removed or synced by path.
// lo_export writes a large object out to a server file.
const WRITES_FILES = effect("outside", "writes server files");
// pg_prewarm's autoprewarm: a background worker, and its block list on disk.
const BACKGROUND_WORKER = effect("outside", "starts a background worker");
const WRITES_BLOCK_LIST = effect("outside", "writes the server's autoprewarm block list file");
// pg_buffercache 17+: evicting (and in 18 flushing) shared buffers.
const EVICTS_BUFFERS = effect("outside", "evicts shared buffers");
// pg_surgery and pg_visibility's truncation change pages in place, WAL-logged.
const SURGERY = effect("outside", "changes heap pages in place, outside the transaction");
const TRUNCATES_VM = effect("outside", "truncates a table's visibility map");
// dblink talks to another session, which commits on its own: whatever is sent
// there (a query, an open, fetch or close of a cursor, a cancel) is out of
// reach of this transaction's rollback. Connecting logs in elsewhere.
const DBLINK = effect("outside", "runs SQL in another database session (dblink)");
const DBLINK_CONNECTS = effect("outside", "connects to another database (dblink)");
// pg_upgrade's origin restore (17+), binary-upgrade mode only.
const UPGRADE_ORIGIN = effect("outside", "moves a replication origin (binary-upgrade mode only)");

// --- server-read: the server's files, directories, raw pages and WAL ---------

// pg_read_file and kin take a path; pg_ls_* list server directories (the
// generic pg_ls_dir takes a path too); adminpack's pg_logdir_ls lists the log
// folder; lo_import reads a server file into a new large object.
const READS_FILES = effect("server-read", "reads server files");
const LISTS_DIRECTORIES = effect("server-read", "lists server directories");
// Decoding a slot's WAL without consuming it still reads the server's WAL
// files, as pg_walinspect and the WAL summaries (17+) do.
const READS_WAL = effect("server-read", "reads the server's WAL");
const READS_SLOT_WAL = effect(
  "server-read",
  "decodes a replication slot's WAL without consuming it",
);
const LOGICAL_SNAPSHOTS = effect("server-read", "reads logical decoding snapshot files");
// pageinspect's functions that take a relation read its raw pages, dead and
// uncommitted rows included (bt_page_items also has a harmless bytea form).
const RAW_PAGES = effect("server-read", "reads a relation's raw pages, past the snapshot");

// --- sql-text: runs SQL given as text ----------------------------------------

// query_to_xml and kin run their first argument through SPI; ts_stat runs its
// query; ts_rewrite(tsquery, text) runs the text to fetch rewrite rules (the
// three-tsquery form only computes). tablefunc's crosstab runs its source (and
// category) queries; connectby and xml2's xpath_table splice their table, key
// and condition arguments into a query they run. Those three are STABLE, yet
// the SELECT a stable function runs may call pg_terminate_backend (tested).
const RUNS_SQL = effect("sql-text", "runs SQL given as text");
const TS_REWRITE = effect(
  "sql-text",
  "runs SQL given as text (the ts_rewrite(tsquery, text) form)",
);
const SPLICES_SQL = effect("sql-text", "runs SQL built from its text arguments");

// --- sequence ---------------------------------------------------------------

// nextval and setval are not transactional; the server refuses them in a
// read-only transaction, and a rolled-back check can say they stay moved.
const SEQUENCE = effect("sequence", "moves a sequence, which rollback does not undo");

// --- session: the session's or transaction's state beyond rows ---------------

// Advisory locks, session or transaction level, block other sessions.
const ADVISORY_LOCK = effect("session", "takes or releases an advisory lock");
// bt_index_parent_check takes a ShareLock on the table, blocking its writers
// until the transaction ends (bt_index_check takes AccessShareLock, as SELECT).
const SHARE_LOCK = effect("session", "locks the table against writes until the transaction ends");
// Large-object descriptors are transaction state; writes go to
// pg_largeobject (lo_get, which reads a whole object, is only a read).
const LARGE_OBJECT = effect("session", "opens, writes or removes large objects");
// pg_notify delivers at commit, and a read-only transaction allows it.
const NOTIFY = effect("session", "queues a notification for other sessions");
// txid_current and pg_current_xact_id are STABLE, yet assign a transaction ID
// (consuming one, and making the commit write WAL).
const XID = effect("session", "assigns a transaction ID");
// Other sessions may adopt the exported snapshot while this transaction lasts.
const EXPORTS_SNAPSHOT = effect("session", "exports the transaction's snapshot to other sessions");
// Replication origins: the catalog row (create) and the session's or
// transaction's binding to an origin, whose progress moves at commit.
const ORIGIN_SESSION = effect("session", "creates or binds a replication origin");
// 18's statistics import writes pg_class and pg_statistic transactionally,
// which a read-only transaction allows.
const WRITES_STATISTICS = effect("session", "writes planner statistics");
// pg_upgrade's catalog steering and writes, binary-upgrade mode only.
const UPGRADE_STATE = effect(
  "session",
  "sets pg_upgrade's catalog state (binary-upgrade mode only)",
);
// Only CREATE EXTENSION's script may call it; it writes pg_extension.
const EXTENSION_CONFIG = effect("session", "marks an extension table for pg_dump");
// Closes this session's own connections to other servers.
const DISCONNECTS = effect("session", "closes connections to other servers");

/** Every classified name, one per line: reviewed one by one, duplicates caught by `deno lint`. */
const EFFECTS: ReadonlyMap<string, FunctionEffect> = new Map(Object.entries({
  pg_cancel_backend: SIGNALS,
  pg_terminate_backend: SIGNALS,
  pg_log_backend_memory_contexts: LOGS_MEMORY,
  pg_reload_conf: RELOADS,
  pg_rotate_logfile: ROTATES_LOG,
  pg_rotate_logfile_old: ROTATES_LOG,
  pg_switch_wal: SWITCHES_WAL,
  pg_create_restore_point: RESTORE_POINT,
  pg_log_standby_snapshot: STANDBY_SNAPSHOT,
  pg_logical_emit_message: WAL_MESSAGE,
  pg_start_backup: BACKUP,
  pg_stop_backup: BACKUP,
  pg_backup_start: BACKUP,
  pg_backup_stop: BACKUP,
  pg_promote: PROMOTE,
  pg_wal_replay_pause: REPLAY,
  pg_wal_replay_resume: REPLAY,
  pg_create_physical_replication_slot: SLOTS,
  pg_create_logical_replication_slot: SLOTS,
  pg_copy_physical_replication_slot: SLOTS,
  pg_copy_logical_replication_slot: SLOTS,
  pg_drop_replication_slot: SLOTS,
  pg_replication_slot_advance: SLOTS,
  pg_logical_slot_get_changes: SLOTS,
  pg_logical_slot_get_binary_changes: SLOTS,
  pg_sync_replication_slots: SLOT_SYNC,
  pg_replication_origin_advance: ORIGIN_PROGRESS,
  pg_replication_origin_drop: ORIGIN_PROGRESS,
  pg_stat_reset: RESETS_STATS,
  pg_stat_reset_shared: RESETS_STATS,
  pg_stat_reset_single_table_counters: RESETS_STATS,
  pg_stat_reset_single_function_counters: RESETS_STATS,
  pg_stat_reset_slru: RESETS_STATS,
  pg_stat_reset_replication_slot: RESETS_STATS,
  pg_stat_reset_subscription_stats: RESETS_STATS,
  pg_stat_reset_backend_stats: RESETS_STATS,
  pg_stat_statements_reset: RESETS_STATS,
  brin_summarize_new_values: INDEX_MAINTENANCE,
  brin_summarize_range: INDEX_MAINTENANCE,
  brin_desummarize_range: INDEX_MAINTENANCE,
  gin_clean_pending_list: INDEX_MAINTENANCE,
  pg_import_system_collations: RUNS_PROGRAM,
  pg_nextoid: OID_COUNTER,
  pg_stop_making_pinned_objects: INITDB_ONLY,
  lo_export: WRITES_FILES,
  pg_file_write: WRITES_FILES,
  pg_file_rename: WRITES_FILES,
  pg_file_unlink: WRITES_FILES,
  pg_file_sync: WRITES_FILES,
  autoprewarm_start_worker: BACKGROUND_WORKER,
  autoprewarm_dump_now: WRITES_BLOCK_LIST,
  pg_buffercache_evict: EVICTS_BUFFERS,
  pg_buffercache_evict_relation: EVICTS_BUFFERS,
  pg_buffercache_evict_all: EVICTS_BUFFERS,
  heap_force_kill: SURGERY,
  heap_force_freeze: SURGERY,
  pg_truncate_visibility_map: TRUNCATES_VM,
  dblink: DBLINK,
  dblink_exec: DBLINK,
  dblink_open: DBLINK,
  dblink_fetch: DBLINK,
  dblink_close: DBLINK,
  dblink_send_query: DBLINK,
  dblink_cancel_query: DBLINK,
  dblink_connect: DBLINK_CONNECTS,
  dblink_connect_u: DBLINK_CONNECTS,
  binary_upgrade_replorigin_advance: UPGRADE_ORIGIN,

  pg_read_file: READS_FILES,
  pg_read_file_old: READS_FILES,
  pg_read_binary_file: READS_FILES,
  pg_stat_file: READS_FILES,
  lo_import: READS_FILES,
  pg_ls_dir: LISTS_DIRECTORIES,
  pg_ls_logdir: LISTS_DIRECTORIES,
  pg_ls_waldir: LISTS_DIRECTORIES,
  pg_ls_tmpdir: LISTS_DIRECTORIES,
  pg_ls_archive_statusdir: LISTS_DIRECTORIES,
  pg_ls_logicalmapdir: LISTS_DIRECTORIES,
  pg_ls_logicalsnapdir: LISTS_DIRECTORIES,
  pg_ls_replslotdir: LISTS_DIRECTORIES,
  pg_ls_summariesdir: LISTS_DIRECTORIES,
  pg_logdir_ls: LISTS_DIRECTORIES,
  pg_available_wal_summaries: READS_WAL,
  pg_wal_summary_contents: READS_WAL,
  pg_get_wal_record_info: READS_WAL,
  pg_get_wal_records_info: READS_WAL,
  pg_get_wal_records_info_till_end_of_wal: READS_WAL,
  pg_get_wal_stats: READS_WAL,
  pg_get_wal_stats_till_end_of_wal: READS_WAL,
  pg_get_wal_block_info: READS_WAL,
  pg_logical_slot_peek_changes: READS_SLOT_WAL,
  pg_logical_slot_peek_binary_changes: READS_SLOT_WAL,
  binary_upgrade_logical_slot_has_caught_up: READS_SLOT_WAL,
  pg_get_logical_snapshot_info: LOGICAL_SNAPSHOTS,
  pg_get_logical_snapshot_meta: LOGICAL_SNAPSHOTS,
  get_raw_page: RAW_PAGES,
  bt_metap: RAW_PAGES,
  bt_page_stats: RAW_PAGES,
  bt_page_items: RAW_PAGES,
  bt_multi_page_stats: RAW_PAGES,
  hash_bitmap_info: RAW_PAGES,

  query_to_xml: RUNS_SQL,
  query_to_xmlschema: RUNS_SQL,
  query_to_xml_and_xmlschema: RUNS_SQL,
  ts_stat: RUNS_SQL,
  ts_rewrite: TS_REWRITE,
  crosstab: RUNS_SQL,
  crosstab2: RUNS_SQL,
  crosstab3: RUNS_SQL,
  crosstab4: RUNS_SQL,
  connectby: SPLICES_SQL,
  xpath_table: SPLICES_SQL,

  nextval: SEQUENCE,
  setval: SEQUENCE,

  pg_advisory_lock: ADVISORY_LOCK,
  pg_advisory_lock_shared: ADVISORY_LOCK,
  pg_advisory_unlock: ADVISORY_LOCK,
  pg_advisory_unlock_shared: ADVISORY_LOCK,
  pg_advisory_unlock_all: ADVISORY_LOCK,
  pg_advisory_xact_lock: ADVISORY_LOCK,
  pg_advisory_xact_lock_shared: ADVISORY_LOCK,
  pg_try_advisory_lock: ADVISORY_LOCK,
  pg_try_advisory_lock_shared: ADVISORY_LOCK,
  pg_try_advisory_xact_lock: ADVISORY_LOCK,
  pg_try_advisory_xact_lock_shared: ADVISORY_LOCK,
  bt_index_parent_check: SHARE_LOCK,
  lo_open: LARGE_OBJECT,
  lo_close: LARGE_OBJECT,
  loread: LARGE_OBJECT,
  lowrite: LARGE_OBJECT,
  lo_lseek: LARGE_OBJECT,
  lo_lseek64: LARGE_OBJECT,
  lo_tell: LARGE_OBJECT,
  lo_tell64: LARGE_OBJECT,
  lo_truncate: LARGE_OBJECT,
  lo_truncate64: LARGE_OBJECT,
  lo_creat: LARGE_OBJECT,
  lo_create: LARGE_OBJECT,
  lo_from_bytea: LARGE_OBJECT,
  lo_put: LARGE_OBJECT,
  lo_unlink: LARGE_OBJECT,
  pg_notify: NOTIFY,
  txid_current: XID,
  pg_current_xact_id: XID,
  pg_export_snapshot: EXPORTS_SNAPSHOT,
  pg_replication_origin_create: ORIGIN_SESSION,
  pg_replication_origin_session_setup: ORIGIN_SESSION,
  pg_replication_origin_session_reset: ORIGIN_SESSION,
  pg_replication_origin_xact_setup: ORIGIN_SESSION,
  pg_replication_origin_xact_reset: ORIGIN_SESSION,
  pg_restore_relation_stats: WRITES_STATISTICS,
  pg_restore_attribute_stats: WRITES_STATISTICS,
  pg_clear_relation_stats: WRITES_STATISTICS,
  pg_clear_attribute_stats: WRITES_STATISTICS,
  binary_upgrade_add_sub_rel_state: UPGRADE_STATE,
  binary_upgrade_create_empty_extension: UPGRADE_STATE,
  binary_upgrade_set_missing_value: UPGRADE_STATE,
  binary_upgrade_set_next_array_pg_type_oid: UPGRADE_STATE,
  binary_upgrade_set_next_heap_pg_class_oid: UPGRADE_STATE,
  binary_upgrade_set_next_heap_relfilenode: UPGRADE_STATE,
  binary_upgrade_set_next_index_pg_class_oid: UPGRADE_STATE,
  binary_upgrade_set_next_index_relfilenode: UPGRADE_STATE,
  binary_upgrade_set_next_multirange_array_pg_type_oid: UPGRADE_STATE,
  binary_upgrade_set_next_multirange_pg_type_oid: UPGRADE_STATE,
  binary_upgrade_set_next_pg_authid_oid: UPGRADE_STATE,
  binary_upgrade_set_next_pg_enum_oid: UPGRADE_STATE,
  binary_upgrade_set_next_pg_tablespace_oid: UPGRADE_STATE,
  binary_upgrade_set_next_pg_type_oid: UPGRADE_STATE,
  binary_upgrade_set_next_toast_pg_class_oid: UPGRADE_STATE,
  binary_upgrade_set_next_toast_pg_type_oid: UPGRADE_STATE,
  binary_upgrade_set_next_toast_relfilenode: UPGRADE_STATE,
  binary_upgrade_set_record_init_privs: UPGRADE_STATE,
  pg_extension_config_dump: EXTENSION_CONFIG,
  dblink_disconnect: DISCONNECTS,
  postgres_fdw_disconnect: DISCONNECTS,
  postgres_fdw_disconnect_all: DISCONNECTS,
}));

/**
 * The effect of a function by its unqualified name (lower case, as the parser
 * gives an unquoted identifier), or undefined when reviewed as only computing
 * or reading inside the transaction, or not a built-in.
 */
export function functionEffect(name: string): FunctionEffect | undefined {
  return EFFECTS.get(name);
}

/**
 * Volatile built-ins (and contrib functions) reviewed as safe in a read-only
 * run: they only compute, read inside the transaction, or wait (random,
 * clock_timestamp, pg_sleep, gen_random_uuid, currval, ...).
 */
export const ALLOWED_VOLATILE: ReadonlySet<string> = new Set([
  // Volatile because each call differs: clocks, random values, waits.
  "clock_timestamp",
  "timeofday",
  "timezone", // timezone(text, timetz) on 13-14 reads the current date
  "random",
  "random_normal",
  "array_sample",
  "array_shuffle",
  "gen_random_uuid", // pg_catalog's (13+) and pgcrypto's
  "uuidv4",
  "uuidv7",
  "uuid_generate_v1",
  "uuid_generate_v1mc",
  "uuid_generate_v4",
  "normal_rand",
  "gen_random_bytes",
  "gen_salt",
  "pgp_sym_encrypt", // random session keys: volatile, computing only
  "pgp_sym_encrypt_bytea",
  "pgp_pub_encrypt",
  "pgp_pub_encrypt_bytea",
  "fips_mode",
  "pg_sleep",
  "pg_sleep_for",
  "pg_sleep_until",
  // This session's own state, read: a sequence's value as this session last
  // saw it, the running query, the random() seed (which only this session's
  // random() follows).
  "currval",
  "lastval",
  "current_query",
  "setseed",
  // Judged by lib/sql/statements.ts from its first argument (the setting it
  // changes): harmless settings are SET in all but name, guarded ones refused.
  "set_config",
  // pg_trgm's and isn's setters change one of their own settings for the
  // session, as SET does.
  "set_limit",
  "isn_weak",
  // Server and transaction state read through the same functions the
  // monitoring views use: locks, waits, WAL positions, recovery, commit
  // timestamps, memory, I/O, shared memory, loaded modules.
  "pg_blocking_pids",
  "pg_safe_snapshot_blocking_pids",
  "pg_isolation_test_session_is_blocked",
  "pg_lock_status",
  "pg_prepared_xact",
  "pg_get_multixact_members",
  "pg_notification_queue_usage",
  "pg_current_wal_lsn",
  "pg_current_wal_insert_lsn",
  "pg_current_wal_flush_lsn",
  "pg_last_wal_receive_lsn",
  "pg_last_wal_replay_lsn",
  "pg_last_xact_replay_timestamp",
  "pg_last_committed_xact",
  "pg_is_in_recovery",
  "pg_is_in_backup",
  "pg_is_wal_replay_paused",
  "pg_get_wal_replay_pause_state",
  "pg_get_wal_resource_managers",
  "pg_get_wal_summarizer_state",
  "pg_jit_available",
  "pg_xact_commit_timestamp",
  "pg_xact_commit_timestamp_origin",
  "pg_xact_status",
  "txid_status",
  "pg_get_backend_memory_contexts",
  "pg_get_shmem_allocations",
  "pg_get_shmem_allocations_numa",
  "pg_get_aios",
  "pg_get_loaded_modules",
  "pg_get_wait_events",
  "pg_stat_get_io",
  "pg_stat_get_backend_io",
  "pg_stat_get_backend_wal",
  "pg_stat_get_recovery_prefetch",
  "pg_stat_get_xact_numscans",
  "pg_stat_get_xact_tuples_returned",
  "pg_stat_get_xact_tuples_fetched",
  "pg_stat_get_xact_tuples_inserted",
  "pg_stat_get_xact_tuples_updated",
  "pg_stat_get_xact_tuples_deleted",
  "pg_stat_get_xact_tuples_hot_updated",
  "pg_stat_get_xact_tuples_newpage_updated",
  "pg_stat_get_xact_blocks_fetched",
  "pg_stat_get_xact_blocks_hit",
  "pg_stat_get_xact_function_calls",
  "pg_stat_get_xact_function_total_time",
  "pg_stat_get_xact_function_self_time",
  "pg_stat_have_stats",
  // This backend's statistics cache: dropping its snapshot, or flushing its
  // pending counters sooner, changes no counter's value.
  "pg_stat_clear_snapshot",
  "pg_stat_force_next_flush",
  // Replication origin progress and status, read (flushing WAL that is
  // written anyway when asked).
  "pg_replication_origin_progress",
  "pg_replication_origin_session_is_setup",
  "pg_replication_origin_session_progress",
  "pg_show_replication_origin_status",
  // Server configuration and control data as the views pg_hba_file_rules,
  // pg_ident_file_mappings, pg_file_settings and pg_control_* show them (no path
  // is given; their privileges decide who may), the log file's name, and the
  // operating system's collation versions.
  "pg_hba_file_rules",
  "pg_ident_file_mappings",
  "pg_show_all_file_settings",
  "pg_control_checkpoint",
  "pg_control_init",
  "pg_control_recovery",
  "pg_control_system",
  "pg_current_logfile",
  "pg_collation_actual_version",
  "pg_database_collation_actual_version",
  // Sizes, partitions, sequences and rows, read inside the transaction.
  "pg_database_size",
  "pg_tablespace_size",
  "pg_relation_size",
  "pg_table_size",
  "pg_indexes_size",
  "pg_total_relation_size",
  "pg_partition_tree",
  "pg_partition_ancestors",
  "pg_sequence_last_value",
  "pg_get_sequence_data",
  "currtid",
  "currtid2",
  "lo_get", // reads a whole large object; descriptors are not involved
  // Fetches from a cursor this session already opened (DECLARE is checked
  // where it is written); fetching moves only the cursor.
  "cursor_to_xml",
  "cursor_to_xmlschema",
  // Validators check a definition and report; they run nothing.
  "amvalidate",
  "plpgsql_validator",
  "dblink_fdw_validator",
  "file_fdw_validator",
  "postgres_fdw_validator",
  // dblink's local helpers: names of open connections, their last error, busy
  // and notification state, results already sent for, and SQL text built (not
  // run) from a local table's key. Everything that sends to the other server
  // is refused above.
  "dblink_current_query",
  "dblink_error_message",
  "dblink_get_connections",
  "dblink_get_notify",
  "dblink_get_pkey",
  "dblink_get_result",
  "dblink_is_busy",
  "dblink_build_sql_insert",
  "dblink_build_sql_update",
  "dblink_build_sql_delete",
  "postgres_fdw_get_connections",
  // Checks and statistics read under AccessShareLock, as SELECT takes
  // (amcheck, pgstattuple, pg_visibility, pg_freespacemap, pgrowlocks,
  // pg_buffercache, old_snapshot, pg_stat_statements).
  "bt_index_check",
  "gin_index_check",
  "verify_heapam",
  "pgstattuple",
  "pgstattuple_approx",
  "pgstatindex",
  "pgstatginindex",
  "pgstathashindex",
  "pg_relpages",
  "pg_visibility",
  "pg_visibility_map",
  "pg_visibility_map_summary",
  "pg_check_frozen",
  "pg_check_visible",
  "pg_freespace",
  "pgrowlocks",
  "pg_buffercache_pages",
  "pg_buffercache_summary",
  "pg_buffercache_usage_counts",
  "pg_buffercache_numa_pages",
  "pg_old_snapshot_time_mapping",
  "pg_stat_statements",
  "pg_stat_statements_info",
  // pg_prewarm reads a relation into the caches: a read.
  "pg_prewarm",
  // pageinspect's decoders of a page given as bytea: they compute on the bytes
  // given (the functions that fetch raw pages are refused above).
  "page_header",
  "page_checksum",
  "heap_page_items",
  "heap_page_item_attrs",
  "heap_tuple_infomask_flags",
  "tuple_data_split",
  "fsm_page_contents",
  "brin_page_type",
  "brin_metapage_info",
  "brin_revmap_data",
  "brin_page_items",
  "gin_metapage_info",
  "gin_page_opaque_info",
  "gin_leafpage_items",
  "gist_page_opaque_info",
  "gist_page_items",
  "gist_page_items_bytea",
  "hash_page_type",
  "hash_page_stats",
  "hash_page_items",
  "hash_metapage_info",
  // xml2's XSLT runs under libxslt security preferences that forbid reading
  // and writing files and the network (tested: document() and exsl:document
  // are refused); it computes on the texts given.
  "xslt_process",
  // sslinfo: this connection's TLS details.
  "ssl_is_used",
  "ssl_version",
  "ssl_cipher",
  "ssl_client_cert_present",
  "ssl_client_serial",
  "ssl_client_dn",
  "ssl_issuer_dn",
  "ssl_client_dn_field",
  "ssl_issuer_field",
  "ssl_extension_info",
]);
