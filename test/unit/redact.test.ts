import { describe, expect, it } from '@jest/globals';

import { redactSecrets, withoutSecretParams } from '../../src/streams/redact.js';
import { hasTriggers } from '../../src/streams/trigger-support.js';

describe('withoutSecretParams', () => {
  it("removes the spec example's secret and keeps the endpoint", () => {
    expect(withoutSecretParams('https://some-webhook.invalid/some-endpoint?secret=some-secret')).toBe('https://some-webhook.invalid/some-endpoint');
  });

  it('removes every credential-named parameter, repeated ones too, and keeps the others in order', () => {
    const url = 'https://hooks.invalid/e/1?a=1&secret=s1&Secret=s2&signing-secret=s3&token=t&b=2&secret=s4&api_key=k';
    const out = withoutSecretParams(url);
    expect(out).toBe('https://hooks.invalid/e/1?a=1&b=2&api_key=k');
    for (const value of ['s1', 's2', 's3', 's4', '=t']) expect(out).not.toContain(value);
  });

  it('leaves a URL without credentials, and a value that is not a URL, unchanged', () => {
    expect(withoutSecretParams('https://hooks.invalid/e/1?branch=main')).toBe('https://hooks.invalid/e/1?branch=main');
    expect(withoutSecretParams('not a url?secret=x')).toBe('not a url?secret=x');
  });
});

describe('redactSecrets', () => {
  it('cleans nested URLs and drops secret fields without changing its input', () => {
    const trigger = {
      id: 't1',
      event_source: { provider: 'webhook', webhook: { url: 'https://h.invalid/e?secret=abc123&x=1', sender: 'datadog' } },
      'signing-secret': '****abcd',
      list: ['https://h.invalid/?token=zzz', 'plain ?secret= text', 3, null],
    };
    const copy = structuredClone(trigger);
    const out = redactSecrets(trigger);
    expect(out).toEqual({
      id: 't1',
      event_source: { provider: 'webhook', webhook: { url: 'https://h.invalid/e?x=1', sender: 'datadog' } },
      list: ['https://h.invalid/', 'plain ?secret= text', 3, null],
    });
    expect(trigger).toEqual(copy);
    expect(JSON.stringify(out)).not.toMatch(/abc123|zzz|abcd/);
  });
});

describe('hasTriggers', () => {
  it.each([
    ['github_app', true],
    ['bitbucket_dc', true],
    ['circleci', false],
    ['gitlab', false],
    ['github_oauth', false],
  ])('config_source.provider %s → %s', (provider, expected) => {
    expect(hasTriggers({ id: 'd', config_source: { provider } })).toBe(expected);
  });

  it('a definition without a config_source or provider is not asked', () => {
    expect(hasTriggers({ id: 'd' })).toBe(false);
    expect(hasTriggers({ id: 'd', config_source: null })).toBe(false);
    expect(hasTriggers({ id: 'd', config_source: { provider: null } })).toBe(false);
  });
});
