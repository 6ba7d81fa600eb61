import { QuantbenchError } from '../../errors';

/** A fine-tuning run that cannot start or continue as asked. */
export class FineTuneError extends QuantbenchError {}
