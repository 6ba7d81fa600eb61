import { openStore, type LayerReport } from '../../core/store/index';

export interface SeededRun {
  id: number;
  recipe: string;
  int8Accuracy: number;
  tfliteBytes: number;
}

/**
 * Writes `count` finished runs through the real store API (real SQLite, real artifact
 * files), with figures that make a Pareto front: smaller models lose more accuracy.
 */
export function seedRuns(dataDir: string, count: number, layersPerRun = 6): SeededRun[] {
  const store = openStore(dataDir);
  try {
    const model = store.recordModel({ hash: 'a'.repeat(64), name: 'fashion-mnist-cnn.keras', format: 'keras' });
    const recipes = ['int8', 'int8-keep-rescaling-float', 'prune50-cluster16-int8', 'prune50-cluster16-int8-keep-rescaling-float', 'prune75-2of4-int8'];
    const out: SeededRun[] = [];
    for (let i = 0; i < count; i++) {
      const recipe = recipes[i % recipes.length]!;
      const sparsity = recipe.startsWith('prune75') ? 0.75 : recipe.startsWith('prune50') ? 0.5 : 0;
      const id = store.beginRun({ modelId: model.id, recipe: { name: recipe, seed: i }, recipeName: recipe, tags: i % 3 === 0 ? ['baseline'] : [] });
      const tfliteBytes = Math.round(60_000 * (1 - sparsity * 0.6) + (i % 7) * 512);
      const floatAccuracy = 0.905;
      const int8Accuracy = floatAccuracy - sparsity * 0.04 - (i % 5) * 0.002;
      const layers: LayerReport[] = Array.from({ length: layersPerRun }, (_, j) => ({
        name: `layer_${j}`,
        type: j % 2 ? 'BatchNormalization' : 'Conv2D',
        policy: j % 2 && recipe.includes('keep') ? 'float' : 'int8',
        sparsity: j % 2 ? undefined : sparsity,
        uniqueValues: recipe.includes('cluster16') ? 16 : 200 + j,
        sqnrDb: 30 - j - sparsity * 10,
        rmseOverScale: 0.29 + j * 0.05,
        cosine: 0.999 - j * 0.001,
      }));
      store.finishRun(id, {
        metrics: { floatAccuracy, int8Accuracy, sparsity, maxDistinctValues: recipe.includes('cluster16') ? 16 : undefined },
        sizes: { floatBytes: 200_000, tfliteBytes, gzipBytes: Math.round(tfliteBytes * (0.9 - sparsity * 0.4)) },
        layers,
        artifacts: [{ role: 'tflite', kind: 'tflite', bytes: new TextEncoder().encode(`seeded model ${i}`) }],
      });
      out.push({ id, recipe, int8Accuracy, tfliteBytes });
    }
    return out;
  } finally {
    store.close();
  }
}
