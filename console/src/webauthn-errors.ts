/**
 * What to do when the browser ends a passkey or security-key ceremony with an error. Browsers
 * report DOMException names (W3C WebAuthn Level 2 §5.1.3 and §5.1.4 list which step raises
 * which); @simplewebauthn/browser adds a `code` for the ones it can tell apart. Every case gets a
 * sentence a person can act on; none is "something went wrong".
 */

/** The address to use instead when this page was opened at an IP address or a foreign name. */
function localhostAddress(): string {
  const port = location.port === '' ? '' : `:${location.port}`;
  return `http://localhost${port}${location.pathname}`;
}

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith('[') || host.includes(':');
}

/** Words for an error a WebAuthn ceremony raised, or null when it is not one. */
export function describeWebAuthnError(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const code = (err as { code?: unknown }).code;
  const name = err.name;
  if (code === 'ERROR_INVALID_DOMAIN' || (name === 'SecurityError' && isIpAddress(location.hostname))) {
    return isIpAddress(location.hostname)
      ? `Passkeys do not work at an IP address. Open ${localhostAddress()} and try again.`
      : `Passkeys do not work at this address (${location.hostname}). Open the console at the address your administrator gave you.`;
  }
  if (code === 'ERROR_INVALID_RP_ID' || name === 'SecurityError') {
    return `This server is set up for passkeys at a different address than ${location.host}. Open the console at the address your administrator gave you, or ask them to set HOLDFAST_PUBLIC_URL to this address.`;
  }
  if (code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED' || name === 'InvalidStateError') {
    return 'This passkey or security key is already registered for you. Use another key, or keep using this one.';
  }
  if (code === 'ERROR_AUTHENTICATOR_MISSING_DISCOVERABLE_CREDENTIAL_SUPPORT') {
    return 'This key cannot hold a passkey. Choose “Security key” instead, or use a device that supports passkeys.';
  }
  if (code === 'ERROR_AUTHENTICATOR_MISSING_USER_VERIFICATION_SUPPORT') {
    return 'This key cannot check a PIN, fingerprint or face. Choose “Security key” instead, or set a PIN on the key.';
  }
  if (code === 'ERROR_AUTHENTICATOR_NO_SUPPORTED_PUBKEYCREDPARAMS_ALG' || name === 'NotSupportedError') {
    return 'This key does not support the signature types this server accepts. Try another key.';
  }
  if (code === 'ERROR_CEREMONY_ABORTED' || name === 'AbortError') {
    return 'The key request was stopped before it finished. Try again.';
  }
  if (name === 'NotAllowedError') {
    return 'The key request was cancelled, timed out, or no registered key answered. Try again and touch your key or confirm on your device when it asks; if you have no registered key here, use another factor.';
  }
  if (code === 'ERROR_AUTHENTICATOR_GENERAL_ERROR' || name === 'UnknownError') {
    return 'The key could not finish the request. Remove and reinsert it (or restart the device’s passkey prompt) and try again.';
  }
  if (name === 'ConstraintError') {
    return 'This key cannot meet what the request asks (a passkey or a PIN). Choose “Security key” instead, or try another key.';
  }
  if (/WebAuthn is not supported/.test(err.message)) {
    return 'This browser does not support passkeys or security keys. Use a current browser, or another factor.';
  }
  if (name === 'TypeError' && (err as { code?: unknown }).code !== undefined) {
    return 'The browser refused the key request. Reload the page and try again.';
  }
  return null;
}
