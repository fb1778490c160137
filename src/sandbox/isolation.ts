/** The SPAWN reply's `isolation` report; its schema is a wire schema (src/protocol). */
export { IsolationReport, Mechanism, NotApplied } from '../protocol/schemas/isolation.js';
