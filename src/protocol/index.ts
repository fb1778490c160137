export * from './decoder.js';
export * from './envelope.js';
export * from './errors.js';
export * from './frame.js';
export * from './opcodes.js';
export * from './schemas/index.js';
