/**
 * The one pattern syntax of the scripts that search by name or text
 * (find_objects.ts, query_action.ts): the text is literal, `*` matches any run
 * of characters and `?` any one; `%`, `_` and `\` mean themselves. The result
 * is an ILIKE pattern, always sent as a bind parameter.
 *
 * @module
 */

/**
 * `text` as an ILIKE pattern. Where it must match decides the script: a name
 * (`names`, the default) is found anywhere when it has no wildcard and must be
 * matched whole when it has one, so `orders*` is a prefix and `*_log` a suffix;
 * `whole` always matches the whole value; `anywhere` (query text, where `*` is
 * common) always finds the pattern anywhere in it.
 */
export function likePattern(
  text: string,
  { match = "names" }: { match?: "names" | "whole" | "anywhere" } = {},
): string {
  const literal = text.replace(/[\\%_]/g, (c) => `\\${c}`);
  const wildcards = /[*?]/.test(text);
  const pattern = literal.replaceAll("*", "%").replaceAll("?", "_");
  if (match === "whole" || (match === "names" && wildcards)) return pattern;
  return `%${pattern}%`;
}
