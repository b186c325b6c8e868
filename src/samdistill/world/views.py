"""Where the cameras stand in a scene: the ego car's position, at car height.

Pinhole (source): Cityscapes-like, camera behind the windscreen (1.2-1.5 m), looking along the
street with a small heading and pitch jitter. Panorama (target): a roof-mounted 360-degree camera
(1.7-2.1 m), as for DensePASS; its heading is random, so the street runs through any column.
"""
from __future__ import annotations

import math

import numpy as np

from samdistill.world.cameras import EquirectCamera, PinholeCamera
from samdistill.world.scene import Scene


def pinhole_view(scene: Scene, rng: np.random.Generator, height: int, width: int,
                 hfov_deg: float = 70.0) -> PinholeCamera:
    x, z = scene.ego
    heading = float(rng.uniform(-0.08, 0.08)) + (math.pi if rng.random() < 0.2 else 0.0)
    return PinholeCamera(height, width, (x, float(rng.uniform(1.2, 1.5)), z), hfov_deg, heading,
                         float(rng.uniform(-0.04, 0.02)))


def panorama_view(scene: Scene, rng: np.random.Generator, height: int, width: int,
                  vfov_deg: float = 70.0) -> EquirectCamera:
    x, z = scene.ego
    return EquirectCamera(height, width, (x, float(rng.uniform(1.7, 2.1)), z), vfov_deg,
                          float(rng.uniform(-math.pi, math.pi)), math.radians(float(rng.uniform(-4.0, 0.0))))
