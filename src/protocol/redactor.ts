/**
 * Removes secrets from text before it leaves the process. The token is registered as
 * soon as the config is read; every log line and error message passes through here, so
 * a got error that echoes request headers, or an API message that quotes the token,
 * cannot leak it. The base64 form is covered too (Basic auth headers carry it).
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(secret: string): void {
    if (secret.length < 4) return; // too short to redact without mangling ordinary text
    this.secrets.add(secret);
    this.secrets.add(Buffer.from(secret).toString('base64'));
    this.secrets.add(Buffer.from(`${secret}:`).toString('base64'));
    this.secrets.add(encodeURIComponent(secret));
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join('****');
    }
    return out;
  }
}
