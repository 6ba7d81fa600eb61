import { z } from 'zod';
import type { GraphNode, LayerGraph } from './graph';

/**
 * A layer selector: a bare string is a layer name, or a glob when it holds `*` or `?`;
 * an object names exactly one of name, glob, regex or Keras type.
 */
export const selectorSchema = z.union([
  z.string().min(1),
  z.strictObject({ name: z.string().min(1) }),
  z.strictObject({ glob: z.string().min(1) }),
  z.strictObject({ regex: z.string().min(1) }),
  z.strictObject({ type: z.string().min(1) }),
]);

export type Selector = z.infer<typeof selectorSchema>;

type Normalised = { kind: 'name' | 'glob' | 'regex' | 'type'; value: string };

export function normaliseSelector(s: Selector): Normalised {
  if (typeof s === 'string')
    return /[*?]/.test(s) ? { kind: 'glob', value: s } : { kind: 'name', value: s };
  if ('name' in s) return { kind: 'name', value: s.name };
  if ('glob' in s) return { kind: 'glob', value: s.glob };
  if ('regex' in s) return { kind: 'regex', value: s.regex };
  return { kind: 'type', value: s.type };
}

export function describeSelector(s: Selector): string {
  const n = normaliseSelector(s);
  return `${n.kind} "${n.value}"`;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export function selectorMatches(s: Selector, node: GraphNode): boolean {
  const n = normaliseSelector(s);
  switch (n.kind) {
    case 'name':
      return node.name === n.value || (node.folded?.includes(n.value) ?? false);
    case 'glob':
      return globToRegExp(n.value).test(node.name);
    case 'regex':
      return new RegExp(n.value).test(node.name);
    case 'type':
      return node.kerasClass === n.value;
  }
}

/** include (all when absent) minus exclude, as a predicate over nodes. */
export function layerFilter(
  include: Selector[] | undefined,
  exclude: Selector[] | undefined,
): (node: GraphNode) => boolean {
  return (node) =>
    (include === undefined || include.some((s) => selectorMatches(s, node))) &&
    !(exclude ?? []).some((s) => selectorMatches(s, node));
}

/** True when the selector picks this node by its own name rather than by pattern. */
export function namesExplicitly(selectors: Selector[] | undefined, node: GraphNode): boolean {
  return (selectors ?? []).some((s) => {
    const n = normaliseSelector(s);
    return n.kind === 'name' && n.value === node.name;
  });
}

export function matchingNodes(graph: LayerGraph, s: Selector): GraphNode[] {
  return graph.nodes.filter((node) => selectorMatches(s, node));
}
