"""The street world: procedural 3D street scenes rendered as pinhole photos and 360-degree
panoramas with exact semantic labels, instance / part masks and depth (an offline stand-in for
Cityscapes and DensePASS, and an ideal SAM)."""
