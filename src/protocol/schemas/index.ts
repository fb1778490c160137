export * from './common.js';
export * from './core.js';
export * from './files.js';
export * from './permissions.js';
export * from './process.js';
