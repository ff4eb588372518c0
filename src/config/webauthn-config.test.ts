import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = { HOLDFAST_LOG_LEVEL: 'silent' };

describe('WebAuthn Relying Party configuration', () => {
  it('defaults to http://localhost:PORT with RP ID localhost (browsers refuse IP addresses)', () => {
    expect(loadConfig({ port: 9090 }, base).webauthn).toEqual({
      rpId: 'localhost',
      rpName: 'Holdfast',
      origins: ['http://localhost:9090'],
    });
  });

  it('follows the public URL', () => {
    const config = loadConfig({}, { ...base, HOLDFAST_PUBLIC_URL: 'https://id.example.com/holdfast/' });
    expect(config.webauthn).toMatchObject({ rpId: 'id.example.com', origins: ['https://id.example.com'] });
  });

  it('takes several origins under one registrable RP ID', () => {
    const config = loadConfig(
      {},
      {
        ...base,
        HOLDFAST_WEBAUTHN_ORIGIN: 'https://id.example.com, https://login.example.com:8443',
        HOLDFAST_WEBAUTHN_RP_ID: 'Example.com',
      },
    );
    expect(config.webauthn).toMatchObject({
      rpId: 'example.com',
      origins: ['https://id.example.com', 'https://login.example.com:8443'],
    });
  });

  it('refuses an RP ID the origins do not belong to, and origins that are not http(s)', () => {
    expect(() =>
      loadConfig(
        {},
        { ...base, HOLDFAST_WEBAUTHN_ORIGIN: 'https://id.example.com', HOLDFAST_WEBAUTHN_RP_ID: 'other.com' },
      ),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => loadConfig({}, { ...base, HOLDFAST_WEBAUTHN_ORIGIN: 'ftp://id.example.com' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => loadConfig({}, { ...base, HOLDFAST_WEBAUTHN_ORIGIN: 'not a url' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
