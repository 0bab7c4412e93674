import { describe, expect, it } from '@jest/globals';

import { redact, withoutSecretParams } from '../../src/streams/redaction.js';

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
    expect(withoutSecretParams('not a url ?token=1')).toBe('not a url ?token=1');
  });
});
