import type { Action } from '../app/actions.js';
import type { Authenticated } from '../app/auth.js';
import type { Actor } from '../app/context.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The one action this route performs (DESIGN.md convention 7). */
    action?: Action;
    /**
     * Actions the route's use case may authorize besides `action`, when what it authorizes depends
     * on the data (removing a pending factor is a delete, an enabled one a deactivation) or the
     * route answers from two use cases. `authorize` refuses any other (INTERNAL_ERROR).
     */
    alsoAuthorizes?: readonly Action[];
    /** Whether the route needs a signed-in session (`sigv4`: an AWS SigV4 signature instead). */
    auth?: 'none' | 'session' | 'sigv4';
  }
  interface FastifyRequest {
    /** The authenticated caller, on routes with `auth: 'session'`. */
    caller: (Authenticated & { actor: Actor & { kind: 'principal' } }) | null;
  }
}

/** A caller known to be signed in. */
export type Caller = Authenticated & { actor: Actor & { kind: 'principal' } };
