"""How restored images are scored."""
from __future__ import annotations

from pydantic import Field

from samdistill.config.base import StrictModel


class EvalConfig(StrictModel):
    y_channel: bool = Field(False, description="PSNR/SSIM on Y of YCbCr (BT.601, MATLAB convention); deraining papers use it")
    crop_border: int = Field(0, ge=0, description="pixels cropped from each border before scoring")
    tile: int = Field(0, ge=0, description="restore in tiles of this size (0: whole image)")
    tile_overlap: int = Field(32, ge=0)
    save_images: bool = Field(False, description="write restored images next to the metrics")
