export * from './contract';
export * from './methods';
export * from './wire';
export * from './client';
