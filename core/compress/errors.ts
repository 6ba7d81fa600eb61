import { QuantbenchError } from '../errors';

/** A recipe, a layer rule or a compression step that cannot run as asked. */
export class CompressError extends QuantbenchError {}

export function recipeError(message: string, hint: string): CompressError {
  return new CompressError('RECIPE_INVALID', message, { hint });
}
