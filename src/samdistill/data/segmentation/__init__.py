"""Semantic-segmentation data: the Cityscapes label table, dataset layouts (Cityscapes, DensePASS,
generic folders) and the dataset that reads them (the panoramic recipe and the street world)."""
