/**
 * Where the cgroup hierarchies are, read from /proc/self/mountinfo and /proc/self/cgroup. Three
 * layouts exist: unified (cgroup2 only: Debian 12, Ubuntu 22.04+, Raspberry Pi OS), hybrid (cgroup2
 * at /sys/fs/cgroup/unified without controllers, memory and pids as v1 hierarchies) and legacy (v1
 * only). Pure: the caller reads the two files.
 */

export interface Hierarchy {
  /** Where it is mounted. */
  mount: string;
  /** Our own cgroup in it, relative to the mount ("/" or "/user.slice/…"). */
  own: string;
}

export interface CgroupLayout {
  kind: 'unified' | 'hybrid' | 'legacy' | 'none';
  v2?: Hierarchy;
  /** v1 hierarchies by controller name (memory, pids, cpu, blkio, freezer, …). */
  v1: Record<string, Hierarchy>;
}

export function parseCgroupLayout(mountinfo: string, selfCgroup: string): CgroupLayout {
  const own = new Map<string, string>();
  for (const line of selfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[2] === '') own.set('', m[3]!);
    else for (const c of m[2]!.split(',')) own.set(c, m[3]!);
  }
  const layout: CgroupLayout = { kind: 'none', v1: {} };
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const [fstype = '', , superOpts = ''] = right.split(' ');
    const f = left.split(' ');
    const root = unescapeMount(f[3] ?? '/');
    const mount = unescapeMount(f[4] ?? '');
    if (fstype === 'cgroup2' && !layout.v2) {
      const path = own.get('');
      const rel = path === undefined ? undefined : within(root, path);
      if (rel !== undefined) layout.v2 = { mount, own: rel };
    } else if (fstype === 'cgroup') {
      for (const c of superOpts.split(',')) {
        if (c === 'rw' || c === 'ro' || c.startsWith('name=') || layout.v1[c]) continue;
        const path = own.get(c);
        const rel = path === undefined ? undefined : within(root, path);
        if (rel !== undefined) layout.v1[c] = { mount, own: rel };
      }
    }
  }
  const hasV1 = Object.keys(layout.v1).length > 0;
  layout.kind = layout.v2 ? (hasV1 ? 'hybrid' : 'unified') : hasV1 ? 'legacy' : 'none';
  return layout;
}

/** A mount may expose only a sub-tree of the hierarchy (containers): our path relative to it. */
function within(root: string, path: string): string | undefined {
  if (root === '/') return path;
  if (path === root) return '/';
  return path.startsWith(root + '/') ? path.slice(root.length) : undefined;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The directory of a cgroup path inside a hierarchy. */
export function cgroupDir(h: Hierarchy, ...parts: string[]): string {
  const base = h.own === '/' ? h.mount : `${h.mount}${h.own}`;
  return [base, ...parts].join('/');
}
