"""Find XMP packets inside image files: JPEG APP1 segments (with Extended XMP) and a byte scan elsewhere."""
from __future__ import annotations

import re

JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
JPEG_EXTENDED = b"http://ns.adobe.com/xmp/extension/\x00"
_PACKET = re.compile(rb"<x:x[ma]pmeta[\s>].*?</x:x[ma]pmeta\s*>", re.S)
_XPACKET = re.compile(rb"<\?xpacket\s+begin=.*?\?>(.*?)<\?xpacket\s+end=[^>]*\?>", re.S)


def looks_like_xml(data: bytes) -> bool:
    """True when the bytes start (after a BOM and whitespace) with '<'."""
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def jpeg_packets(data: bytes) -> list[bytes]:
    """The main XMP packet of a JPEG and its Extended XMP (reassembled), in that order."""
    packets: list[bytes] = []
    extended: dict[bytes, dict[int, bytes]] = {}
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no more metadata segments
            break
        if marker == 0xFF or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 1 if marker == 0xFF else 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        body = data[pos + 4:pos + 2 + length]
        if marker == 0xE1 and body.startswith(JPEG_XMP):
            packets.append(body[len(JPEG_XMP):])
        elif marker == 0xE1 and body.startswith(JPEG_EXTENDED) and len(body) > len(JPEG_EXTENDED) + 40:
            rest = body[len(JPEG_EXTENDED):]
            guid, offset = rest[:32], int.from_bytes(rest[36:40], "big")
            extended.setdefault(guid, {})[offset] = rest[40:]
        pos += 2 + length
    for chunks in extended.values():
        packets.append(b"".join(chunks[k] for k in sorted(chunks)))
    return packets


def scan_packets(data: bytes) -> list[bytes]:
    """XMP packets found by scanning the bytes (TIFF, DNG, PNG iTXt, anything uncompressed)."""
    found = [m.group(0) for m in _PACKET.finditer(data)]
    if not found:
        found = [m.group(1) for m in _XPACKET.finditer(data) if b"<rdf:RDF" in m.group(1)]
    return found


def packets_in(data: bytes) -> list[bytes]:
    """All XMP packets embedded in an image file's bytes."""
    if data[:2] == b"\xff\xd8":
        packets = jpeg_packets(data)
        if packets:
            return packets
    return scan_packets(data)
