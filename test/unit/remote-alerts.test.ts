import { describe, expect, it } from 'vitest';
import { stepRemoteFailure } from '../../src/monitor/remote-alerts.js';
import type { AlertSet } from '../../src/monitor/alerts.js';
import type { Diagnosis } from '../../src/monitor/remote-diagnosis.js';

const d = (kind: Diagnosis['kind'], message = 'why'): Diagnosis => ({ kind, message, fix: `fix ${kind}`, exitCode: 255 });
const outage = { attempt: 1, cap_s: 90 };

describe('stepRemoteFailure', () => {
  it('fires the diagnosis once, with its fix, and keeps what was firing before the outage', () => {
    const prev: AlertSet = { 'oauth_fail|': { detector: 'oauth_fail', subject: '', severity: 'critical', since: 't0', message: 'm', auto_action: 'stop_service' } };
    const a = stepRemoteFailure(prev, d('host_unreachable'), 'pi', 't1', outage);
    expect(a.fired.map((r) => [r.detector, r.severity, r.fix])).toEqual([['host_unreachable', 'unknown', 'fix host_unreachable']]);
    expect(Object.keys(a.next).sort()).toEqual(['host_unreachable|', 'oauth_fail|']);
    const again = stepRemoteFailure(a.next, d('host_unreachable', 'other words'), 'pi', 't2', { attempt: 2, cap_s: 90 });
    expect(again.fired).toEqual([]);
    expect(again.current).toMatchObject({ detector: 'host_unreachable', since: 't1', state: 'firing' });
  });

  it('a new reason resolves the old one and fires itself', () => {
    const a = stepRemoteFailure({}, d('host_unreachable'), 'pi', 't1', outage);
    const b = stepRemoteFailure(a.next, d('ssh_auth_refused'), 'pi', 't2', outage);
    expect(b.resolved.map((r) => [r.detector, r.state])).toEqual([['host_unreachable', 'resolved']]);
    expect(b.fired.map((r) => r.detector)).toEqual(['ssh_auth_refused']);
    expect(Object.keys(b.next)).toEqual(['ssh_auth_refused|']);
  });
});
