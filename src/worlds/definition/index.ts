/** World definitions (worlds.md §1, §7): the schema, the parser and the preset loader. */
export { isPresetName, type LoadOptions, listPresets, loadWorld, PRESET_DIR, PRESET_NAMES } from './load.js';
export {
  checkSources,
  type DefinitionProblem,
  formatPath,
  MAX_DEFINITION_BYTES,
  type ParseOptions,
  parseWorldDefinition,
  validateWorldDefinition,
  WorldDefinitionError,
} from './parse.js';
export * from './schema.js';
export {
  Duration,
  EventTime,
  MAX_DURATION_MS,
  MAX_SIZE_BYTES,
  Percent,
  PositiveDuration,
  parseDuration,
  parsePercent,
  parseSize,
  Size,
} from './units.js';
