import { describe, expect, it } from '@jest/globals';

import { sanitized } from '../../src/streams/declaration.js';
import { redact, withoutSecretParams } from '../../src/streams/redact.js';
import { STREAMS } from '../../src/streams/streams.js';
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

describe('redaction of an API item', () => {
  it('drops fields, top-level and dotted, and leaves the input as it was', () => {
    const item = { name: 'NPM_TOKEN', value: 'xxxx1a2b', nested: { secret: 's3', keep: 1 } };
    const copy = structuredClone(item);
    expect(redact(item, { drop: ['value', 'nested.secret'] })).toEqual({ name: 'NPM_TOKEN', nested: { keep: 1 } });
    expect(item).toEqual(copy);
  });

  it('removes credential query parameters from URL fields and keeps the rest of the URL', () => {
    const item = { url: 'https://hooks.example.com/in?source=ci&token=abc&Signature=x&sig=y&key=z&api=v2' };
    expect(redact(item, { urls: ['url'] })).toEqual({ url: 'https://hooks.example.com/in?source=ci&api=v2' });
  });

  it('leaves an item without the declared fields, a URL without credentials and a value that is not a URL unchanged', () => {
    const item = { id: 1, url: 'https://hooks.example.com/in?source=ci', other: 'not a url ?token=1' };
    expect(redact(item, { drop: ['absent', 'id.deeper'], urls: ['url', 'other', 'missing.url'] })).toBe(item);
  });

  it("cleans a trigger's nested webhook URL through the stream's declared sanitize, without changing its input", () => {
    const trigger = { id: 't1', event_source: { provider: 'webhook', webhook: { url: 'https://h.invalid/e?secret=abc123&x=1', sender: 'datadog' } } };
    const copy = structuredClone(trigger);
    const out = sanitized(STREAMS.trigger.sanitize, trigger);
    expect(out).toEqual({ id: 't1', event_source: { provider: 'webhook', webhook: { url: 'https://h.invalid/e?x=1', sender: 'datadog' } } });
    expect(trigger).toEqual(copy);
    expect(JSON.stringify(out)).not.toContain('abc123');
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
