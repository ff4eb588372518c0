import { describe, expect, it } from 'vitest';
import { consoleBaseUrl, isLoopbackHost, redirectsLoopbackToLocalhost } from './console-url.js';

const base = { publicUrl: null, host: '127.0.0.1', port: 8080, tlsCert: null };

describe('the console address people are given', () => {
  it('is http://localhost:PORT for a loopback or wildcard host without a public URL', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '0.0.0.0', '::', 'localhost']) {
      expect(consoleBaseUrl({ ...base, host })).toBe('http://localhost:8080');
    }
    expect(consoleBaseUrl(base, 41234)).toBe('http://localhost:41234');
    expect(consoleBaseUrl({ ...base, tlsCert: '/tls/cert.pem' })).toBe('https://localhost:8080');
  });

  it('is the configured public URL, and any other host as it listens', () => {
    expect(consoleBaseUrl({ ...base, publicUrl: 'https://id.example.com/' })).toBe('https://id.example.com');
    expect(consoleBaseUrl({ ...base, host: '10.0.0.5' })).toBe('http://10.0.0.5:8080');
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('10.0.0.5')).toBe(false);
  });

  it('redirects loopback page loads only with the default localhost WebAuthn origins', () => {
    const webauthn = { rpId: 'localhost', rpName: 'Holdfast', origins: ['http://localhost:8080'] };
    expect(redirectsLoopbackToLocalhost({ publicUrl: null, webauthn })).toBe(true);
    expect(redirectsLoopbackToLocalhost({ publicUrl: 'https://id.example.com', webauthn })).toBe(false);
    expect(
      redirectsLoopbackToLocalhost({
        publicUrl: null,
        webauthn: { rpId: 'example.com', rpName: 'Holdfast', origins: ['https://id.example.com'] },
      }),
    ).toBe(false);
  });
});
