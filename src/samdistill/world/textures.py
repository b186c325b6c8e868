"""Procedural texture building blocks: hashed value noise and its fractal sum, on numpy.

Deterministic for a given seed: the lattice values come from an integer hash, not a random
generator, so a point's texture never depends on which other points are shaded with it.
"""
from __future__ import annotations

import numpy as np

_P1, _P2, _P3 = np.uint32(0x8DA6B343), np.uint32(0xD8163841), np.uint32(0xCB1AB31F)


def _mix(h: np.ndarray, seed: int) -> np.ndarray:
    """Finish a combined lattice hash into a value in [0, 1)."""
    h = h ^ np.uint32(seed * 0x9E3779B9 & 0xFFFFFFFF)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x2C1B3C6D)
    h ^= h >> np.uint32(12)
    h *= np.uint32(0x297A2D39)
    h ^= h >> np.uint32(15)
    return (h >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / (1 << 24))


def _hash(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, seed: int) -> np.ndarray:
    """Lattice value in [0, 1) for integer coordinates (wrapping uint32 arithmetic)."""
    return _mix(ix.astype(np.uint32) * _P1 ^ iy.astype(np.uint32) * _P2 ^ iz.astype(np.uint32) * _P3, seed)


def value_noise(points: np.ndarray, scale: float, seed: int = 0) -> np.ndarray:
    """Smooth noise in [0, 1] at `(n, 3)` points, one lattice cell every 1/scale units."""
    q = np.asarray(points, np.float32) * np.float32(scale)
    base = np.floor(q)
    f = q - base
    u = f * f * (3.0 - 2.0 * f)
    i = base.astype(np.int64).astype(np.uint32)
    one = np.uint32(1)
    # per-axis hashed lattice terms for the lower and upper corner, combined by xor below
    hx = (i[:, 0] * _P1, (i[:, 0] + one) * _P1)
    hy = (i[:, 1] * _P2, (i[:, 1] + one) * _P2)
    hz = (i[:, 2] * _P3, (i[:, 2] + one) * _P3)
    w = ((1.0 - u[:, 0], u[:, 0]), (1.0 - u[:, 1], u[:, 1]), (1.0 - u[:, 2], u[:, 2]))
    out = np.zeros(len(q), np.float32)
    for dx in (0, 1):
        for dy in (0, 1):
            hxy, wxy = hx[dx] ^ hy[dy], w[0][dx] * w[1][dy]
            for dz in (0, 1):
                out += wxy * w[2][dz] * _mix(hxy ^ hz[dz], seed)
    return out


def fbm(points: np.ndarray, scale: float, octaves: int = 3, seed: int = 0) -> np.ndarray:
    """Fractal sum of value noise (each octave twice the frequency, half the amplitude), in [0, 1]."""
    total, amplitude, norm = np.zeros(len(points), np.float32), 1.0, 0.0
    for k in range(octaves):
        total += amplitude * value_noise(points, scale * 2**k, seed + 101 * k)
        norm += amplitude
        amplitude *= 0.5
    return total / norm


def cell_hash(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """A random value in [0, 1) per integer 2-D cell (windows, tiles, bricks)."""
    return _hash(ix, iy, np.zeros_like(ix), seed)


def grid_lines(coord: np.ndarray, period: float, width: float) -> np.ndarray:
    """1 on lines of `width` every `period` along `coord`, else 0."""
    frac = np.mod(coord, period)
    return ((frac < width / 2) | (frac > period - width / 2)).astype(np.float32)
