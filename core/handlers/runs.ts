import type { Params, Result } from '../api/contract';
import { runsToCsv } from '../store/csv';
import type { HandlerContext } from './context';

export function runHandlers(ctx: HandlerContext) {
  return {
    'runs.list': async (p: Params<'runs.list'>): Promise<Result<'runs.list'>> => ctx.store().listRuns(p),
    'runs.get': async (p: Params<'runs.get'>): Promise<Result<'runs.get'>> => ctx.store().getRun(p.id),
    'runs.compare': async (p: Params<'runs.compare'>): Promise<Result<'runs.compare'>> => ctx.store().compareRuns(p.ids),
    'runs.pareto': async (p: Params<'runs.pareto'>): Promise<Result<'runs.pareto'>> => ctx.store().paretoFront(p),
    'runs.tag': async (p: Params<'runs.tag'>): Promise<Result<'runs.tag'>> => {
      const store = ctx.store();
      if (p.add?.length) store.addTags(p.id, p.add);
      for (const tag of p.remove ?? []) store.removeTag(p.id, tag);
      return store.getRun(p.id);
    },
    'runs.note': async (p: Params<'runs.note'>): Promise<Result<'runs.note'>> => {
      ctx.store().setNotes(p.id, p.notes);
      return ctx.store().getRun(p.id);
    },
    'runs.delete': async (p: Params<'runs.delete'>): Promise<Result<'runs.delete'>> => ({
      removedArtifacts: ctx.store().deleteRun(p.id).removedArtifacts.length,
    }),
    'runs.exportCsv': async (p: Params<'runs.exportCsv'>): Promise<Result<'runs.exportCsv'>> => {
      const { runs } = ctx.store().listRuns({ filter: p.filter, limit: 1_000_000 });
      return { csv: runsToCsv(runs), rows: runs.length };
    },
  };
}
