import type { EVENT_KINDS, EventKind } from './kinds.js';
import type { EventPayloads } from './payloads.js';

/**
 * Compile-time only: the registry (the docs' field lists) and the payload types (what emit()
 * accepts) name the same kinds and, for each kind, the same fields. A difference fails
 * `tsc` with the offending kind in the message.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type RegistryFields<K extends EventKind> = (typeof EVENT_KINDS)[K]['fields'][number];

type KindsMissingAPayloadType = Exclude<EventKind, keyof EventPayloads>;
type PayloadTypesWithoutAKind = Exclude<keyof EventPayloads, EventKind>;
type KindsWhoseFieldsDiffer = { [K in EventKind]: K extends keyof EventPayloads ? (Same<keyof EventPayloads[K], RegistryFields<K>> extends true ? never : K) : never }[EventKind];

export const registryMatchesPayloads: {
  missing: [KindsMissingAPayloadType] extends [never] ? true : KindsMissingAPayloadType;
  extra: [PayloadTypesWithoutAKind] extends [never] ? true : PayloadTypesWithoutAKind;
  differ: [KindsWhoseFieldsDiffer] extends [never] ? true : KindsWhoseFieldsDiffer;
} = { missing: true, extra: true, differ: true };
