/** The one pattern syntax of find_objects.ts and query_action.ts (lib/sql/like_pattern.ts). */
import assert from "node:assert/strict";
import { likePattern } from "../../lib/sql/like_pattern.ts";

Deno.test("likePattern: * and ? are wildcards; %, _ and \\ mean themselves", () => {
  const cases: [string, Parameters<typeof likePattern>[1], string][] = [
    ["orders", {}, "%orders%"],
    ["orders*", {}, "orders%"],
    ["*_log", {}, "%\\_log"],
    ["a?c", {}, "a_c"],
    ["100%", {}, "%100\\%%"],
    ["back\\slash", {}, "%back\\\\slash%"],
    ["public", { match: "whole" }, "public"],
    ["pub*", { match: "whole" }, "pub%"],
    ["select * from user_events", { match: "anywhere" }, "%select % from user\\_events%"],
    ["pg_sleep(60)", { match: "anywhere" }, "%pg\\_sleep(60)%"],
  ];
  for (const [text, options, expected] of cases) {
    assert.equal(likePattern(text, options), expected, text);
  }
});
