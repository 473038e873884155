#!/usr/bin/env python3
"""Second implementation of the flow hash (vip-common/src/hash.rs) and of the Maglev table
(vip-agent/src/maglev.rs), written from their documented definitions, not from the Rust
code. It prints the golden values the Rust tests hold as a compatibility contract:

  python3 scripts/reference/flow_hash_maglev.py
"""
import collections
import ipaddress

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def rotl32(x, r):
    return ((x << r) | (x >> (32 - r))) & M32


def mix(h, word):
    k = rotl32((word * 0xCC9E2D51) & M32, 15) * 0x1B873593 & M32
    return (rotl32(h ^ k, 13) * 5 + 0xE6546B64) & M32


def finish(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def flow_hash(addr16, client_port, service_port, proto, seed):
    """Seed, the four little-endian words of the 16-byte (IPv4-mapped) client address,
    (client_port << 16) | service_port, the protocol, then finish(h ^ 21)."""
    h = seed
    for i in range(0, 16, 4):
        h = mix(h, int.from_bytes(addr16[i:i + 4], "little"))
    h = mix(h, (client_port << 16) | service_port)
    h = mix(h, proto)
    return finish(h ^ 21)


def mapped(ip):
    a = ipaddress.ip_address(ip)
    return a.packed if a.version == 6 else bytes(10) + b"\xff\xff" + a.packed


def fmix64(v):
    v ^= v >> 33
    v = (v * 0xFF51AFD7ED558CCD) & M64
    v ^= v >> 33
    v = (v * 0xC4CEB9FE1A85EC53) & M64
    return v ^ (v >> 33)


def key_hash(ip, seed, role):
    """FNV-1a 64 over role, seed (4 bytes LE), family (4/6), address; then fmix64."""
    a = ipaddress.ip_address(ip)
    data = bytes([role]) + seed.to_bytes(4, "little") + bytes([a.version]) + a.packed
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & M64
    return fmix64(h)


def maglev(backends, size, seed):
    """backends: [(address, id)]. Sorted by address (IPv4 first), each takes its next free
    preferred slot in turn: offset = key_hash(role 0) % size, skip = key_hash(role 1) %
    (size - 1) + 1."""
    ordered = sorted(backends, key=lambda b: (ipaddress.ip_address(b[0]).version,
                                              ipaddress.ip_address(b[0]).packed))
    table = [None] * size
    nxt = [key_hash(ip, seed, 0) % size for ip, _ in ordered]
    skip = [key_hash(ip, seed, 1) % (size - 1) + 1 for ip, _ in ordered]
    filled = 0
    while True:
        for i, (_, ident) in enumerate(ordered):
            slot = nxt[i]
            while table[slot] is not None:
                slot = (slot + skip[i]) % size
            table[slot] = ident
            nxt[i] = (slot + skip[i]) % size
            filled += 1
            if filled == size:
                return table


def main():
    print("flow_hash golden vectors (address, client port, service port, proto, seed, hash)")
    for ip, cport, sport, proto, seed in [
        ("10.0.0.7", 40000, 6443, 6, 0), ("10.0.0.7", 40001, 6443, 6, 0),
        ("10.0.0.7", 40000, 6443, 6, 1), ("10.0.0.7", 40000, 6443, 17, 0),
        ("192.0.2.1", 1, 443, 6, 0xDEADBEEF), ("0.0.0.0", 0, 0, 0, 0),
        ("255.255.255.255", 65535, 65535, 255, 0xFFFFFFFF),
        ("2001:db8::50", 34567, 6443, 6, 7), ("fe80::1", 12345, 9345, 17, 42),
    ]:
        print(ip, cport, sport, proto, hex(seed), hex(flow_hash(mapped(ip), cport, sport, proto, seed)))

    # The packet fixtures' configuration (vip-agent/src/testing/fixture.rs).
    size, seed, port = 251, 7, 6443
    backends = [("10.0.0.1", 0), ("10.0.0.2", 1), ("10.0.0.3", 2)]
    full = maglev(backends, size, seed)
    without_1 = maglev([backends[0], backends[2]], size, seed)
    print("fixture ring, first 40 slots:", full[:40])
    print("fixture ring, slots per backend:", sorted(collections.Counter(full).items()))
    print("ring without backend 1, first 40 slots:", without_1[:40])
    for name, client, proto in [("tcp4", "10.0.0.50", 6), ("udp4", "10.0.0.50", 17),
                                ("tcp6", "2001:db8::50", 6)]:
        first = {}
        for cport in range(30000, 65535):
            backend = full[flow_hash(mapped(client), cport, port, proto, seed) % size]
            first.setdefault(backend, cport)
            if len(first) == 3:
                break
        print(name, "first client port from 30000 per backend:", sorted(first.items()))
    moved = [p for p in range(30000, 30100)
             if full[flow_hash(mapped("10.0.0.50"), p, port, 6, seed) % size] == 1]
    print("tcp4 ports on backend 1 -> backend without 1:",
          [(p, without_1[flow_hash(mapped("10.0.0.50"), p, port, 6, seed) % size]) for p in moved[:5]])


if __name__ == "__main__":
    main()
