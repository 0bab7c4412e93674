/** parseArgs: the four commands, both flag spellings, --help and --version, and an error that says what is wrong. */
import { describe, expect, it } from '@jest/globals';

import { parseArgs } from '../../src/cli/args.js';
import { ConfigError } from '../../src/errors.js';

function rejection(argv: string[]): ConfigError {
  try {
    parseArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

describe('parseArgs accepts', () => {
  it.each([
    [['spec'], { name: 'spec' }],
    [['check', '--config', 'c.json'], { name: 'check', config: 'c.json' }],
    [['check', '--config=c.json'], { name: 'check', config: 'c.json' }],
    [['discover', '--config', '/data/config.json'], { name: 'discover', config: '/data/config.json' }],
    [['read', '--config', 'c.json', '--catalog', 'k.json'], { name: 'read', config: 'c.json', catalog: 'k.json' }],
    [['read', '--catalog=k.json', '--config=c.json', '--state=s.json'], { name: 'read', config: 'c.json', catalog: 'k.json', state: 's.json' }],
    [['read', '--config', 'c.json', '--state', 's.json', '--catalog', 'k.json'], { name: 'read', config: 'c.json', catalog: 'k.json', state: 's.json' }],
    [['check', '--config=dir/a=b.json'], { name: 'check', config: 'dir/a=b.json' }],
  ])('%j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual(expected);
  });

  it.each([
    [['--help']],
    [['-h']],
    [['help']],
    [['read', '--help']],
    [['check', '--config', 'c.json', '-h']],
    [['sync', '--help']],
  ])('%j asks for help', (argv) => {
    expect(parseArgs(argv)).toEqual({ name: 'help' });
  });

  it('a file named --help is a file, not a request for help', () => {
    expect(parseArgs(['check', '--config', '--help'])).toEqual({ name: 'check', config: '--help' });
  });

  it('--version asks for the version', () => {
    expect(parseArgs(['--version'])).toEqual({ name: 'version' });
  });

  it('read without --state has no state key', () => {
    expect(parseArgs(['read', '--config', 'c', '--catalog', 'k'])).not.toHaveProperty('state');
  });
});

describe('parseArgs rejects, with usage', () => {
  it.each([
    ['no command', [], /No command given/],
    ['unknown command', ['sync', '--config', 'c.json'], /Unknown command "sync"/],
    ['a flag where the command should be', ['--config', 'c.json'], /Unknown (command|argument)/],
    ['check without --config', ['check'], /check needs --config FILE/],
    ['discover without --config', ['discover'], /discover needs --config FILE/],
    ['read without --catalog', ['read', '--config', 'c.json'], /read needs --catalog FILE/],
    ['read without --config', ['read', '--catalog', 'k.json'], /read needs --config FILE/],
    ['--config without a value', ['check', '--config'], /--config needs a file path/],
    ['--config= with an empty value', ['check', '--config='], /--config needs a file path/],
    ['an unknown flag', ['check', '--config', 'c.json', '--verbose'], /Unknown argument "--verbose"/],
    ['an unknown --flag=value', ['check', '--debug=1', '--config', 'c.json'], /Unknown argument "--debug=1"/],
    ['a stray positional argument', ['check', '--config', 'c.json', 'extra'], /Unknown argument "extra"/],
    ['a single-dash flag', ['check', '-config', 'c.json'], /Unknown argument "-config"/],
    ['spec with --config', ['spec', '--config', 'c.json'], /spec does not take --config/],
    ['check with --catalog', ['check', '--config', 'c.json', '--catalog', 'k.json'], /check does not take --catalog/],
    ['discover with --state', ['discover', '--config', 'c.json', '--state', 's.json'], /discover does not take --state/],
    ['--version with more', ['--version', 'spec'], /Unknown argument "spec"/],
  ])('%s', (_name, argv, message) => {
    const error = rejection(argv);
    expect(error.message).toMatch(message);
    expect(error.message).toContain('usage: spec | check --config FILE');
    expect(error.failureType).toBe('config_error');
  });
});
