// graph.reachable_paths, after OPA's topdown/reachable.go: every path from the initial vertices until a vertex without
// edges, a vertex missing from the graph, or a vertex already on the path.
import { BuiltinError, type BuiltinTable } from './types.js';
import { typeOf } from './strings.js';
import { asSet } from './rego-order.js';

type Graph = Record<string, unknown>;

/** Object keys are strings: only a string vertex can have edges. */
const edgesOf = (graph: Graph, v: unknown): unknown => (typeof v === 'string' && Object.hasOwn(graph, v) ? graph[v] : undefined);
const edgeList = (edges: unknown): unknown[] => (Array.isArray(edges) ? edges : []);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function walk(graph: Graph, root: unknown, path: unknown[], out: unknown[][], reached: unknown[]): void {
  const edges = edgesOf(graph, root);
  if (edges === undefined) {
    out.push(path);
    return;
  }
  const here = [...path, root];
  const next = edgeList(edges);
  if (next.length === 0) {
    out.push(here);
    return;
  }
  const seen = [...reached, root];
  for (const neighbor of next) {
    if (seen.some((r) => same(r, neighbor))) out.push(here);
    else walk(graph, neighbor, here, out, seen);
  }
}

export const graphBuiltins: BuiltinTable = {
  'graph.reachable_paths': (graph, initial) => {
    if (!graph || typeof graph !== 'object' || Array.isArray(graph)) {
      throw new BuiltinError('graph.reachable_paths', `operand 1 must be object but got ${typeOf(graph)}`);
    }
    if (!Array.isArray(initial)) throw new BuiltinError('graph.reachable_paths', `operand 2 must be one of {array, set} but got ${typeOf(initial)}`);
    const out: unknown[][] = [];
    for (const node of initial) {
      const edges = edgesOf(graph as Graph, node);
      if (edges === undefined) continue;
      const next = edgeList(edges);
      if (next.length === 0) out.push([node]);
      for (const neighbor of next) walk(graph as Graph, neighbor, [node], out, [node]);
    }
    return asSet(out);
  },
};
