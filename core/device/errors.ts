import { QuantbenchError } from '../errors';

/** A failure on a board link; the message always names the port. */
export class DeviceError extends QuantbenchError {}
