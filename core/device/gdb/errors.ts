import { QuantbenchError } from '../../errors';

/** A firmware image that cannot be loaded; the message names the file. */
export class FirmwareImageError extends QuantbenchError {}

/** A failure talking to a GDB server; the message names its address. */
export class GdbError extends QuantbenchError {}
