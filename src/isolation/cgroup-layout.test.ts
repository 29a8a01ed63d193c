import { describe, expect, it } from 'vitest';
import { cgroupDir, parseCgroupLayout } from './cgroup-layout.js';

const HYBRID_MOUNTS = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;
const HYBRID_SELF = `9:name=systemd:/
8:pids:/
4:memory:/process_api/abc
1:cpu,cpuacct:/
0::/`;

const UNIFIED_MOUNTS = `25 21 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot`;
const UNIFIED_SELF = '0::/user.slice/user-1000.slice/user@1000.service/app.slice/agent-runner@p.service\n';

describe('cgroup layout from /proc/self/mountinfo', () => {
  it('finds a hybrid host: cgroup2 for the kill, v1 memory and pids', () => {
    const l = parseCgroupLayout(HYBRID_MOUNTS, HYBRID_SELF);
    expect(l.kind).toBe('hybrid');
    expect(l.v2).toEqual({ mount: '/sys/fs/cgroup/unified', own: '/' });
    expect(l.v1['memory']).toEqual({ mount: '/sys/fs/cgroup/memory', own: '/process_api/abc' });
    expect(l.v1['pids']).toEqual({ mount: '/sys/fs/cgroup/pids', own: '/' });
    expect(l.v1['cpu']).toEqual({ mount: '/sys/fs/cgroup/cpu,cpuacct', own: '/' });
    expect(l.v1['systemd']).toBeUndefined();
    expect(cgroupDir(l.v2!, 'agent-runner-p-R1')).toBe('/sys/fs/cgroup/unified/agent-runner-p-R1');
    expect(cgroupDir(l.v1['memory']!, 'x')).toBe('/sys/fs/cgroup/memory/process_api/abc/x');
  });

  it('finds a unified host', () => {
    const l = parseCgroupLayout(UNIFIED_MOUNTS, UNIFIED_SELF);
    expect(l.kind).toBe('unified');
    expect(l.v2).toEqual({ mount: '/sys/fs/cgroup', own: '/user.slice/user-1000.slice/user@1000.service/app.slice/agent-runner@p.service' });
    expect(l.v1).toEqual({});
  });

  it('maps our path into a mount that exposes only a sub-tree (containers)', () => {
    const l = parseCgroupLayout('25 21 0:22 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw', '0::/docker/abc/inner\n');
    expect(l.v2).toEqual({ mount: '/sys/fs/cgroup', own: '/inner' });
  });

  it('says none when nothing is mounted', () => {
    expect(parseCgroupLayout('', '').kind).toBe('none');
  });
});
