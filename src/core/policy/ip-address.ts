/**
 * IPv4 and IPv6 addresses and CIDR blocks for the IpAddress / NotIpAddress operators
 * (RFC 4632 CIDR, RFC 4291 §2.2 text forms, RFC 4291 §2.5.5.2 IPv4-mapped addresses).
 */

/** A parsed address: family and value as a bigint (32 or 128 bits). */
export interface IPValue {
  v6: boolean;
  value: bigint;
}

/** A CIDR block: family, network bits and prefix length. */
export interface CIDRBlock extends IPValue {
  prefix: number;
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(text: string): bigint | undefined {
  const m = V4.exec(text);
  if (!m) return undefined;
  let value = 0n;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255 || (m[i]!.length > 1 && m[i]!.startsWith('0'))) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseV6(text: string): bigint | undefined {
  let s = text;
  let tail: bigint[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    // Keep a `::` that ends right before the IPv4 tail; drop a single separating colon.
    s = s.slice(0, lastColon + 1).endsWith('::') ? s.slice(0, lastColon + 1) : s.slice(0, lastColon);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const group = /^[0-9a-fA-F]{1,4}$/;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const rest = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  if (![...head, ...rest].every((g) => group.test(g))) return undefined;
  const groups = [...head, ...rest].length + tail.length;
  if (halves.length === 1 ? groups !== 8 : groups > 7) return undefined;
  const fill = 8 - groups;
  const all = [
    ...head.map((g) => BigInt(parseInt(g, 16))),
    ...Array<bigint>(halves.length === 2 ? fill : 0).fill(0n),
    ...rest.map((g) => BigInt(parseInt(g, 16))),
    ...tail,
  ];
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses an IPv4 or IPv6 address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4. */
export function parseIP(text: string): IPValue | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { v6: false, value: v4 };
  if (!text.includes(':')) return undefined;
  const v6 = parseV6(text.replace(/%.*$/, ''));
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { v6: false, value: v6 & 0xffffffffn };
  return { v6: true, value: v6 };
}

/** Parses `addr` or `addr/prefix`; a bare address is a /32 or /128. */
export function parseCIDR(text: string): CIDRBlock | undefined {
  const slash = text.indexOf('/');
  const ip = parseIP(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const written = text.includes(':') ? 128 : 32;
  let prefix = ip.v6 ? 128 : 32;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > written) return undefined;
    // A mapped address written with a v6 prefix: /96 + n covers the IPv4 /n.
    prefix = Number(p);
    if (!ip.v6 && text.includes(':')) {
      if (prefix < 96) return undefined;
      prefix -= 96;
    }
  }
  return { ...ip, prefix };
}

/** True when `ip` lies inside `block` (same family only). */
export function cidrContains(block: CIDRBlock, ip: IPValue): boolean {
  if (block.v6 !== ip.v6) return false;
  const shift = BigInt((block.v6 ? 128 : 32) - block.prefix);
  return block.value >> shift === ip.value >> shift;
}

/**
 * The key a client address is throttled under: an IPv4 address as written, an IPv6 address as
 * its /64 (RFC 4291 §2.5.4: one subscriber usually holds a whole /64, so counting single IPv6
 * addresses would hand an attacker billions of fresh budgets), `local` when there is none.
 */
export function sourceKeyOf(ip: string | null): string {
  if (ip === null) return 'local';
  const parsed = parseIP(ip);
  if (parsed === undefined) return ip;
  if (!parsed.v6) {
    const v = parsed.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  }
  const prefix = parsed.value >> 64n;
  const groups = [48n, 32n, 16n, 0n].map((s) => ((prefix >> s) & 0xffffn).toString(16));
  return `${groups.join(':')}::/64`;
}
