import { ConfigError } from '../errors.js';
import { USAGE } from './usage.js';

/** The four Airbyte commands: their stdout is protocol messages only. */
export type Command =
  | { name: 'spec' }
  | { name: 'check'; config: string }
  | { name: 'discover'; config: string }
  | { name: 'read'; config: string; catalog: string; state?: string };

/** A command line: one of the four commands, or `--help` / `--version` for a person at a terminal (plain text). */
export type Invocation = Command | { name: 'help' } | { name: 'version' };

const HELP_FLAGS = ['--help', '-h', 'help'];

/** Parses argv (without node and the script). Throws a ConfigError that says what is wrong. */
export function parseArgs(argv: string[]): Invocation {
  const [name, ...rest] = argv;
  // `--help` anywhere in place of a flag (`read --help` too) asks for help, not a run.
  if ((name !== undefined && HELP_FLAGS.includes(name)) || rest.some((arg, i) => (arg === '--help' || arg === '-h') && !isFlagValue(rest, i))) {
    return { name: 'help' };
  }
  if (name === '--version' && rest.length === 0) return { name: 'version' };
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i]!;
    const eq = arg.indexOf('=');
    const [flag, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (!['--config', '--catalog', '--state'].includes(flag)) throw new ConfigError(`Unknown argument "${arg}"; ${USAGE}`);
    const value = inline ?? rest[++i];
    if (value === undefined || value === '') throw new ConfigError(`${flag} needs a file path; ${USAGE}`);
    flags.set(flag.slice(2), value);
  }
  const need = (flag: string): string => {
    const value = flags.get(flag);
    if (value === undefined) throw new ConfigError(`${name} needs --${flag} FILE; ${USAGE}`);
    return value;
  };
  const allow = (...allowed: string[]) => {
    for (const flag of flags.keys()) if (!allowed.includes(flag)) throw new ConfigError(`${name} does not take --${flag}; ${USAGE}`);
  };
  switch (name) {
    case 'spec':
      allow();
      return { name };
    case 'check':
    case 'discover':
      allow('config');
      return { name, config: need('config') };
    case 'read': {
      allow('config', 'catalog', 'state');
      const state = flags.get('state');
      return { name, config: need('config'), catalog: need('catalog'), ...(state !== undefined ? { state } : {}) };
    }
    case undefined:
      throw new ConfigError(`No command given; ${USAGE}`);
    default:
      throw new ConfigError(`Unknown command "${name}"; ${USAGE}`);
  }
}

/** Whether rest[i] is the value of the flag before it (`--config --help` names a file). */
function isFlagValue(rest: string[], i: number): boolean {
  const previous = rest[i - 1];
  return previous !== undefined && ['--config', '--catalog', '--state'].includes(previous);
}
