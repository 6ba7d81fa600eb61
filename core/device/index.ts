export { Board, type BoardOptions, type EvaluateBatch, type InvokeResult, type RequestOptions, type UploadOptions, type UploadResult } from './board';
export { DeviceError } from './errors';
export { firmwareBuildDir, qemuBoardImage, startQemuBoard, startVirtualBoard, virtualBoardBinary, type LaunchedBoard, type QemuBoardOptions, type VirtualBoardOptions } from './launch';
export { OutputComparer, type OutputComparison } from './metrics';
export { openTransport } from './open-transport';
export { listPorts, type ListPortsOptions, type PortInfo } from './ports';
export type { BenchmarkResult, HelloInfo, ModelInfo, TensorInfo, TimingStats } from './protocol';
export { pushModel, type PushOptions, type PushResult, type SampleMismatch } from './push';
export type { Transport, TransportOptions } from './transport';
