"""GoodSAM (arXiv 2403.16370): a compact panoramic segmenter distilled from SAM masks and a teacher assistant."""
