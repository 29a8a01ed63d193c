import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import * as v from 'valibot';
import { ConfigError, errnoCode } from '../errors.js';
import { inertFieldsOf, type InertField } from './inert.js';
import { didYouMean, locateInArrayTable, locateKey } from './locate.js';
import { ConfigSchema, describeValue, PhaseSchema, REMOVED_KEYS, type PhaseConfig, type RawConfig } from './schema.js';

export const DEFAULT_CONFIG_NAME = 'agent-runner.toml';

export interface ResolvedPaths {
  workDir: string;
  logDir: string;
  promptFiles: string[];
  stopFile?: string;
  narrativeFile: string;
  doneSentinel: string;
  /** sandbox.writable_paths, resolved: what the agent may write besides work_dir and log_dir. */
  writablePaths: string[];
}

export interface Config extends Omit<RawConfig, 'phases'> {
  /** Absolute path of the file this config came from. */
  path: string;
  dir: string;
  project: string;
  paths: ResolvedPaths;
  phases: { list: string[]; overrides: Record<string, PhaseConfig & { promptFiles?: string[] }> };
  /** Upstream fields this file sets that have no effect here (see inert.ts). */
  inert: Array<InertField & { line?: number }>;
}

type AnySchema = v.GenericSchema & { type: string; entries?: Record<string, AnySchema>; wrapped?: AnySchema; pipe?: AnySchema[] };

/** A key path as the validator reports it: strings are table keys, numbers are array indexes. */
type KeyPath = ReadonlyArray<string | number>;
type Fail = (keyPath: KeyPath, detail: string) => never;

/** `monitor.auto_stop_on[1]`: indexes in brackets, so they cannot be mistaken for TOML keys. */
export function formatKeyPath(keyPath: KeyPath): string {
  return keyPath.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), '');
}

const isTable = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Date);

/** Whether the schema (behind optional()/pipe() wrappers) expects a TOML table. */
function expectsTable(schema: AnySchema): boolean {
  if (schema.type === 'object' || schema.type === 'record') return true;
  if (schema.wrapped) return expectsTable(schema.wrapped);
  if (schema.pipe?.[0] && schema.pipe[0] !== schema) return expectsTable(schema.pipe[0]);
  return false;
}

function issueKeyPath(issue: v.BaseIssue<unknown>): KeyPath {
  return (issue.path ?? []).map((p) => (p.type === 'array' ? Number(p.key) : String(p.key)));
}

