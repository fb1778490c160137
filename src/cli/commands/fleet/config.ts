/** `agentos config set KEY VALUE`, `agentos config show`: the CLI's config file, tokens always masked. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { CONFIG_KEYS, configPath, isSecretKey, maskedConfig, maskToken, readCliConfig, setCliConfigValue } from '../../config-file.js';
import { fail, out, printJson } from '../../output.js';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description(`the CLI's config file ($AGENTOS_CONFIG, else ~/.agentos/config.yaml)`);

  config
    .command('set')
    .description(`set one key (${CONFIG_KEYS.join(', ')}); an empty value removes it`)
    .argument('<key>', 'a dotted key, e.g. relay.url')
    .argument('<value>', 'its value')
    .action(async (key: string, value: string) => {
      const path = configPath();
      try {
        await setCliConfigValue(key, value, path);
      } catch (error) {
        fail((error as Error).message);
      }
      const shown = value === '' ? '(removed)' : isSecretKey(key) ? maskToken(value) : value;
      out(`${key} = ${shown} (${path})`);
    });

  config
    .command('show')
    .description('the config, tokens masked')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const path = configPath();
      let masked: ReturnType<typeof maskedConfig>;
      try {
        masked = maskedConfig(await readCliConfig(path));
      } catch (error) {
        fail((error as Error).message);
      }
      if (flags.json) return printJson(masked);
      out(`# ${path}`);
      const text = stringify(masked).trimEnd();
      out(text === '{}' ? '# (empty)' : text);
    });
}
