"""Light and camera style: sun, sky, haze, clouds, exposure, tone curve, white balance, noise.

A `StyleRange` is a domain's distribution; `draw_style(rng, range)` gives one image's `Style`.
The target domain (panoramas) differs from the source on purpose: lower sun (warmer, longer
shadows), more haze, another tone curve and white balance, sensor noise and vignetting, as a
DensePASS panorama differs from a Cityscapes frame in more than projection.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from samdistill.world.textures import fbm


@dataclass(frozen=True)
class StyleRange:
    sun_elevation_deg: tuple[float, float] = (30.0, 65.0)
    sun_warmth: tuple[float, float] = (0.0, 0.15)  # 0 white sun, 1 deep orange
    sun_intensity: tuple[float, float] = (2.6, 3.2)
    ambient: tuple[float, float] = (0.45, 0.6)
    haze_distance: tuple[float, float] = (180.0, 320.0)  # metres to 63 % haze
    cloud_cover: tuple[float, float] = (0.1, 0.5)
    exposure: tuple[float, float] = (0.85, 1.05)
    tone: str = "srgb"  # srgb gamma, or "filmic" (a soft-shoulder curve)
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    wb_jitter: float = 0.03
    saturation: tuple[float, float] = (0.95, 1.1)
    noise_sigma: tuple[float, float] = (0.0, 0.004)
    vignette: tuple[float, float] = (0.0, 0.1)


SOURCE_STYLE = StyleRange()
TARGET_STYLE = replace(
    SOURCE_STYLE, sun_elevation_deg=(8.0, 30.0), sun_warmth=(0.25, 0.7), sun_intensity=(2.0, 2.8),
    ambient=(0.35, 0.55), haze_distance=(90.0, 200.0), cloud_cover=(0.3, 0.8), exposure=(0.55, 0.8), tone="filmic",
    white_balance=(1.06, 1.0, 0.9), wb_jitter=0.05, saturation=(0.75, 0.95), noise_sigma=(0.01, 0.025),
    vignette=(0.1, 0.3),
)
STYLES = {"source": SOURCE_STYLE, "target": TARGET_STYLE}


@dataclass(frozen=True)
class Style:
    sun_direction: tuple[float, float, float]  # unit vector towards the sun
    sun_color: tuple[float, float, float]
    ambient: float
    haze_distance: float
    cloud_cover: float
    exposure: float
    tone: str
    white_balance: tuple[float, float, float]
    saturation: float
    noise_sigma: float
    vignette: float

    @property
    def sky_zenith(self) -> np.ndarray:
        return np.float32([0.18, 0.32, 0.65]) * (0.6 + 0.4 * self.sun_direction[1])

    @property
    def sky_horizon(self) -> np.ndarray:
        warm = np.float32(self.sun_color) / max(self.sun_color)
        return np.float32([0.62, 0.7, 0.8]) * 0.6 + 0.4 * warm * 0.75


def draw_style(rng: np.random.Generator, r: StyleRange) -> Style:
    def u(bounds):
        return float(rng.uniform(*bounds))

    el, az = math.radians(u(r.sun_elevation_deg)), float(rng.uniform(-math.pi, math.pi))
    warmth = u(r.sun_warmth)
    sun = np.array([1.0, 0.95 - 0.35 * warmth, 0.88 - 0.65 * warmth]) * u(r.sun_intensity)
    wb = np.asarray(r.white_balance) * (1 + rng.uniform(-r.wb_jitter, r.wb_jitter, 3))
    return Style(
        sun_direction=(math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)),
        sun_color=tuple(float(v) for v in sun), ambient=u(r.ambient), haze_distance=u(r.haze_distance),
        cloud_cover=u(r.cloud_cover), exposure=u(r.exposure), tone=r.tone,
        white_balance=tuple(float(v) for v in wb), saturation=u(r.saturation), noise_sigma=u(r.noise_sigma),
        vignette=u(r.vignette),
    )


def sky_radiance(dirs: np.ndarray, style: Style, seed: int) -> np.ndarray:
    """Linear radiance of the sky in unit directions `(n, 3)`: gradient, sun glow, clouds."""
    up = np.clip(dirs[:, 1], 0.0, 1.0)[:, None]
    sky = style.sky_horizon * (1 - up) ** 2 + style.sky_zenith * (1 - (1 - up) ** 2)
    cos_sun = dirs @ np.float32(style.sun_direction)
    sun = np.float32(style.sun_color) / 3.0
    sky = sky + sun * (0.25 * np.exp(8.0 * (cos_sun - 1.0)) + 4.0 * (cos_sun > 0.9995))[:, None]
    # clouds on a plane above the street, seen through the sky's directions
    height = np.maximum(dirs[:, 1], 0.02)
    plane = np.stack([dirs[:, 0] / height, np.zeros_like(height), dirs[:, 2] / height], 1)
    density = fbm(plane, 0.6, 4, seed + 77)
    lo = 1.0 - style.cloud_cover
    cloud = np.clip((density - lo) / 0.25, 0.0, 1.0)[:, None] * np.clip(dirs[:, 1] * 8, 0, 1)[:, None]
    shade = 0.55 + 0.35 * np.clip(density, 0, 1)[:, None]
    cloud_color = shade * (np.float32(style.sun_color) / 3.0 * 0.6 + style.ambient * 0.5)
    return ((1 - cloud) * sky + cloud * cloud_color).astype(np.float32)


def develop(radiance: np.ndarray, style: Style, rng: np.random.Generator) -> np.ndarray:
    """Camera: exposure, white balance, saturation, vignetting, tone curve, sensor noise.
    `(H, W, 3)` linear radiance -> display values in [0, 1]."""
    x = radiance * style.exposure * np.float32(style.white_balance)
    gray = x.mean(-1, keepdims=True)
    x = gray + style.saturation * (x - gray)
    h, w = x.shape[:2]
    if style.vignette > 0:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2
        x = x * (1 - style.vignette * np.clip(r2 / 2, 0, 1))[..., None]
    x = np.clip(x, 0.0, None)
    if style.tone == "filmic":
        x = x / (x + 0.5) * 1.5  # soft shoulder: highlights compressed, contrast lower
        x = np.clip(x, 0, 1) ** (1 / 1.8)
    else:
        x = np.clip(x, 0, 1) ** (1 / 2.2)
    if style.noise_sigma > 0:
        x = x + rng.normal(0.0, style.noise_sigma, x.shape).astype(np.float32)
    return np.clip(x, 0.0, 1.0).astype(np.float32)