/** The validator's message, plus a suggestion when a value from a fixed set is misspelt. */
function issueDetail(issue: v.BaseIssue<unknown>): string {
  if (issue.type === 'picklist' && typeof issue.input === 'string') {
    const options = [...issue.expected!.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    const hint = didYouMean(issue.input, options);
    if (hint) return `${issue.message} (did you mean "${hint}"?)`;
  }
  return issue.message;
}

function schemaAt(schema: AnySchema, keyPath: KeyPath): AnySchema | undefined {
  let at: AnySchema | undefined = schema;
  for (const k of keyPath) at = at && typeof k === 'string' ? objectEntries(at)?.[k] : undefined;
  return at;
}

/** The object entries behind optional()/pipe() wrappers, or undefined for non-object schemas. */
function objectEntries(schema: AnySchema): Record<string, AnySchema> | undefined {
  if (schema.type === 'object' && schema.entries) return schema.entries;
  if (schema.wrapped) return objectEntries(schema.wrapped);
  if (schema.pipe?.[0] && schema.pipe[0] !== schema) return objectEntries(schema.pipe[0]);
  return undefined;
}

export function loadConfig(configPath: string): Config {
  const path = resolve(configPath);
  let source: string;
  try {
    if (statSync(path).isDirectory()) throw new ConfigError(path, undefined, `is a directory; expected a TOML file such as ${DEFAULT_CONFIG_NAME}`);
    source = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = errnoCode(err);
    const why = code === 'ENOENT' ? 'config file not found (run `agent-runner init` to create one)' : `cannot read config file (${code ?? String(err)})`;
    throw new ConfigError(path, undefined, why);
  }
  return parseConfig(source, path);
}

export function parseConfig(source: string, path: string): Config {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(source) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new ConfigError(path, undefined, `invalid TOML: ${first} (column ${err.column})`, err.line);
    }
    throw new ConfigError(path, undefined, `invalid TOML: ${String(err)}`);
  }

  const fail: Fail = (keyPath, detail) => {
    // [[notify]] tables are found by their index; other array elements are reported on their key's line.
    if (keyPath[0] === 'notify' && typeof keyPath[1] === 'number') {
      throw new ConfigError(path, formatKeyPath(keyPath), detail, locateInArrayTable(source, 'notify', keyPath[1], typeof keyPath[2] === 'string' ? keyPath[2] : undefined));
    }
    const located = keyPath.slice(0, keyPath.findIndex((k) => typeof k === 'number') >>> 0).map(String);
    throw new ConfigError(path, formatKeyPath(keyPath), detail, locateKey(source, located));
  };

  checkUnknownKeys(doc, ConfigSchema as unknown as AnySchema, [], fail);

  const parsed = v.safeParse(ConfigSchema, doc);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const keyPath = issueKeyPath(issue);
    if (issue.input === undefined) {
      if (keyPath.length === 1 && keyPath[0] === 'agent') fail(['agent'], 'missing required table [agent] (it needs at least command = ["<agent cli>", ...])');
      // The object reports a missing key in its own words; the field's schema says what it expects.
      const field = schemaAt(ConfigSchema as unknown as AnySchema, keyPath);
      const expected = field && v.safeParse(field, undefined).issues?.[0]?.message.replace(/, got nothing$/, '');
      fail(keyPath, expected?.startsWith('expected ') ? `missing required field: ${expected}` : 'missing required field');
    }
    fail(keyPath, issueDetail(issue));
  }
  const raw = parsed.output as RawConfig;

  // ---- cross-field rules ----
  if (raw.prompt.file !== undefined && raw.prompt.files !== undefined) fail(['prompt', 'files'], 'set either prompt.file or prompt.files, not both');
  if (raw.prompt.file === undefined && raw.prompt.files === undefined) fail(['prompt', 'file'], 'missing required field: set prompt.file or prompt.files');
  if (raw.agent.prompt_delivery === 'stdin' && raw.agent.prompt_arg_template.some((a) => a.includes('{prompt}')))
    fail(['agent', 'prompt_arg_template'], 'stdin delivery: remove {prompt} from the template (the prompt is written to the agent\'s stdin)');
  if (raw.agent.prompt_delivery === 'argv' && !raw.agent.prompt_arg_template.some((a) => a.includes('{prompt}')))
    fail(['agent', 'prompt_arg_template'], 'argv delivery needs an element containing {prompt}, e.g. ["-p", "{prompt}"], or set prompt_delivery = "stdin"');
  const hh = raw.monitor.host_health;
  if (hh.disk_warning_pct >= hh.disk_critical_pct)
    fail(['monitor', 'host_health', 'disk_warning_pct'], `expected a value below disk_critical_pct (${hh.disk_critical_pct}), got ${hh.disk_warning_pct}`);

  const reserve = raw.quota.reserve;
  if (reserve && reserve.from === reserve.to) fail(['quota', 'reserve', 'to'], `expected a time other than from = "${reserve.from}" (the window would be empty), got "${reserve.to}"`);
  checkNotifyChannels(raw.notify, fail);
  if (raw.monitor.heartbeat_url !== undefined && raw.monitor.heartbeat_url_env !== undefined) fail(['monitor', 'heartbeat_url_env'], 'set either heartbeat_url or heartbeat_url_env, not both');
  if (raw.monitor.heartbeat_url !== undefined) {
    const problem = webhookUrlProblem(raw.monitor.heartbeat_url);
    if (problem) fail(['monitor', 'heartbeat_url'], problem);
  }
  const phases = parsePhases(raw.phases ?? {}, fail);

  // ---- paths ----
  const dir = dirname(path);
  const workDirRaw = expandHome(raw.runtime.work_dir.replaceAll('{project}', ''));
  const workDir = resolve(dir, workDirRaw);
  const project = raw.runtime.project ?? (basename(workDir) || 'default');
  const p = (s: string) => resolve(dir, expandHome(s.replaceAll('{project}', project)));
  const logDir = p(raw.runtime.log_dir);
  const promptFiles = (raw.prompt.files ?? [raw.prompt.file!]).map(p);
  for (const [name, o] of Object.entries(phases.overrides)) {
    const files = o.prompt?.files ?? (o.prompt?.file ? [o.prompt.file] : undefined);
    if (files) phases.overrides[name] = { ...o, promptFiles: files.map(p) };
  }
  const sentinel = raw.runtime.done_sentinel;
  const paths: ResolvedPaths = {
    workDir,
    logDir,
    promptFiles,
    narrativeFile: raw.runtime.narrative_file ? p(raw.runtime.narrative_file) : resolve(logDir, 'narrative.md'),
    doneSentinel: isAbsolute(expandHome(sentinel)) ? expandHome(sentinel) : resolve(logDir, sentinel),
    ...(raw.runtime.stop_file ? { stopFile: p(raw.runtime.stop_file) } : {}),
    writablePaths: raw.sandbox.writable_paths.map(p),
  };

  const inert = inertFieldsOf(doc).map((f) => {
    const line = locateKey(source, f.key.split('.'));
    return line ? { ...f, line } : f;
  });

  return { ...raw, path, dir, project, paths, phases, inert };
}

