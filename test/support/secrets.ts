/**
 * Secret hygiene for tests: the API token must never appear in anything the connector
 * prints, in any spelling a header, URL or log could carry it in.
 *
 *   secretForms(token)          → the spellings searched for
 *   findSecret(text, token)     → the first form found (with where), or undefined
 *   assertNoSecret(text, token) → throws naming the form and showing the surroundings
 */

/** Tokens this short would match ordinary text; every real token is far longer. */
const MIN_TOKEN_LENGTH = 8;

export interface SecretForm {
  name: string;
  value: string;
}

/** The token as sent in a header, in Basic auth (user, or user and empty password) and URL-encoded. */
export function secretForms(token: string): SecretForm[] {
  if (token.length < MIN_TOKEN_LENGTH) throw new Error(`assertNoSecret: a ${token.length}-character token would match ordinary text; use a realistic token`);
  const forms: SecretForm[] = [
    { name: 'the token', value: token },
    { name: 'btoa(token)', value: btoa(token) },
    { name: "btoa(token + ':')", value: btoa(`${token}:`) },
    { name: 'encodeURIComponent(token)', value: encodeURIComponent(token) },
    // JSON.stringify escapes some characters; a token inside a JSON string looks like this.
    { name: 'the token as a JSON string', value: JSON.stringify(token).slice(1, -1) },
  ];
  // Base64 padding differs with the prefix length; the unpadded stem is what appears inside a longer value.
  for (const form of [...forms]) if (form.name.startsWith('btoa')) forms.push({ name: `${form.name} unpadded`, value: form.value.replace(/=+$/, '') });
  const seen = new Set<string>();
  return forms.filter((form) => !seen.has(form.value) && seen.add(form.value));
}

export function findSecret(text: string, token: string): { form: string; index: number } | undefined {
  for (const form of secretForms(token)) {
    const index = text.indexOf(form.value);
    if (index >= 0) return { form: form.name, index };
  }
  return undefined;
}

/** Fails when `text` holds the token in any of its forms; `label` says which output it was. */
export function assertNoSecret(text: string, token: string, label = 'output'): void {
  const found = findSecret(text, token);
  if (found === undefined) return;
  const around = text.slice(Math.max(0, found.index - 120), found.index + 40).replaceAll(token, '<TOKEN>');
  throw new Error(`${label} contains ${found.form} at offset ${found.index}: …${around}…`);
}
