/**
 * Watching the processes a test started, and only those: other users' and
 * other tests' processes on the machine are none of its business.
 */

/** The parent of each process now running, from /proc/<pid>/stat. */
async function parents(): Promise<Map<number, number>> {
  const map = new Map<number, number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // The command name in parentheses may hold spaces; the ppid follows it.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      map.set(Number(entry.name), ppid);
    } catch {
      // Ended meanwhile.
    }
  }
  return map;
}

/** The command lines of `root` and its descendants now running. */
async function family(root: number): Promise<string[]> {
  const map = await parents();
  const members = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of map) {
      if (!members.has(pid) && members.has(ppid)) {
        members.add(pid);
        grew = true;
      }
    }
  }
  const lines: string[] = [];
  for (const pid of members) {
    try {
      lines.push((await Deno.readTextFile(`/proc/${pid}/cmdline`)).replaceAll("\0", " ").trim());
    } catch {
      // Ended meanwhile.
    }
  }
  return lines.filter(Boolean);
}

/**
 * Every distinct command line seen in the process tree of `root` (a script
 * the test spawned) until `done` settles, looking every 25 ms.
 */
export async function watchFamily(root: number, done: Promise<unknown>): Promise<string[]> {
  let finished = false;
  done.finally(() => finished = true).catch(() => {});
  const seen = new Set<string>();
  while (!finished) {
    for (const line of await family(root)) seen.add(line);
    await new Promise((r) => setTimeout(r, 25));
  }
  return [...seen];
}
