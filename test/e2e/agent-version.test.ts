import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAKE_AGENT, readEvents, readJson, runCli, useProjects, type EventLine, type Project } from '../helpers/project.js';

// The agent CLI's version on every round: probed once per binary, recorded in round_start and
// status.json, and a change between rounds announced (agent_cli_changed) and named by the monitor
// beside the failure that follows it.

const { project } = useProjects();
const ofKind = (ev: EventLine[], k: string) => ev.filter((e) => e.event === k);

/** An executable "agent CLI" in the project: the fake agent, answering `--version` with `version`; each probe is counted. */
function installAgent(p: Project, version: string): void {
  const bin = join(p.dir, 'out', 'agent-cli');
  const probes = join(p.dir, 'out', 'probes');
  writeFileSync(bin, `#!/usr/bin/env bash\nif [ "\${1:-}" = "--version" ]; then echo x >> ${JSON.stringify(probes)}; fi\nFAKE_VERSION=${JSON.stringify(version)} exec bash ${JSON.stringify(FAKE_AGENT)} "$@"\n`);
  chmodSync(bin, 0o755);
}
const probes = (p: Project) => {
  const f = join(p.dir, 'out', 'probes');
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;
};
const setMode = (p: Project, mode: string) => writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, `FAKE_MODE = ${JSON.stringify(mode)}`));

describe('agent CLI version', () => {
  it('is recorded on every round, probed only when the binary changes; a new version emits agent_cli_changed and the monitor names it beside the failure', async () => {
    const p = project({ mode: 'commit:1' });
    installAgent(p, 'agent-cli 1.0.0');
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/^command = .*$/m, `command = [${JSON.stringify(join(p.dir, 'out', 'agent-cli'))}]`) + '[monitor]\nwindow = 4\n');

    for (let i = 0; i < 2; i++) expect((await runCli(['round', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    let ev = readEvents(p.logDir);
    expect(ofKind(ev, 'round_start').map((e) => e['agent_version'])).toEqual(['agent-cli 1.0.0', 'agent-cli 1.0.0']);
    // The second round reused the first one's answer: the binary had not changed.
    expect(probes(p)).toBe(1);
    expect(readJson(join(p.logDir, 'status.json'))['agent_version']).toBe('agent-cli 1.0.0');
    expect(ofKind(ev, 'agent_cli_changed')).toEqual([]);

    // A self-update replaces the binary between rounds, and the next round fails to authenticate.
    installAgent(p, 'agent-cli 2.0.0');
    setMode(p, 'text:Error: 401 Unauthorized - OAuth token has expired;;exit:1');
    expect((await runCli(['round', '--config', p.config], { cwd: p.dir })).code).toBe(15);
    ev = readEvents(p.logDir);
    expect(probes(p)).toBe(2);
    expect(ofKind(ev, 'round_start')[2]).toMatchObject({ round_num: 3, agent_version: 'agent-cli 2.0.0' });
    expect(ofKind(ev, 'agent_cli_changed')).toEqual([expect.objectContaining({ round_num: 3, from: 'agent-cli 1.0.0', to: 'agent-cli 2.0.0', command: join(p.dir, 'out', 'agent-cli') })]);
    // Announced before the round's agent ran.
    expect(ev.findIndex((e) => e.event === 'agent_cli_changed')).toBeLessThan(ev.findIndex((e) => e.event === 'agent_spawn' && e['round_num'] === 3));
    expect(readJson(join(p.logDir, 'status.json'))['agent_version']).toBe('agent-cli 2.0.0');

    const m = await runCli(['monitor', '--once', '--json', '--config', p.config], { cwd: p.dir });
    expect(m.code).toBe(2);
    const alerts = (JSON.parse(m.stdout.trim()) as { alerts: Array<{ detector: string; message: string; context: Record<string, unknown> }> }).alerts;
    const oauth = alerts.find((a) => a.detector === 'oauth_fail')!;
    expect(oauth.message).toContain('(agent CLI changed from agent-cli 1.0.0 to agent-cli 2.0.0 at round 3, before this failure)');
    expect(oauth.context['agent_cli_changed']).toEqual({ from: 'agent-cli 1.0.0', to: 'agent-cli 2.0.0', round_num: 3 });
  });
});
