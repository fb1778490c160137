/**
 * A program's options read as its getopt("+...") reads them: up to the first operand or
 * `--`, unique prefixes of long options accepted. An option not in the spec, or a word
 * known only at run time where an option may stand, is reported rather than guessed.
 */
import { knownValue, literalWord, staticValue, type Word } from './words.js';

export interface OptionSpec {
  /** Short options without a value. */
  flags?: string;
  /** Short options with a value (attached, or the next word). */
  values?: string;
  /** Short options with an optional value, attached only (`xargs -i{}`). */
  optional?: string;
  /** Long options without the leading `--`; unique prefixes are accepted, as getopt_long does. */
  long?: Record<string, 'flag' | 'value' | 'optional'>;
  /** `-5` is an option (nice). */
  numbers?: boolean;
  /** A lone `-` is an option (env). */
  dash?: boolean;
}

export interface Option {
  name: string;
  value: Word | null;
}

export type Scan = { options: Option[]; rest: Word[] } | { problem: string };
/** Options up to the first operand (or `--`), as the wrappers' getopt("+...") reads them. */
export function scanOptions(words: readonly Word[], spec: OptionSpec, program: string): Scan {
  const options: Option[] = [];
  let i = 0;
  for (; i < words.length; i++) {
    const word = words[i]!;
    const value = staticValue(word);
    if (value === null) {
      // An expansion here could be an option, or the program: either way it is unknown.
      if (knownValue(word)?.startsWith('-') === false) break;
      return { problem: `${program}: cannot tell where its command starts ("${word.source}" is known only when it runs)` };
    }
    if (value === '--') {
      i++;
      break;
    }
    if (value === '-') {
      if (!spec.dash) break;
      options.push({ name: '-', value: null });
      continue;
    }
    if (!value.startsWith('-')) break;
    if (value.startsWith('--')) {
      const eq = value.indexOf('=');
      const written = value.slice(2, eq < 0 ? undefined : eq);
      const name = longName(written, spec.long ?? {});
      if (name === null) return { problem: `${program}: option "--${written}" is not one this parser knows` };
      const kind = spec.long![name]!;
      let optionValue: Word | null = eq < 0 ? null : literalWord(value.slice(eq + 1));
      if (kind === 'value' && eq < 0) {
        optionValue = words[i + 1] ?? null;
        if (optionValue === null) return { problem: `${program}: option "--${name}" lacks its value` };
        i++;
      }
      options.push({ name, value: optionValue });
      continue;
    }
    if (spec.numbers && /^-\d+$/.test(value)) {
      options.push({ name: value.slice(1), value: null });
      continue;
    }
    for (let k = 1; k < value.length; k++) {
      const letter = value[k]!;
      const attached = value.slice(k + 1);
      if (spec.flags?.includes(letter)) options.push({ name: letter, value: null });
      else if (spec.values?.includes(letter)) {
        const optionValue: Word | null = attached ? literalWord(attached) : (words[i + 1] ?? null);
        if (optionValue === null) return { problem: `${program}: option "-${letter}" lacks its value` };
        if (!attached) i++;
        options.push({ name: letter, value: optionValue });
        break;
      } else if (spec.optional?.includes(letter)) {
        options.push({ name: letter, value: attached ? literalWord(attached) : null });
        break;
      } else return { problem: `${program}: option "-${letter}" is not one this parser knows` };
    }
  }
  return { options, rest: words.slice(i) };
}

function longName(written: string, long: Record<string, unknown>): string | null {
  if (written in long) return written;
  const candidates = Object.keys(long).filter((name) => name.startsWith(written));
  return candidates.length === 1 ? candidates[0]! : null;
}

export const has = (options: readonly Option[], ...names: string[]) => options.some((option) => names.includes(option.name));
export const optionValue = (options: readonly Option[], ...names: string[]) =>
  options.findLast((option) => names.includes(option.name))?.value;