function parsePhases(table: Record<string, unknown>, fail: Fail): Config['phases'] {
  const list = table['list'];
  if (list !== undefined && (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x === '')))
    fail(['phases', 'list'], 'expected an array of phase names');
  const names = (list as string[] | undefined) ?? [];
  const overrides: Config['phases']['overrides'] = {};
  for (const [key, value] of Object.entries(table)) {
    if (key === 'list') continue;
    if (!isTable(value)) {
      const hint = didYouMean(key, ['list']);
      fail(['phases', key], hint ? `unknown key (did you mean "${hint}"?)` : 'unknown key; expected `list` or a [phases.<name>] table');
    }
    if (!names.includes(key)) fail(['phases', key], `phase "${key}" is declared but not in phases.list (${JSON.stringify(names)})`);
    checkUnknownKeys(value, PhaseSchema as unknown as AnySchema, ['phases', key], fail);
    const r = v.safeParse(PhaseSchema, value);
    if (!r.success) {
      const issue = r.issues[0];
      fail(['phases', key, ...issueKeyPath(issue)], issueDetail(issue));
    }
    const phase = r.output as PhaseConfig;
    if (phase.prompt?.file !== undefined && phase.prompt.files !== undefined)
      fail(['phases', key, 'prompt', 'files'], 'set either prompt.file or prompt.files, not both');
    overrides[key] = phase;
  }
  return { list: names, overrides };
}

/** What each channel type needs, beyond the schema: one line naming the [[notify]] table and key. */
function checkNotifyChannels(channels: RawConfig['notify'], fail: Fail): void {
  const names = new Set<string>();
  channels.forEach((ch, i) => {
    const at = (key: string) => ['notify', i, key];
    if (names.has(ch.name)) fail(at('name'), `expected a name no other [[notify]] table has, got "${ch.name}" twice`);
    names.add(ch.name);
    if (ch.type === 'command') {
      if (!ch.command) fail(at('command'), 'missing required field for type = "command": expected an array of strings, e.g. ["/usr/local/bin/page-me"]');
      for (const k of ['url', 'url_env', 'chat_id', 'bot_token_env'] as const) if (ch[k] !== undefined) fail(at(k), 'only webhook channels take this key (type = "command")');
      return;
    }
    if (ch.command) fail(at('command'), 'only command channels take this key (type = "webhook")');
    const sources = [ch.url, ch.url_env, ch.bot_token_env].filter((x) => x !== undefined).length;
    if (sources === 0) fail(at('url'), `missing required field for type = "webhook": expected url = "https://…" or url_env = "NAME"${ch.format === 'telegram' ? ' or bot_token_env = "NAME"' : ''}`);
    if (sources > 1) fail(at(ch.url !== undefined ? 'url' : 'url_env'), 'expected exactly one of url, url_env and bot_token_env');
    if (ch.bot_token_env !== undefined && ch.format !== 'telegram') fail(at('bot_token_env'), 'only format = "telegram" takes a bot token');
    if (ch.format === 'telegram' && ch.chat_id === undefined) fail(at('chat_id'), 'missing required field for format = "telegram": expected the chat id, e.g. chat_id = "-1001234567890"');
    if (ch.url !== undefined) {
      const problem = webhookUrlProblem(ch.url);
      if (problem) fail(at('url'), problem);
    }
  });
}

