import { describe, expect, it } from 'vitest';
import { sourceKeyOf } from './ip-address.js';

describe('sourceKeyOf', () => {
  it('keys IPv4 by the address and IPv6 by its /64', () => {
    expect(sourceKeyOf('203.0.113.7')).toBe('203.0.113.7');
    expect(sourceKeyOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(sourceKeyOf('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(sourceKeyOf('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(sourceKeyOf('2001:db8:1:3::1')).not.toBe(sourceKeyOf('2001:db8:1:2::1'));
    expect(sourceKeyOf(null)).toBe('local');
  });
});
