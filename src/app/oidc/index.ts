/** The OpenID Connect provider's use cases, spread into the app's table (create-app.ts). */

import { createOidcClient, deleteOidcClient, listOidcClients } from './clients.js';
import { assumeRoleWithWebIdentity, findWebIdentityProvider } from './web-identity.js';
import {
  completeOidcInteraction,
  describeOidcInteraction,
  listOwnOidcConsents,
  oidcAccountClaims,
  recordOidcEvent,
  revokeOwnOidcConsent,
} from './interaction.js';
import {
  consumeOidcRecord,
  destroyOidcRecord,
  ensureOidcSigningKey,
  findOidcRecord,
  oidcClientMetadata,
  oidcCookieKeys,
  oidcSigningKeys,
  oidcSigningKeyVersion,
  pruneOidcRecords,
  revokeOidcGrant,
  rotateOidcSigningKey,
  saveOidcRecord,
} from './provider-store.js';

/** Every OpenID Connect use case by name. */
export const OIDC_USE_CASES = {
  createOidcClient,
  listOidcClients,
  deleteOidcClient,
  describeOidcInteraction,
  completeOidcInteraction,
  oidcAccountClaims,
  listOwnOidcConsents,
  revokeOwnOidcConsent,
  recordOidcEvent,
  saveOidcRecord,
  findOidcRecord,
  consumeOidcRecord,
  destroyOidcRecord,
  revokeOidcGrant,
  pruneOidcRecords,
  oidcClientMetadata,
  oidcCookieKeys,
  oidcSigningKeys,
  oidcSigningKeyVersion,
  ensureOidcSigningKey,
  rotateOidcSigningKey,
  assumeRoleWithWebIdentity,
  findWebIdentityProvider,
};
