"""SGR's stand-in for VGG's semantics: the small relation network trained on the street world.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/method_studies/sgr_standin.py [--steps 800] [--seed 0]
        [--out runs/sgr_standin/street_conv.safetensors]

SGR compares relations of frozen VGG16 features (ImageNet-trained) between restored and clean
images. No VGG weights can be downloaded here, and the weight-free `random_conv` stand-in has no
semantics at all. This trains the same small architecture (`sam4ir.sgr.features=street_conv`,
512 channels at H/8) with a 1x1 classification head on the street world's labeled pinhole train
renders (embedded-street, 19 Cityscapes classes, cross-entropy), prints the head's mIoU on the
world's val renders against the random stand-in's (same head, trained on frozen random features) —
evidence that the features know the world's classes — and writes only the `features.*` tensors
(torchvision layout) to --out, the two mIoUs beside it (--out with .json). Use it with:

    sam4ir.sgr.features=street_conv sam4ir.sgr.vgg_weights=runs/sgr_standin/street_conv.safetensors

An honest stand-in, not VGG: it knows 19 street classes from 200 rendered images.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "results"))  # downstream_street.py's folder
from downstream_street import fit_on_street  # noqa: E402


class StandinSegmenter(nn.Module):
    def __init__(self, features: nn.Sequential, num_classes: int = 19):
        super().__init__()
        self.features = features
        self.head = nn.Conv2d(512, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from samdistill.sam4ir.vgg import imagenet_normalize

        return self.head(self.features(imagenet_normalize(x)))


def val_miou(net: nn.Module) -> float:
    from samdistill.data.segmentation.config import SegDatasetConfig
    from samdistill.data.segmentation.dataset import SegmentationDataset
    from samdistill.metrics.segmentation import ConfusionMatrix

    data = SegmentationDataset(SegDatasetConfig(layout="cityscapes", root="embedded-street", split="val"))
    cm = ConfusionMatrix(19)
    with torch.inference_mode():
        for i in range(len(data)):
            item = data[i]
            logits = net(item["image"].unsqueeze(0))
            logits = nn.functional.interpolate(logits, item["label"].shape[-2:], mode="bilinear", align_corners=False)
            cm.update(logits.argmax(1)[0], item["label"])
    return 100.0 * cm.compute().miou


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/sgr_standin/street_conv.safetensors"))
    args = ap.parse_args()

    from samdistill.core.safetensors_io import atomic_save_file
    from samdistill.sam4ir.vgg import STANDIN_ARCH, build_random_conv, feature_layers

    torch.manual_seed(args.seed)
    trained = fit_on_street(StandinSegmenter(feature_layers(STANDIN_ARCH)), args.steps, args.seed, "street_conv")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    state = {f"features.{k}": v.contiguous() for k, v in trained.features.state_dict().items()}
    atomic_save_file(state, args.out, {"arch": STANDIN_ARCH, "steps": str(args.steps), "seed": str(args.seed)})
    print(f"wrote {args.out}", flush=True)
    torch.manual_seed(args.seed)
    random_net = StandinSegmenter(build_random_conv(args.seed).features)  # frozen random features, head only
    random_net.features.requires_grad_(False)
    fit_on_street(random_net, args.steps, args.seed, "random features + head")
    scores = {"street_conv": val_miou(trained), "random_conv_head": val_miou(random_net)}
    print(f"\nval mIoU (embedded-street val renders, 19 classes): trained street_conv {scores['street_conv']:.2f} %, "
          f"random_conv features + trained head {scores['random_conv_head']:.2f} %")
    result = {"steps": args.steps, "seed": args.seed, "weights": str(args.out), "val_miou_percent": scores}
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
