"""The registered networks as `samdistill models list` shows them, without importing torch.

Importing torch alone takes seconds on a small machine, and counting parameters means building
every network (EfficientDerain, SegFormer: seconds each), so the list command reads this table
instead: name -> (task, parameters at the default arguments, None when the factory needs
arguments). tests/models/test_catalog.py keeps it equal to the live registry (names, tasks and
counts, built on the meta device); a network registered or resized without updating it fails there.
"""
from __future__ import annotations

from typing import Optional

CATALOG: dict[str, tuple[str, Optional[int]]] = {
    "efficientderain": ("deraining", 27_395_406),
    "efficientderain_tiny": ("deraining", 482_766),
    "nafnet": ("restoration", None),
    "nafnet_gopro_w32": ("restoration", 17_111_907),
    "nafnet_gopro_w64": ("restoration", 67_888_835),
    "nafnet_tiny": ("restoration", 288_691),
    "rcdnet": ("deraining", 3_166_355),
    "rcdnet_tiny": ("deraining", 22_107),
    "segformer": ("segmentation", 3_719_027),
    "uformer": ("restoration", None),
    "uformer_b": ("restoration", 50_880_946),
    "uformer_s": ("restoration", 20_751_197),
    "uformer_t": ("restoration", 5_291_853),
    "uformer_tiny": ("restoration", 222_688),
}
