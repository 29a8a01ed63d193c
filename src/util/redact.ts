/**
 * Best-effort masking of secrets in free text that ends up in events, peek, status and the
 * round-context block: explicit values (from [agent.env]) plus common token shapes.
 */
const PATTERNS: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\b(sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}|xox[abprs]-[A-Za-z0-9-]{8,}|A[KS]IA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{20,}|glpat-[A-Za-z0-9_-]{16,}|ya29\.[A-Za-z0-9_-]{16,}|npm_[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{20,}|[rs]k_live_[A-Za-z0-9]{16,})/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{12,}/gi,
];
// An environment-style name with a secret word as one of its segments (GITHUB_TOKEN, MY_SECRET_V2;
// not input_tokens or TOKENIZER_PARALLELISM), with a value that is not a bare number.
const KEY_VALUE = /\b((?:[A-Za-z0-9]+_)*(?:PASSWORD|PASSWD|TOKEN|SECRET|API_KEY|APIKEY|ACCESS_KEY|CREDENTIALS?|PRIVATE_KEY|password|token|secret|api_key|apikey)(?:_[A-Za-z0-9]+)*)=("[^"]*"|'[^']*'|(?!\d+\b)\S+)/g;
// A secret-taking flag followed by something token-shaped (not the next word of a sentence).
const FLAG_VALUE = /(--(?:token|password|api-key|apikey|secret|auth|bearer)(?:=|\s+))((?=[A-Za-z0-9._~+/=:-]*\d)[A-Za-z0-9._~+/=:-]{6,}|[A-Za-z0-9._~+/=:-]{16,})/gi;
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi;

export const MASK = '[REDACTED]';

export class Redactor {
  private readonly literals: string[];
  constructor(secretValues: Iterable<string> = []) {
    // Short values (e.g. "1") would mask half the text and are not secrets.
    this.literals = [...new Set([...secretValues].filter((s) => s.length >= 8))].sort((a, b) => b.length - a.length);
  }

  text(s: string): string {
    let out = s;
    for (const lit of this.literals) if (out.includes(lit)) out = out.split(lit).join(MASK);
    for (const re of PATTERNS) out = out.replace(re, MASK);
    out = out.replace(KEY_VALUE, (_m, k: string) => `${k}=${MASK}`);
    out = out.replace(FLAG_VALUE, (_m, flag: string) => `${flag}${MASK}`);
    out = out.replace(URL_USERINFO, (_m, scheme: string) => `${scheme}${MASK}@`);
    return out;
  }

  /** Redact every string inside a JSON-like value. */
  value<T>(x: T): T {
    if (typeof x === 'string') return this.text(x) as T;
    if (Array.isArray(x)) return x.map((e) => this.value(e)) as T;
    if (x && typeof x === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(x)) out[k] = this.value(val);
      return out as T;
    }
    return x;
  }
}
