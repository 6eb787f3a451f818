/**
 * Doctor's thresholds: every pair that grades a measured value, with its
 * default, the options they make (`--<name>-warning`, `--<name>-critical`) and
 * those options read back. A check names its threshold; its grade comes from
 * `grade` in `check.ts`.
 *
 * @module
 */
import { parseDecimal } from "../../core/numbers.ts";
import { UsageError } from "../../core/errors.ts";

/** A threshold pair that grades a measured value. */
export interface ThresholdSpec {
  /** The option stem: `--<name>-warning`, `--<name>-critical`. */
  name: string;
  /** How values and thresholds are counted: `%`, `IDs`, `minutes`, `seconds`, `MiB`, `hours`. */
  unit: string;
  /** Which way is worse. */
  worse: "above" | "below";
  /** The default warning threshold. */
  warning: number;
  /** The default critical threshold; null for a check that warns only (no `--<name>-critical`). */
  critical: number | null;
  /** Largest value accepted (percentages stop at 100). */
  max: number;
  /** What the threshold measures, for --help. */
  help: string;
}

/** Every threshold, with its default: the options of doctor.ts. */
export const THRESHOLDS: ThresholdSpec[] = [
  {
    name: "connections",
    unit: "%",
    worse: "above",
    warning: 70,
    critical: 90,
    max: 100,
    help: "connection slots in use (of those ordinary roles may use)",
  },
  {
    name: "cache-hit",
    unit: "%",
    worse: "below",
    warning: 99,
    critical: 95,
    max: 100,
    help: "table and index blocks found in shared buffers",
  },
  {
    name: "wraparound",
    unit: "IDs",
    worse: "above",
    warning: 1_000_000_000,
    critical: 1_500_000_000,
    max: 2_147_483_647,
    help: "age of the oldest transaction or multixact ID\n      (IDs wrap around at 2^31)",
  },
  {
    name: "sequence",
    unit: "%",
    worse: "above",
    warning: 75,
    critical: 90,
    max: 100,
    help: "share of a sequence's range, or of the column type it feeds, used",
  },
  {
    name: "idle-transaction",
    unit: "minutes",
    worse: "above",
    warning: 5,
    critical: 60,
    max: 1_000_000,
    help: "a session idle inside an open transaction, or a prepared transaction waiting",
  },
  {
    name: "long-query",
    unit: "minutes",
    worse: "above",
    warning: 5,
    critical: 60,
    max: 1_000_000,
    help: "a query running",
  },
  {
    name: "blocked",
    unit: "seconds",
    worse: "above",
    warning: 5,
    critical: 60,
    max: 100_000_000,
    help: "a session waiting for a lock another session holds",
  },
  {
    name: "standby-lag",
    unit: "seconds",
    worse: "above",
    warning: 60,
    critical: 300,
    max: 100_000_000,
    help: "replay lag of a standby",
  },
  {
    name: "slot-wal",
    unit: "MiB",
    worse: "above",
    warning: 1024,
    critical: 10240,
    max: 100_000_000,
    help: "WAL a replication slot keeps from removal",
  },
  {
    name: "checkpoints-requested",
    unit: "%",
    worse: "above",
    warning: 50,
    critical: 90,
    max: 100,
    help: "share of checkpoints requested (WAL filled max_wal_size, or a CHECKPOINT)\n" +
      "      rather than timed, judged from 10 checkpoints on",
  },
  {
    name: "stats-age",
    unit: "hours",
    worse: "below",
    warning: 168,
    critical: null,
    max: 1_000_000,
    help: "time since this database's activity counters were reset (while younger,\n" +
      "      unused_indexes is skipped and cache_hit at most a warning)",
  },
  {
    name: "fk-table-size",
    unit: "MiB",
    worse: "above",
    warning: 10,
    critical: 1024,
    max: 100_000_000,
    help: "size of a table with a foreign key no index supports (every delete or key\n" +
      "      update of the referenced table scans it)",
  },
  {
    name: "table-bloat",
    unit: "MiB",
    worse: "above",
    warning: 100,
    critical: 1024,
    max: 100_000_000,
    help: "space of a table estimated wasted (from its statistics), counted when its\n" +
      "      share is past --table-bloat-ratio too",
  },
  {
    name: "table-bloat-ratio",
    unit: "%",
    worse: "above",
    warning: 50,
    critical: 75,
    max: 100,
    help: "share of a table's pages estimated wasted, counted when the space is past\n" +
      "      --table-bloat too",
  },
];

/** Threshold values by name, after the options; no `critical` for one that warns only. */
export type Thresholds = Record<string, { warning: number; critical?: number }>;

/** The option names the thresholds take: `--<name>-warning`, and `--<name>-critical` where one grades. */
export function thresholdOptions(): string[] {
  return THRESHOLDS.flatMap((t) => [
    `${t.name}-warning`,
    ...(t.critical === null ? [] : [`${t.name}-critical`]),
  ]);
}

/**
 * The thresholds from `--<name>-warning` / `--<name>-critical` option values
 * (numbers, decimals allowed), defaults for the others; a warning must not be
 * past its critical.
 */
export function parseThresholds(values: Record<string, unknown>): Thresholds {
  const thresholds: Thresholds = {};
  for (const spec of THRESHOLDS) {
    const read = (level: "warning" | "critical", fallback: number) => {
      const option = `${spec.name}-${level}`;
      const text = values[option];
      return text === undefined ? fallback : parseDecimal(String(text), `--${option}`, spec);
    };
    const warning = read("warning", spec.warning);
    if (spec.critical === null) {
      thresholds[spec.name] = { warning };
      continue;
    }
    const critical = read("critical", spec.critical);
    const inOrder = spec.worse === "above" ? warning <= critical : warning >= critical;
    if (!inOrder) {
      throw new UsageError(
        `--${spec.name}-warning (${warning}) must be ${
          spec.worse === "above" ? "at most" : "at least"
        } --${spec.name}-critical (${critical})`,
      );
    }
    thresholds[spec.name] = { warning, critical };
  }
  return thresholds;
}
