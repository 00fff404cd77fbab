"""``nnstructure import-imagenet``: a torchvision ImageNet weight file as one of our checkpoints."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    from nnstructure.imagenet.names import IMAGENET_ARCHS

    p = subparsers.add_parser("import-imagenet", help="convert torchvision ImageNet weights into an nnstructure checkpoint")
    p.add_argument("arch", choices=IMAGENET_ARCHS, help="torchvision architecture the weights are for")
    p.add_argument("weights", help="torchvision state dict (.pth), e.g. resnet18-f37072fd.pth")
    p.add_argument("--out", required=True, help="checkpoint to write (.pt)")
    p.set_defaults(func=_import)


def _import(args) -> int:
    from nnstructure.imagenet.weights import import_pretrained

    meta = import_pretrained(args.arch, args.weights, args.out)
    print(json.dumps({"arch": args.arch, "out": args.out, "weights_sha256": meta["weights_sha256"]}))
    return 0
