/**
 * A secret (the LLM provider's API key) that cannot leak by accident: serialising it
 * (JSON.stringify, pino, util.inspect, template strings) gives "[redacted]". Only the
 * code that sends it upstream calls reveal().
 */
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  /** `text` with every occurrence of the secret replaced: for upstream text that may echo it back. */
  scrub(text: string): string {
    return this.#value.length > 0 && text.includes(this.#value) ? text.split(this.#value).join(REDACTED) : text;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
