import { HoldfastError } from '../errors.js';

/** A stored state machine instance (sign-in, later enrolment, recovery, admin reset). */
export interface Flow<State extends string = string, Data = Record<string, unknown>> {
  id: string;
  kind: string;
  accountId: string | null;
  principalId: string | null;
  state: State;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  data: Data;
}

/** One row of a flow's transition table: from a state, on an event, to a state, with its audit action. */
export interface Transition<State extends string, Event extends string> {
  from: State;
  on: Event;
  to: State;
  /** The audit action written with this transition (DESIGN.md convention 4: exactly one per transition). */
  audit: string;
}

/** A flow definition: its states, terminal states, lifetime, attempt limit and transitions. */
export interface FlowDefinition<State extends string, Event extends string> {
  kind: string;
  initial: State;
  terminal: readonly State[];
  lifetimeMs: number;
  maxAttempts: number;
  transitions: readonly Transition<State, Event>[];
}

/**
 * Finds the transition for `event` from the flow's current state, refusing expired flows,
 * terminal states and events the table does not allow.
 */
export function nextTransition<State extends string, Event extends string>(
  definition: FlowDefinition<State, Event>,
  flow: Flow<State, unknown>,
  input: { event: Event; now: number },
): Transition<State, Event> {
  if (input.now >= flow.expiresAt) throw new HoldfastError('FLOW_EXPIRED');
  const transition = definition.transitions.find((t) => t.from === flow.state && t.on === input.event);
  if (transition === undefined) {
    throw new HoldfastError(
      'FLOW_INVALID_TRANSITION',
      `flow in state ${flow.state} does not accept ${input.event}`,
    );
  }
  return transition;
}
