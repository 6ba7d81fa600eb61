import { QuantbenchError } from '../errors';

/** The fit report could not be made, or the model does not fit the chosen board. */
export class FitError extends QuantbenchError {}
