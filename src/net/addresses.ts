// RFC 6890 special-purpose addresses — which addresses an outbound request may reach
import dns from 'node:dns';
import net, { type LookupFunction } from 'node:net';

/**
 * Server-side request forgery is the first risk of every outbound request Mandate makes (the
 * broker forwarding on an agent's behalf, keys fetched from a person's identity provider). A
 * broker connection reaches only the host its base URL names, and:
 *  - never link-local (169.254.0.0/16, fe80::/10: cloud metadata lives there), unspecified,
 *    multicast or reserved addresses, nor the known metadata addresses outside those ranges;
 *  - loopback only when the base URL itself is a loopback literal (`http://127.0.0.1:8080`); a name
 *    that resolves to loopback is refused, so DNS cannot turn `api.example.com` into 127.0.0.1;
 *  - IP literals only in their canonical spelling: `2130706433`, `0x7f.1` and `127.1` all parse to
 *    127.0.0.1 under WHATWG rules, and such spellings are how allow-lists get bypassed;
 *  - names are resolved at connect time by the broker's own `lookup`, which checks every address
 *    and pins the answer, so a check-then-connect race (DNS rebinding) has no window.
 */
export type AddressClass = 'public' | 'private' | 'loopback' | 'link-local' | 'unspecified' | 'multicast' | 'reserved' | 'metadata' | 'mapped';

const ALWAYS_REFUSED: ReadonlySet<AddressClass> = new Set(['link-local', 'unspecified', 'multicast', 'reserved', 'metadata']);

/** Known instance-metadata addresses outside link-local (Alibaba Cloud, AWS IPv6). */
const METADATA = new Set(['100.100.100.200', 'fd00:ec2:0:0:0:0:0:254']);

const ipv4Number = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
const inV4 = (n: number, base: string, bits: number) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(ipv4Number(base) / 2 ** (32 - bits));

function classifyV4(ip: string): AddressClass {
  const n = ipv4Number(ip);
  if (METADATA.has(ip)) return 'metadata';
  if (inV4(n, '0.0.0.0', 8)) return 'unspecified';
  if (inV4(n, '127.0.0.0', 8)) return 'loopback';
  if (inV4(n, '169.254.0.0', 16)) return 'link-local';
  if (inV4(n, '224.0.0.0', 4)) return 'multicast';
  if (inV4(n, '240.0.0.0', 4)) return 'reserved';
  if (inV4(n, '10.0.0.0', 8) || inV4(n, '172.16.0.0', 12) || inV4(n, '192.168.0.0', 16) || inV4(n, '100.64.0.0', 10)) return 'private';
  return 'public';
}

/** Eight 16-bit groups of an IPv6 address (with an embedded dotted IPv4 tail expanded). */
function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = ipv4Number(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const embeddedV4 = (g: number[]) => `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;

function classifyV6(ip: string): AddressClass {
  const g = ipv6Groups(ip);
  if (METADATA.has(g.map((x) => x.toString(16)).join(':'))) return 'metadata';
  const zeroUntil = (i: number) => g.slice(0, i).every((x) => x === 0);
  if (zeroUntil(8)) return 'unspecified';
  if (zeroUntil(7) && g[7] === 1) return 'loopback';
  if (zeroUntil(5) && g[5] === 0xffff) return 'mapped';
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return 'mapped';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  if ((g[0]! & 0xfe00) === 0xfc00) return 'private';
  return 'public';
}

export function classifyAddress(ip: string): AddressClass {
  if (net.isIPv4(ip)) return classifyV4(ip);
  if (net.isIPv6(ip)) return classifyV6(ip);
  return 'reserved';
}

/**
 * Why an address may not be reached, or null. `named`: the address came from resolving a name,
 * where loopback is refused too. IPv4-mapped and NAT64 addresses are judged by the IPv4 inside.
 */
export function addressRefusal(ip: string, named: boolean): string | null {
  let kind = classifyAddress(ip);
  if (kind === 'mapped') kind = classifyV4(embeddedV4(ipv6Groups(ip)));
  if (ALWAYS_REFUSED.has(kind)) return `${kind} addresses are never reachable through the broker`;
  if (kind === 'loopback' && named) return 'a name that resolves to loopback is refused; name the loopback address itself in the base URL';
  return null;
}

/**
 * Where an identity provider's discovery document and JWKS may be fetched from: public addresses
 * only, unless the issuer is marked `allow_loopback` (a test IdP, an IdP on the private network),
 * which admits loopback and private addresses too; never link-local, metadata or reserved ones.
 */
export function issuerAddressRefusal(ip: string, allowLoopback: boolean): string | null {
  let kind = classifyAddress(ip);
  if (kind === 'mapped') kind = classifyV4(embeddedV4(ipv6Groups(ip)));
  if (ALWAYS_REFUSED.has(kind)) return `${kind} addresses are never fetched from`;
  if ((kind === 'loopback' || kind === 'private') && !allowLoopback) return `${kind} addresses are fetched from only for an issuer marked allow_loopback`;
  return null;
}

export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/** How long a resolved and checked answer is pinned before the name is looked up again. */
export const PIN_SECONDS = 60;

export const addressRefused = (message: string) => Object.assign(new Error(message), { code: 'ERR_UPSTREAM_ADDRESS_REFUSED' });

/**
 * The `lookup` a connection's sockets use: only the base URL's host name resolves, every address
 * in the answer must pass `addressRefusal`, and the checked answer is what the socket connects to.
 */
export function pinnedLookup(
  hostname: string,
  resolver: Resolver = systemResolver,
  now: () => number = Date.now,
  refusal: (ip: string) => string | null = (ip) => addressRefusal(ip, true),
): LookupFunction {
  let pinned: { addresses: Array<{ address: string; family: number }>; until: number } | undefined;
  const resolve = async () => {
    if (pinned && pinned.until > now()) return pinned.addresses;
    const addresses = await resolver(hostname);
    if (addresses.length === 0) throw Object.assign(new Error('no address'), { code: 'ENOTFOUND' });
    for (const { address } of addresses) {
      const refused = refusal(address);
      if (refused) throw addressRefused(`${hostname} resolves to a refused address: ${refused}`);
    }
    pinned = { addresses, until: now() + PIN_SECONDS * 1000 };
    return addresses;
  };
  return (name, options, callback) => {
    if (name.toLowerCase() !== hostname) {
      callback(addressRefused('the connection reaches only its base URL host'), '', 0);
      return;
    }
    resolve().then(
      (all) => {
        const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
        const fitting = family ? all.filter((a) => a.family === family) : all;
        if (fitting.length === 0) return callback(Object.assign(new Error('no address of that family'), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) return callback(null, fitting);
        return callback(null, fitting[0]!.address, fitting[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
