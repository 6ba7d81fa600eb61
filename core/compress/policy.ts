import { recipeError } from './errors';
import { consumers, nodeByName, type GraphNode, type LayerGraph } from './graph';
import type { LayerPolicy, QuantizeStep } from './recipe';
import { selectorMatches } from './select';

export interface PolicyDecision {
  policy: LayerPolicy;
  /** Why: the rule that matched, or the default that applied. */
  reason: string;
}

const FOLDABLE_INTO = new Set(['conv2d', 'depthwise_conv2d', 'dense']);

/**
 * A BatchNormalization folds when it reads a Conv/Dense with no activation of its own that
 * feeds nothing else; after an activation (TF MOT's #628 case) the scale cannot move into
 * the weights.
 */
export function bnFoldTarget(graph: LayerGraph, bn: GraphNode): GraphNode | undefined {
  if (bn.op !== 'batch_norm' || bn.inputs.length !== 1) return undefined;
  const producer = nodeByName(graph, bn.inputs[0]);
  if (!producer || !FOLDABLE_INTO.has(producer.op) || producer.activation !== 'linear')
    return undefined;
  if (consumers(graph, producer.name).length !== 1 || graph.outputs.includes(producer.name))
    return undefined;
  return producer;
}

/** Rescaling folds into the input quantization only where it reads the model input directly. */
export function rescalingAtInput(graph: LayerGraph, node: GraphNode): boolean {
  return (
    node.op === 'rescaling' &&
    node.inputs.length === 1 &&
    graph.inputs.includes(node.inputs[0]) &&
    consumers(graph, node.inputs[0]).length === 1
  );
}

/**
 * An input Rescaling folds when everything it feeds is a Conv/Dense: its scale moves into
 * their kernels, so the int8 input is quantized in the raw input's units (as the converter
 * quantizes 0..255 pixels with scale 1). An offset moves into their biases, which is exact
 * only where no zero padding sees the offset.
 */
export function rescalingFoldTargets(graph: LayerGraph, node: GraphNode): GraphNode[] | undefined {
  if (!rescalingAtInput(graph, node)) return undefined;
  const targets = consumers(graph, node.name);
  const offset = node.attrs.offset ?? 0;
  const ok =
    targets.length > 0 &&
    targets.every(
      (t) =>
        FOLDABLE_INTO.has(t.op) &&
        (offset === 0 || t.op === 'dense' || t.attrs.padding === 'valid'),
    );
  return ok && !graph.outputs.includes(node.name) ? targets : undefined;
}

/** A ReLU/ReLU6 layer whose only input is a float-policy layer that feeds nothing else. */
function followsFloatLayer(
  graph: LayerGraph,
  node: GraphNode,
  decided: Map<string, PolicyDecision>,
): boolean {
  if (node.op !== 'activation' || !['relu', 'relu6'].includes(node.activation)) return false;
  const producer = node.inputs.length === 1 ? node.inputs[0]! : undefined;
  if (!producer || decided.get(producer)?.policy !== 'float') return false;
  return (
    graph.nodes.filter((n) => n.inputs.includes(producer)).length === 1 &&
    !graph.outputs.includes(producer)
  );
}

/**
 * First matching rule wins; without one, fold where foldable, a ReLU after a float layer
 * float with it, else int8.
 */
export function resolvePolicies(
  graph: LayerGraph,
  step: QuantizeStep,
): Map<string, PolicyDecision> {
  const out = new Map<string, PolicyDecision>();
  for (const node of graph.nodes) {
    if (node.op === 'input') continue;
    const ruleIndex = step.policy.findIndex((r) => r.layers.some((s) => selectorMatches(s, node)));
    const canFold =
      (node.op === 'batch_norm' && bnFoldTarget(graph, node) !== undefined) ||
      (node.op === 'rescaling' && rescalingFoldTargets(graph, node) !== undefined);
    if (ruleIndex >= 0) {
      const policy = step.policy[ruleIndex].policy;
      if (policy === 'fold' && !canFold) {
        const why =
          node.op === 'batch_norm'
            ? 'it does not directly follow a Conv2D/DepthwiseConv2D/Dense without activation that feeds only it'
            : node.op === 'rescaling'
              ? rescalingAtInput(graph, node)
                ? 'it feeds a layer other than Conv2D/DepthwiseConv2D/Dense, or has an offset that zero padding would see'
                : 'it is not the first layer after the model input'
              : 'only BatchNormalization and Rescaling layers fold';
        throw recipeError(
          `quantize policy rule ${ruleIndex + 1} says fold for layer "${node.name}" (${node.kerasClass}), but ${why}`,
          `give "${node.name}" policy int8 or float`,
        );
      }
      out.set(node.name, { policy, reason: `rule ${ruleIndex + 1}` });
    } else if (canFold) {
      out.set(node.name, { policy: 'fold', reason: 'default: foldable' });
    } else if (followsFloatLayer(graph, node, out)) {
      // Run in float with the layer it follows (fused into its last op): only the
      // activation's output gets quantized, instead of the full signed range before it too.
      out.set(node.name, {
        policy: 'float',
        reason: `default: a ${node.activation} after float layer "${node.inputs[0]}" runs fused into it`,
      });
    } else {
      out.set(node.name, {
        policy: 'int8',
        reason:
          node.op === 'batch_norm' ? 'default: cannot fold, per-channel int8 MUL+ADD' : 'default',
      });
    }
  }
  return out;
}
