"""digits_mobilenet and digits_vit: two trained models where precision matters.

Both classify scikit-learn's bundled handwritten digits, upsampled from 8x8 to
32x32 (bilinear), with the same seeded, stratified split as digits_cnn (20 %
held out as evaluation data; calibration and training use the rest):

- ``digits_mobilenet``: a small MobileNetV2-style network (inverted residuals:
  1x1 expansion, 3x3 depthwise, 1x1 projection, ReLU6, residual adds).
- ``digits_vit``: a small vision transformer (8x8 patches -> 16 tokens, learned
  position embedding, 2 pre-norm blocks of multi-head self-attention and a GELU
  MLP, LayerNorm, mean-pooled head). Transformers are the Ethos-U85's headline
  feature and where int8 hurts most (softmax, LayerNorm, GELU).

Their weights are ``data/weights/digits_mobilenet.pt`` and ``digits_vit.pt``,
written by ``python data/weights/train_digits32.py MODEL`` (seeded).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .. import shipped
from . import digits
from .spec import ModelSpec

SIZE = 32
INPUT_SHAPE = (1, 1, SIZE, SIZE)


def upsample(x):
    """N x 1 x 8 x 8 digits -> N x 1 x 32 x 32 (bilinear), values stay in [-1, 1]."""
    import torch.nn.functional as F

    return F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)


@lru_cache(maxsize=1)
def split():
    """(x_train, y_train, x_test, y_test); x is N x 1 x 32 x 32 in [-1, 1]."""
    x_train, y_train, x_test, y_test = digits.split()
    return upsample(x_train), y_train, upsample(x_test), y_test


_samples = digits.Samples(split)
example_inputs, calibration_inputs, evaluation = _samples.example_inputs, _samples.calibration_inputs, \
    _samples.evaluation


# ---------------------------------------------------------------- the networks

def mobilenet():
    """The MobileNetV2-style architecture (random weights, seeded by the caller)."""
    from torch import nn

    def conv_bn(cin, cout, k, stride=1, groups=1, act=True):
        layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        return nn.Sequential(*layers, nn.ReLU6()) if act else nn.Sequential(*layers)

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            hidden = cin * expand
            layers = [conv_bn(cin, hidden, 1)] if expand != 1 else []
            layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), conv_bn(hidden, cout, 1, act=False)]
            self.conv = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            return x + self.conv(x) if self.residual else self.conv(x)

    class DigitsMobileNet(nn.Module):
        def __init__(self):
            super().__init__()
            blocks = [(16, 16, 1, 1), (16, 24, 2, 4), (24, 24, 1, 4), (24, 32, 2, 4), (32, 32, 1, 4),
                      (32, 48, 1, 4)]  # (in, out, stride, expansion): 32x32 -> 16 -> 8 -> 4
            self.features = nn.Sequential(conv_bn(1, 16, 3, 2),
                                          *[InvertedResidual(*b) for b in blocks],
                                          conv_bn(48, 128, 1))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(128, 10)

        def forward(self, x):
            return self.classifier(self.pool(self.features(x)).flatten(1))

    return DigitsMobileNet()


def vit(dim: int = 64, depth: int = 2, heads: int = 4, mlp: int = 128, patch: int = 8):
    """The vision transformer (random weights, seeded by the caller)."""
    import torch
    from torch import nn

    tokens = (SIZE // patch) ** 2

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)
            self.scale = (dim // heads) ** -0.5

        def forward(self, x):
            b, n, _ = x.shape
            q, k, v = self.qkv(x).reshape(b, n, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
            attn = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
            return self.proj((attn @ v).transpose(1, 2).reshape(b, n, dim))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.attn = nn.LayerNorm(dim), Attention()
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class DigitsViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = nn.Conv2d(1, dim, patch, patch)
            self.pos_embed = nn.Parameter(torch.zeros(1, tokens, dim))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            self.blocks = nn.Sequential(*[Block() for _ in range(depth)])
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, 10)

        def forward(self, x):
            x = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
            x = self.norm(self.blocks(x))
            return self.head(x.mean(dim=1))

    return DigitsViT()


NETWORKS = {"digits_mobilenet": mobilenet, "digits_vit": vit}
DESCRIPTIONS = {
    "digits_mobilenet": "Handwritten digits upsampled to 32x32, MobileNetV2-style (inverted residuals), "
                        "trained weights, 10 classes",
    "digits_vit": "Handwritten digits upsampled to 32x32, vision transformer (2 blocks x 64 dims, 4 heads), "
                  "trained weights, 10 classes",
}


def weights_file(name: str) -> Path:
    return shipped.data("weights", f"{name}.pt")


def builder(name: str):
    def build():
        import torch

        model = NETWORKS[name]()
        model.load_state_dict(torch.load(weights_file(name), weights_only=True))
        return model.eval()

    build.__module__ = __name__
    return build


def specs() -> list:

    return [ModelSpec(name, builder(name), example_inputs, calibration_inputs, evaluation,
                      description=DESCRIPTIONS[name], weights="trained", input_shapes=(INPUT_SHAPE,),
                      extra_files=(weights_file(name),))
            for name in NETWORKS]
