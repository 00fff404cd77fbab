"""Names of the ImageNet architectures and of torchvision's weight files (no torch import here)."""

IMAGENET_ARCHS: tuple[str, ...] = ("vgg16", "vgg19", "resnet18", "resnet34", "resnet50", "inception_v3")

# Current torchvision weight files (ImageNet-1k V1 weights; ResNet-50's V2 retraining is listed last).
TORCHVISION_WEIGHT_FILES: dict[str, tuple[str, ...]] = {
    "vgg16": ("vgg16-397923af.pth",),
    "vgg19": ("vgg19-dcbb9e9d.pth",),
    "resnet18": ("resnet18-f37072fd.pth",),
    "resnet34": ("resnet34-b627a593.pth",),
    "resnet50": ("resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth"),
    "inception_v3": ("inception_v3_google-0cc3c7bd.pth",),
}
