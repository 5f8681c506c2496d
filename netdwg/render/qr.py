"""QR codes of a wg-quick configuration, for the WireGuard mobile apps ("Scan from QR code").

The matrix comes from the `qrcode` library (Debian 12 ships 7.3.1); drawing
is ours, so PNG output needs no Pillow or pypng: a grayscale PNG is a few
zlib-compressed rows.

    qr_matrix(text) -> tuple[tuple[bool, ...], ...]   True = dark module, quiet zone included
    qr_terminal(text, invert=False) -> str            two module rows per text line (half blocks)
    qr_png(text, scale=8) -> bytes                    black on white, scale pixels per module
"""

from __future__ import annotations

import struct
import zlib

import qrcode
from qrcode.constants import ERROR_CORRECT_L

from netdwg.errors import NetdwgError

QUIET_ZONE = 4  # modules of white border the QR specification asks for


def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    # L (7 % recovery) keeps a wg-quick conf with a few peers scannable from a screen.
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_L, border=QUIET_ZONE)
    code.add_data(text.encode("utf-8"))
    try:
        code.make(fit=True)
    except Exception as err:  # qrcode raises DataOverflowError (or ValueError) when it does not fit
        raise NetdwgError(f"the configuration is too large for a QR code ({len(text)} bytes): {err}",
                          fix="use the .conf file instead (netdwg render --format wg-quick)") from None
    return tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())


def qr_terminal(text: str, invert: bool = False) -> str:
    """Dark-background terminals: light modules are drawn (`invert` for light backgrounds)."""
    matrix = qr_matrix(text)
    glyphs = {(False, False): "█", (False, True): "▀", (True, False): "▄", (True, True): " "}
    if invert:
        glyphs = {(not a, not b): g for (a, b), g in glyphs.items()}
    width = len(matrix[0])
    rows = list(matrix) + ([tuple([False] * width)] if len(matrix) % 2 else [])
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2]):
        lines.append("".join(glyphs[(t, b)] for t, b in zip(top, bottom)))
    return "\n".join(lines) + "\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def qr_png(text: str, scale: int = 8) -> bytes:
    if not 1 <= scale <= 64:
        raise NetdwgError(f"QR scale {scale} out of range", fix="use 1 to 64 pixels per module")
    matrix = qr_matrix(text)
    size = len(matrix) * scale
    raw = bytearray()
    for row in matrix:
        line = b"\x00" + b"".join((b"\x00" if dark else b"\xff") * scale for dark in row)  # filter 0, then pixels
        raw += line * scale
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit grayscale, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + _chunk(b"IEND", b""))
