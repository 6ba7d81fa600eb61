import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { ModelEntry, ModelView, Params, Result } from '../api/contract';
import { weightHistogram } from '../model/histogram';
import { QuantbenchError } from '../errors';
import type { ImportedModel } from '../model/index';
import type { Json, ModelRecord } from '../store/index';
import { sampleModelPath } from '../app/sample';
import type { HandlerContext } from './context';

const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
const importable = new Set(['.keras', '.h5', '.hdf5', '.json']);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes an upload after checking, from the text alone, that it is base64 and that it decodes
 * to at most `maxBytes`: Buffer.from would skip stray characters silently and allocate first.
 */
export function decodeUpload(text: string, name: string, maxBytes: number): Buffer {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const decodedSize = Math.floor((text.length * 3) / 4) - padding;
  if (decodedSize > maxBytes) {
    throw new QuantbenchError('MODEL_TOO_LARGE', `${name}: ${decodedSize} bytes, more than the ${maxBytes} an upload may have`, {
      hint: 'import a large model from the command line (quantbench inspect / compress take a path)',
    });
  }
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new QuantbenchError('MODEL_UPLOAD_INVALID', `${name}: the upload is not valid base64`, {
      hint: 'send the file bytes base64-encoded (RFC 4648, with padding)',
    });
  }
  return Buffer.from(text, 'base64');
}

function kernelOf(model: tf.LayersModel, layerName: string): Float32Array | null {
  const layer = model.layers.find((l) => l.name === layerName);
  const kernel = layer?.weights.find((w) => /(^|\/)(kernel|depthwise_kernel)$/.test(w.originalName));
  return kernel ? (kernel.read().dataSync() as Float32Array) : null;
}

function entryOf(record: ModelRecord, sample: string): ModelEntry {
  const summary = (record.layerSummary ?? {}) as { layers?: number; params?: number; inputShape?: (number | null)[]; kerasVersion?: string };
  return {
    id: record.id,
    name: record.name,
    format: record.format,
    hash: record.hash,
    path: record.sourcePath ?? '',
    layers: summary.layers ?? 0,
    params: summary.params ?? 0,
    inputShape: summary.inputShape ?? [],
    kerasVersion: summary.kerasVersion ?? null,
    isSample: record.sourcePath === sample,
    createdAt: record.createdAt,
  };
}

/** tfjs and the importers load on first use, so faces that never touch a model start fast. */
async function loadModel(file: string): Promise<ImportedModel> {
  return (await import('../model/index')).loadModel(file);
}

export function modelHandlers(ctx: HandlerContext) {
  const modelsDir = path.join(ctx.dataDir, 'models');

  /** Imports a file the user chose: checks it loads, keeps a copy under the data directory, records it. */
  async function importFile(file: string, displayName: string): Promise<ModelEntry> {
    const imported = await loadModel(file);
    imported.model.dispose();
    const bytes = readFileSync(imported.path);
    const hash = createHash('sha256').update(bytes).digest('hex');
    const record = ctx.store().recordModel({
      hash,
      name: displayName,
      sourcePath: imported.path,
      format: imported.format,
      layerSummary: summaryJson(imported),
    });
    return entryOf(record, sampleModelPath());
  }

  return {
    'models.list': async (): Promise<Result<'models.list'>> =>
      ctx
        .store()
        .listModels()
        .map((m) => entryOf(m, sampleModelPath())),

    'models.upload': async (p: Params<'models.upload'>): Promise<Result<'models.upload'>> => {
      const ext = path.extname(p.name).toLowerCase();
      if (!importable.has(ext)) {
        throw new QuantbenchError('MODEL_FORMAT_UNSUPPORTED', `${p.name}: Quantbench imports .keras, .h5/.hdf5 and tfjs model.json files`, {
          hint: 'save the model from Keras with model.save("model.keras")',
        });
      }
      const bytes = decodeUpload(p.dataBase64, p.name, MAX_UPLOAD_BYTES);
      const hash = createHash('sha256').update(bytes).digest('hex');
      mkdirSync(modelsDir, { recursive: true });
      const target = path.join(modelsDir, `${hash}${ext}`);
      if (!existsSync(target)) {
        // Written aside then renamed, so a half-written upload never looks like a model.
        writeFileSync(`${target}.partial`, bytes);
        renameSync(`${target}.partial`, target);
      }
      return importFile(target, path.basename(p.name));
    },

    'models.importSample': async (): Promise<Result<'models.importSample'>> => importFile(sampleModelPath(), path.basename(sampleModelPath())),

    'models.get': async (p: Params<'models.get'>): Promise<Result<'models.get'>> => {
      const record = ctx.store().getModel(p.id);
      if (!record.sourcePath || !existsSync(record.sourcePath)) {
        throw new QuantbenchError('MODEL_FILE_MISSING', `model #${p.id} (${record.name}): its file ${record.sourcePath ?? '(none)'} is gone`, {
          hint: 'import the model again',
        });
      }
      const imported = await loadModel(record.sourcePath);
      try {
        const view: ModelView = {
          model: entryOf(record, sampleModelPath()),
          inputShape: imported.inputShape,
          outputShape: imported.outputShape,
          layers: imported.layers.map((l) => {
            const kernel = kernelOf(imported.model, l.name);
            return {
              name: l.name,
              className: l.className,
              outputShape: (Array.isArray(l.outputShape[0]) ? l.outputShape[0] : l.outputShape) as (number | null)[],
              params: l.params,
              macs: l.macs,
              histogram: kernel ? weightHistogram(kernel) : null,
            };
          }),
          totals: {
            params: imported.layers.reduce((s, l) => s + l.params, 0),
            macs: imported.layers.reduce((s, l) => s + l.macs, 0),
          },
        };
        return view;
      } finally {
        imported.model.dispose();
      }
    },
  };
}

function summaryJson(imported: ImportedModel): Json {
  return {
    layers: imported.layers.length,
    params: imported.layers.reduce((s, l) => s + l.params, 0),
    inputShape: imported.inputShape,
    kerasVersion: imported.kerasVersion ?? null,
    classes: [...new Set(imported.layers.map((l) => l.className))],
  };
}
