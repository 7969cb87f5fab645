// The keys a cluster pool and its worker hosts share, and what a task and a result carry.
import type { Link } from './link.ts';

/** A task's fields: caller, task id, target, spread ('1': argument lists), inputs (msgpack). */
export interface Fields { c: string; t: string; f: string; s: string; a: Buffer }

export const GROUP = 'workers';

/** The keys of pool `name`; with `caller`, that caller's own too. */
export function poolKeys(link: Link, name: string, caller = '') {
  return {
    tasks: link.key('pool', name, 'tasks'),
    hosts: link.key('pool', name, 'hosts'),
    results: link.key('pool', name, 'caller', caller, 'results'),
    alive: link.key('pool', name, 'caller', caller, 'alive'),
    dropped: link.key('pool', name, 'caller', caller, 'dropped'),
  };
}
