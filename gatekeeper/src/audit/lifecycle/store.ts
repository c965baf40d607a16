// Where the lifecycle state lives between audits. Both stores write with optimistic concurrency: what was read is
// remembered, and when someone else wrote meanwhile (another replica during a leader change, a second audit on the
// same file) the two states are merged (mergeStates: the newer run wins, first sightings are kept) and written again.
import type { LifecycleState } from './state.js';

export interface LifecycleStore {
  /** Says where the state lives, for logs and errors. */
  readonly where: string;
  /** The stored state (empty when there is none yet). Throws with a clear message when it cannot be read or used. */
  load(): Promise<LifecycleState>;
  /** Writes the state, merging with what another writer stored since load(). */
  save(state: LifecycleState): Promise<void>;
}

/** How many times a write that keeps conflicting is merged and tried again. */
export const SAVE_ATTEMPTS = 8;
