"""The client address of an HTTP request that may come through proxies.

``X-Forwarded-For`` is a list that each proxy extends on the right with
the address it got the request from. Whatever stands left of the hop
added by the first proxy we trust is whatever the client chose to write.
So the client is found by walking the list from the right, and only while
the hop that added an entry is a trusted proxy:

* the peer (the socket's remote address) is not a trusted proxy: it is the
  client, and the header is ignored entirely;
* it is: take the entries from the right, skip those that are trusted
  proxies themselves, and the first other one is the client. An entry
  that is not an address stops the walk at the last trusted hop (a
  trusted proxy would not write one).

An address is then reduced to the key a rate bound counts (:func:`key`):
one IPv4 address, or the IPv6 network of a configurable prefix length,
since one IPv6 host holds a whole network (a UE usually gets a /64) and
could otherwise take a fresh address for each request. Ports never count:
a client chooses them freely.

Pure functions, no web framework: Keystone's adapter passes the values in.
"""

import ipaddress


def network(text):
    """An IP network from ``text`` (an address or a CIDR), host bits ok.

    :raises ValueError: with a message naming the value
    """
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError('%r is not an IP address or network (CIDR)'
                         % text) from None


def parse_hop(text):
    """The address of one ``X-Forwarded-For`` entry, or None.

    Accepts ``192.0.2.1``, ``192.0.2.1:4711``, ``2001:db8::1``,
    ``[2001:db8::1]`` and ``[2001:db8::1]:4711``; a zone (``%eth0``) and
    the port are dropped, an IPv4-mapped IPv6 address is its IPv4 one.
    """
    text = text.strip()
    if text.startswith('['):
        host, sep, rest = text[1:].partition(']')
        if not sep or (rest and not _is_port(rest)):
            return None
    elif text.count(':') == 1:
        host, _, port = text.partition(':')
        if not _is_port(':' + port):
            return None
    else:
        host = text
    host = host.partition('%')[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_port(text):
    return (text.startswith(':') and text[1:].isdigit() and
            len(text) <= 6 and 0 <= int(text[1:]) <= 65535)


def _trusted(address, proxies):
    return any(address in net for net in proxies
               if net.version == address.version)


def client_address(peer, forwarded_for, proxies):
    """The client's address (an ``ipaddress`` object), or None.

    ``peer``: the request's remote address as the WSGI server saw it;
    ``forwarded_for``: the ``X-Forwarded-For`` header (several headers
    joined with commas), or None; ``proxies``: the trusted proxies, as
    :func:`network` values. None when ``peer`` itself is not an address
    (say, a UNIX socket).
    """
    address = parse_hop(peer) if peer else None
    if address is None or not _trusted(address, proxies):
        return address
    for hop in reversed((forwarded_for or '').split(',')):
        if not hop.strip():
            continue
        hop_address = parse_hop(hop)
        if hop_address is None:
            break
        address = hop_address
        if not _trusted(address, proxies):
            break
    return address


def key(address, ipv6_prefix=64):
    """What a rate bound counts ``address`` as: text of at most 43 chars.

    An IPv4 address is itself; an IPv6 address its network of
    ``ipv6_prefix`` bits (``2001:db8:1:2::/64``), or itself at 128.
    """
    if address is None:
        return None
    if address.version == 6 and ipv6_prefix < 128:
        return str(ipaddress.ip_network((address, ipv6_prefix),
                                        strict=False))
    return str(address)
