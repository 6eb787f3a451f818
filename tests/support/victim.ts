/**
 * What an attack is checked against: the canary table's rows, and a victim
 * session whose survival each attempt must leave intact.
 */
import type { Cluster } from "./cluster.ts";

/** The canary table's rows (`create table canary (id int primary key, v text)`). */
export const CANARY = [{ id: 1, v: "a" }, { id: 2, v: "b" }, { id: 3, v: "c" }];

/** A session of its own whose survival each attempt is checked against. */
export async function victim(cluster: Cluster) {
  const session = await cluster.session();
  const pid = session.backendPid;
  return {
    pid,
    alive: async () =>
      (await cluster.sql(`select count(*)::int as n from pg_stat_activity where pid = ${pid}`))[0]
        .n === 1,
    close: () => session.close(),
  };
}