/** HTTPS anywhere; plain HTTP only to this host (a receiver on loopback). */
export function webhookUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'expected an https:// URL (or http:// to 127.0.0.1, ::1 or localhost), got something that is not a URL';
  }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname)) return undefined;
  return `expected an https:// URL (or http:// to 127.0.0.1, ::1 or localhost), got a ${u.protocol.replace(/:$/, '')} URL to ${u.hostname || 'nowhere'}`;
}

function checkUnknownKeys(value: Record<string, unknown>, schema: AnySchema, at: KeyPath, fail: Fail): void {
  const entries = objectEntries(schema);
  if (!entries) return;
  for (const key of Object.keys(value)) {
    const keyPath = [...at, key];
    const removed = REMOVED_KEYS[keyPath.join('.')];
    if (removed) fail(keyPath, removed);
    const sub = entries[key];
    if (!sub) {
      const hint = didYouMean(key, Object.keys(entries));
      const where = at.length ? (typeof at.at(-1) === 'number' ? `[[${at.filter((k) => typeof k === 'string').join('.')}]]` : `[${formatKeyPath(at)}]`) : 'the top level';
      fail(keyPath, hint ? `unknown key (did you mean "${hint}"?)` : `unknown key; ${where} accepts ${Object.keys(entries).join(', ')}`);
    }
    const child = value[key];
    if (expectsTable(sub)) {
      // `[[runtime]]` or `runtime = 5` would otherwise slip through as an empty table of defaults.
      if (!isTable(child)) fail(keyPath, `expected a table [${keyPath.join('.')}], got ${describeValue(child)}`);
      checkUnknownKeys(child, sub, keyPath, fail);
    }
    // [[notify]]: every table of the array has its keys checked too.
    const item = arrayItem(sub);
    if (item && Array.isArray(child)) child.forEach((el, i) => isTable(el) && checkUnknownKeys(el, item, [...keyPath, i], fail));
  }
}

/** The item schema of an array of tables, behind optional()/pipe() wrappers. */
function arrayItem(schema: AnySchema): AnySchema | undefined {
  const s = schema as AnySchema & { item?: AnySchema };
  if (s.type === 'array') return s.item && objectEntries(s.item) ? s.item : undefined;
  if (s.wrapped) return arrayItem(s.wrapped);
  if (s.pipe?.[0] && s.pipe[0] !== s) return arrayItem(s.pipe[0]);
  return undefined;
}

export function expandHome(p: string): string {
  if (p === '~') return process.env['HOME'] ?? homedir();
  if (p.startsWith('~/')) return resolve(process.env['HOME'] ?? homedir(), p.slice(2));
  return p;
}

/** One line naming a field that has no effect: `file:line: key: has no effect (why)`. */
export function describeInert(cfg: Pick<Config, 'path'>, f: Config['inert'][number]): string {
  return `${cfg.path}${f.line ? `:${f.line}` : ''}: ${f.key}: has no effect (${f.why})`;
}

/** The effective round timeout for a phase. */
export function timeoutFor(cfg: Config, phase: string | undefined): number {
  return (phase && cfg.phases.overrides[phase]?.round_timeout_s) || cfg.runtime.round_timeout_s;
}

export function promptFilesFor(cfg: Config, phase: string | undefined): string[] {
  return (phase && cfg.phases.overrides[phase]?.promptFiles) || cfg.paths.promptFiles;
}
