/**
 * PostgreSQL's parse tree as npm:libpg-query returns it, typed with the types
 * of the same release (npm:@pgsql/types, which libpg-query itself declares its
 * results with). They are imported as types only: nothing loads at run time.
 *
 * A node is `{ NodeType: { ...fields } }`. The helpers here unwrap one and
 * walk a tree; they are the only place where the tree is cast, because what
 * the parser gives as plain JSON has to be told, once, which node it is.
 *
 * @module
 */
import type { Node as PgNode, RangeVar } from "@pgsql/types";

/**
 * A node of the tree as the parser gives it, wrapped: `{ NodeType: { ...fields } }`.
 * (An alias, not a re-export: re-exported, deno doc --lint would ask for the
 * documentation of every type of @pgsql/types.)
 */
export type Node = PgNode;

/**
 * A node unwrapped, as a `[type, fields]` pair (`["RangeVar", { relname: "t" }]`):
 * comparing the type narrows the fields to that node's.
 */
export type NodeEntry = Node extends infer Wrapped
  ? Wrapped extends unknown ? { [Type in keyof Wrapped]: [Type, Wrapped[Type]] }[keyof Wrapped]
  : never
  : never;

/** The name of a node type: `SelectStmt`, `RangeVar`, `A_Const` ... */
export type NodeType = NodeEntry[0];

/** Each node type's fields, by the type's name (`NodeMap["RangeVar"]` is RangeVar). */
export type NodeMap = { [Entry in NodeEntry as Entry[0]]: Entry[1] };

/**
 * A node with its type, as `{ type, node }` (`{ type: "IndexStmt", node: { idxname ... } }`):
 * comparing `type` narrows `node` to that node's fields.
 */
export type TypedNode = NodeEntry extends infer Entry
  ? Entry extends [infer Type, infer Fields] ? { type: Type; node: Fields } : never
  : never;

/** `node` with its type (`{ SelectStmt: {...} }` -> `{ type: "SelectStmt", node: {...} }`). */
export function typedNode(node: Node): TypedNode;
/** `node` with its type, or undefined for none (a field the tree leaves out). */
export function typedNode(node: Node | undefined): TypedNode | undefined;
export function typedNode(node: Node | undefined): TypedNode | undefined {
  const entry = Object.entries(node ?? {})[0];
  // A node's one key is its type and the value that type's fields, which Object.entries
  // cannot know: said here once.
  return entry ? { type: entry[0], node: entry[1] } as TypedNode : undefined;
}

/**
 * The fields of `node` when it is a node of type `type` (`nodeOf(arg, "String")?.sval`),
 * else undefined: how a field that may hold any node is read as the one expected there.
 */
export function nodeOf<Type extends NodeType>(
  node: Node | undefined,
  type: Type,
): NodeMap[Type] | undefined {
  // No cast: every node is a NodeMap with one of its keys.
  const wrapped: Partial<NodeMap> = node ?? {};
  return wrapped[type];
}

/** The text of a `String` node (a name part, an option's value), else undefined. */
export function stringOf(node: Node | undefined): string | undefined {
  return nodeOf(node, "String")?.sval;
}

/**
 * Every node under `root` (a node, a node's fields, a list), with its type,
 * depth first and in the order written; a relation held unwrapped in a field
 * of its own (INSERT's, UPDATE's ...) comes as a RangeVar. Iterative: a
 * statement nested hundreds of subqueries deep must not overflow the stack.
 */
export function* walk(root: unknown): Generator<NodeEntry> {
  type Task = { visit: unknown } | { emit: NodeEntry };
  const stack: Task[] = [{ visit: root }];
  while (stack.length) {
    const task = stack.pop()!;
    if ("emit" in task) {
      yield task.emit;
      continue;
    }
    const value = task.visit;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ visit: value[i] });
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    const entries: [string, unknown][] = Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i];
      stack.push({ visit: child });
      if (child !== null && typeof child === "object" && !Array.isArray(child)) {
        // Field names are lower case, node types upper: an upper-case key is a node's type and
        // its value that node's fields (as in typedNode).
        if (/^[A-Z]/.test(key)) stack.push({ emit: [key, child] as NodeEntry });
        // A relation in a field of its own (INSERT's, UPDATE's ...) comes unwrapped: of the
        // nodes a parse tree holds, only a RangeVar has a relname (WithCheckOption, the
        // other, is the planner's).
        else if ("relname" in child && typeof child.relname === "string") {
          stack.push({ emit: ["RangeVar", child as RangeVar] });
        }
      }
    }
  }
}
