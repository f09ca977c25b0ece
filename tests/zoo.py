"""A zoo of small user-style models for labkit's tests.

Each model is a plain nn.Module defined at module level, as a user would write it,
tiny enough to compile in seconds but with a realistic structure, from many
families: recurrent nets with a state tuple, attention, 1-D audio nets, a U-Net,
MobileNetV3 blocks, normalisations, activations, upsampling heads, multi-input and
multi-output nets, embeddings with integer and bool inputs, and models whose inputs
are pytrees (a dict, a list, a tuple).

``ZooModel.example()`` gives the positional arguments of ``forward()``, exactly what
``torch.export.export(model, args)`` takes; an argument may be a tuple, list or dict
of tensors. Every factory seeds torch itself, so weights and inputs are the same on
every call, and returns the model in eval mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ZooModel:
    name: str  # short id, e.g. "lstm_state"
    family: str  # e.g. "recurrent", "attention", "audio-1d", "u-net", ...
    build: Callable[[], nn.Module]
    example: Callable[[], tuple]  # the positional args of forward(); an arg may be a pytree
    note: str = ""

    def inputs(self) -> str:
        """The example args as text: shapes and dtypes, nested as the pytree is."""
        return describe(self.example())


def describe(value) -> str:
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).replace("torch.", "")
        return f"{dtype}[{'x'.join(map(str, value.shape))}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _rand(*shape, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen(seed))


def _built(cls, *args, **kwargs) -> Callable[[], nn.Module]:
    """A factory: seed, build, eval."""

    def build() -> nn.Module:
        torch.manual_seed(0)
        return cls(*args, **kwargs).eval()

    build.__name__ = f"build_{cls.__name__}"
    return build


# --------------------------------------------------------------------- recurrent
class GRUStreaming(nn.Module):
    """A streaming GRU on frames and their deltas; the state is a tuple of the hidden
    state and the last frame of the previous chunk (to take the first delta from)."""

    def __init__(self, features=8, hidden=16):
        super().__init__()
        self.gru = nn.GRU(2 * features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 4)

    def forward(self, x, state):
        h, last_frame = state
        delta = x - torch.cat([last_frame, x[:, :-1]], dim=1)
        y, h = self.gru(torch.cat([x, delta], dim=-1), h)
        return self.head(y), (h, x[:, -1:])


class LSTMState(nn.Module):
    """An LSTM taking and returning its (h, c) state, as a streaming model would."""

    def __init__(self, features=8, hidden=16):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 4)

    def forward(self, x, state):
        y, (h, c) = self.lstm(x, state)
        return self.head(y), (h, c)


def _executorch_lstm() -> nn.Module:
    from executorch.examples.models.lstm import LSTMModel

    torch.manual_seed(0)
    return LSTMModel().get_eager_model().eval()


def _executorch_lstm_inputs() -> tuple:
    from executorch.examples.models.lstm import LSTMModel

    torch.manual_seed(0)
    return LSTMModel().get_example_inputs()


# --------------------------------------------------------------------- attention
class TransformerEncoder(nn.Module):
    def __init__(self, d_model=16, nhead=2):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.head = nn.Linear(d_model, 3)

    def forward(self, x):
        return self.head(self.layer(x).mean(dim=1))


class AttentionHead(nn.Module):
    """A single attention head by hand: softmax(q k^T / sqrt(d)) v."""

    def __init__(self, d_model=16):
        super().__init__()
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model)
        self.v = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)
        self.scale = 1.0 / math.sqrt(d_model)

    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        weights = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale, dim=-1)
        return self.out(torch.matmul(weights, v))


# --------------------------------------------------------------------- audio-1d
class KeywordSpotter(nn.Module):
    """A keyword-spotting net on 40 MFCCs x 49 frames, 12 classes."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(40, 64, 3, padding=1), nn.BatchNorm1d(64), nn.ReLU(),
            nn.Conv1d(64, 64, 3, stride=2, padding=1), nn.BatchNorm1d(64), nn.ReLU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(64, 12),
        )

    def forward(self, x):
        return self.net(x)


class DSConv1d(nn.Module):
    """Depthwise-separable 1-D convolutions on a raw-ish audio feature stream."""

    def __init__(self, channels=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(1, channels, 9, stride=4, padding=4), nn.BatchNorm1d(channels), nn.ReLU())

        def block():
            return nn.Sequential(
                nn.Conv1d(channels, channels, 5, padding=2, groups=channels), nn.BatchNorm1d(channels), nn.ReLU(),
                nn.Conv1d(channels, channels, 1), nn.BatchNorm1d(channels), nn.ReLU(),
            )

        self.blocks = nn.Sequential(block(), block())
        self.head = nn.Linear(channels, 6)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean(dim=-1))


# --------------------------------------------------------------------- u-net
def _conv_block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class TinyUNet(nn.Module):
    def __init__(self, cin=3, classes=2):
        super().__init__()
        self.enc1 = _conv_block(cin, 8)
        self.enc2 = _conv_block(8, 16)
        self.bottom = _conv_block(16, 16)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(16, 16, 2, stride=2)
        self.dec2 = _conv_block(32, 8)
        self.up1 = nn.ConvTranspose2d(8, 8, 2, stride=2)
        self.dec1 = _conv_block(16, 8)
        self.out = nn.Conv2d(8, classes, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottom(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.out(d1)


# --------------------------------------------------------------------- mobilenet-v3
class SqueezeExcite(nn.Module):
    def __init__(self, channels, squeezed):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x):
        s = F.relu(self.fc1(self.pool(x)))
        return x * F.hardsigmoid(self.fc2(s))


class InvertedResidual(nn.Module):
    def __init__(self, cin, expand, cout, stride, se=True):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(cin, expand, 1, bias=False), nn.BatchNorm2d(expand), nn.Hardswish())
        self.depthwise = nn.Sequential(nn.Conv2d(expand, expand, 3, stride=stride, padding=1, groups=expand,
                                                 bias=False), nn.BatchNorm2d(expand), nn.Hardswish())
        self.se = SqueezeExcite(expand, max(4, expand // 4)) if se else nn.Identity()
        self.project = nn.Sequential(nn.Conv2d(expand, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.project(self.se(self.depthwise(self.expand(x))))
        return x + y if self.residual else y


class MobileNetV3Tiny(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8),
                                  nn.Hardswish())
        self.blocks = nn.Sequential(InvertedResidual(8, 16, 8, 1), InvertedResidual(8, 24, 12, 2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, 16), nn.Hardswish(),
                                  nn.Linear(16, classes))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


# --------------------------------------------------------------------- cnn
class ResidualCNN(nn.Module):
    """A small ResNet-style image classifier."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = _conv_block(3, 8)
        self.body = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8))
        self.down = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.stem(x)
        x = F.relu(x + self.body(x))
        x = self.down(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# --------------------------------------------------------------------- norm
class GroupNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.norm1 = nn.GroupNorm(2, 8)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = F.relu(self.norm1(self.conv1(x)))
        x = F.relu(self.conv2(x))
        return self.fc(x.mean(dim=(2, 3)))


class LayerNormMLP(nn.Module):
    """A pre-norm MLP block over a sequence of feature vectors."""

    def __init__(self, d=16):
        super().__init__()
        self.norm1 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 32)
        self.fc2 = nn.Linear(32, d)
        self.head = nn.Linear(d, 3)

    def forward(self, x):
        x = x + self.fc2(F.relu(self.fc1(self.norm1(x))))
        return self.head(x)


class InstanceNormNet(nn.Module):
    """A style-transfer-like conv stack with instance normalisation."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.norm1 = nn.InstanceNorm2d(8, affine=True)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.norm2 = nn.InstanceNorm2d(8, affine=True)
        self.out = nn.Conv2d(8, 3, 1)

    def forward(self, x):
        x = F.relu(self.norm1(self.conv1(x)))
        x = F.relu(self.norm2(self.conv2(x)))
        return self.out(x)


# --------------------------------------------------------------------- activations
class ActivationCNN(nn.Module):
    """conv → BN → act → conv → act → pool → linear, with one activation module type."""

    def __init__(self, act: str):
        super().__init__()
        make = {"prelu": lambda: nn.PReLU(8), "leaky_relu": lambda: nn.LeakyReLU(0.1), "gelu": nn.GELU,
                "silu": nn.SiLU}[act]
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.act1 = make()
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.act2 = make()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.conv2(x))
        return self.fc(x.mean(dim=(2, 3)))


class GELUMLP(nn.Module):
    """A transformer-style feed-forward with GELU on token vectors."""

    def __init__(self, d=16):
        super().__init__()
        self.fc1 = nn.Linear(d, 32)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(32, d)

    def forward(self, x):
        return x + self.fc2(self.act(self.fc1(x)))


# --------------------------------------------------------------------- upsampling
class SegmentationHead(nn.Module):
    """A strided backbone, a 1x1 classifier, and upsampling back to the input size."""

    def __init__(self, mode: str, classes=3):
        super().__init__()
        self.mode = mode
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                                      nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.classifier = nn.Conv2d(16, classes, 1)

    def forward(self, x):
        y = self.classifier(self.backbone(x))
        if self.mode == "nearest":
            return F.interpolate(y, scale_factor=4, mode="nearest")
        return F.interpolate(y, scale_factor=4, mode="bilinear", align_corners=False)


class UpsampleModules(nn.Module):
    """nn.Upsample and nn.UpsamplingNearest2d modules in a decoder (FPN-like top-down path)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.up_nearest = nn.UpsamplingNearest2d(scale_factor=2)
        self.up_bilinear = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        f1 = F.relu(self.c1(x))
        f2 = F.relu(self.c2(f1))
        y = f1 + self.up_nearest(f2)
        return self.out(self.up_bilinear(y))


# --------------------------------------------------------------------- multi-io
class TwoInputNet(nn.Module):
    """An image and a vector of side features, fused."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.side = nn.Linear(6, 8)
        self.head = nn.Linear(16, 4)

    def forward(self, image, features):
        a = F.relu(self.conv(image)).mean(dim=(2, 3))
        b = F.relu(self.side(features))
        return self.head(torch.cat([a, b], dim=1))


class TwoOutputNet(nn.Module):
    """A detector-like trunk with a class head and a box head: returns (logits, boxes)."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                                   nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
                                   nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.cls = nn.Linear(16, 5)
        self.box = nn.Linear(16, 4)

    def forward(self, x):
        f = self.trunk(x)
        return self.cls(f), torch.sigmoid(self.box(f))


# --------------------------------------------------------------------- embedding
class TokenClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 32)
        self.fc = nn.Linear(32, 4)

    def forward(self, tokens):
        return self.fc(self.embed(tokens).mean(dim=1))


class MaskedMeanPool(nn.Module):
    """Token ids and a bool padding mask: the mean of the unmasked embeddings."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.fc = nn.Linear(16, 3)

    def forward(self, tokens, mask):
        e = self.embed(tokens)
        m = mask.unsqueeze(-1).to(e.dtype)
        pooled = (e * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
        return self.fc(pooled)


# --------------------------------------------------------------------- pytree
class DictInputNet(nn.Module):
    """forward(batch) with batch = {"image": ..., "extra": ...}."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.extra = nn.Linear(4, 8)
        self.head = nn.Linear(16, 3)

    def forward(self, batch):
        a = F.relu(self.conv(batch["image"])).mean(dim=(2, 3))
        b = F.relu(self.extra(batch["extra"]))
        return self.head(torch.cat([a, b], dim=1))


class ListInputNet(nn.Module):
    """forward(views) with a list of three camera views, fused by channel concatenation."""

    def __init__(self):
        super().__init__()
        self.per_view = nn.Conv2d(3, 4, 3, padding=1)
        self.fuse = nn.Conv2d(12, 8, 1)
        self.fc = nn.Linear(8, 2)

    def forward(self, views):
        feats = [F.relu(self.per_view(v)) for v in views]
        x = F.relu(self.fuse(torch.cat(feats, dim=1)))
        return self.fc(x.mean(dim=(2, 3)))


class TupleInputNet(nn.Module):
    """forward(pair) with a tuple (query, reference): a siamese distance."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 8))

    def forward(self, pair):
        query, reference = pair
        return (self.encoder(query) - self.encoder(reference)).abs().sum(dim=1, keepdim=True)


# --------------------------------------------------------------------- the zoo
def _kws_input():
    torch.manual_seed(0)
    return (torch.randn(1, 40, 49),)


def _image(c=3, size=32, seed=1):
    return lambda: (torch.rand(1, c, size, size, generator=_gen(seed)),)


ZOO: list[ZooModel] = [
    ZooModel("gru_state", "recurrent", _built(GRUStreaming),
             lambda: (_rand(1, 3, 8, seed=1), (torch.zeros(1, 1, 16), torch.zeros(1, 1, 8))),
             "nn.GRU on frames + deltas, state=(h, last_frame)"),
    ZooModel("lstm_state", "recurrent", _built(LSTMState),
             lambda: (_rand(1, 3, 8, seed=2), (torch.zeros(1, 1, 16), torch.zeros(1, 1, 16))),
             "nn.LSTM, state=(h, c)"),
    ZooModel("executorch_lstm", "recurrent", _executorch_lstm, _executorch_lstm_inputs,
             "executorch.examples.models.lstm.LSTMModel (quantizable LSTM 10→20, 2 layers)"),
    ZooModel("transformer_encoder", "attention", _built(TransformerEncoder), lambda: (_rand(1, 8, 16, seed=3),),
             "nn.TransformerEncoderLayer(d_model=16, nhead=2, batch_first)"),
    ZooModel("attention_head", "attention", _built(AttentionHead), lambda: (_rand(1, 8, 16, seed=4),)),
    ZooModel("kws_conv1d", "audio-1d", _built(KeywordSpotter), _kws_input, "keyword spotting, 40 MFCC x 49 frames"),
    ZooModel("ds_conv1d", "audio-1d", _built(DSConv1d), lambda: (_rand(1, 1, 256, seed=5),),
             "depthwise-separable Conv1d"),
    ZooModel("tiny_unet", "u-net", _built(TinyUNet), _image(3, 32, 6), "ConvTranspose2d + torch.cat skips"),
    ZooModel("mobilenet_v3_tiny", "mobilenet-v3", _built(MobileNetV3Tiny), _image(3, 32, 7),
             "inverted residuals, squeeze-excite, hardswish/hardsigmoid"),
    ZooModel("residual_cnn", "cnn", _built(ResidualCNN), _image(3, 16, 8)),
    ZooModel("groupnorm_net", "norm", _built(GroupNormNet), _image(3, 16, 9)),
    ZooModel("layernorm_mlp", "norm", _built(LayerNormMLP), lambda: (_rand(1, 10, 16, seed=10),)),
    ZooModel("instancenorm_net", "norm", _built(InstanceNormNet), _image(3, 16, 11)),
    ZooModel("prelu_cnn", "activations", _built(ActivationCNN, "prelu"), _image(3, 16, 12)),
    ZooModel("leaky_relu_cnn", "activations", _built(ActivationCNN, "leaky_relu"), _image(3, 16, 13)),
    ZooModel("gelu_cnn", "activations", _built(ActivationCNN, "gelu"), _image(3, 16, 14)),
    ZooModel("silu_cnn", "activations", _built(ActivationCNN, "silu"), _image(3, 16, 15)),
    ZooModel("gelu_mlp", "activations", _built(GELUMLP), lambda: (_rand(1, 8, 16, seed=16),)),
    ZooModel("seg_head_nearest", "upsampling", _built(SegmentationHead, "nearest"), _image(3, 32, 17),
             "F.interpolate nearest x4"),
    ZooModel("seg_head_bilinear", "upsampling", _built(SegmentationHead, "bilinear"), _image(3, 32, 18),
             "F.interpolate bilinear x4"),
    ZooModel("upsample_modules", "upsampling", _built(UpsampleModules), _image(3, 32, 19),
             "nn.UpsamplingNearest2d + nn.Upsample(bilinear, align_corners=True)"),
    ZooModel("two_inputs", "multi-io", _built(TwoInputNet),
             lambda: (torch.rand(1, 3, 16, 16, generator=_gen(20)), _rand(1, 6, seed=21))),
    ZooModel("two_outputs", "multi-io", _built(TwoOutputNet), _image(3, 16, 22), "returns (logits, boxes)"),
    ZooModel("token_classifier", "embedding", _built(TokenClassifier),
             lambda: (torch.randint(0, 100, (1, 12), generator=_gen(23)),), "Embedding(100, 32) → mean → Linear"),
    ZooModel("masked_mean_pool", "embedding", _built(MaskedMeanPool),
             lambda: (torch.randint(0, 50, (1, 12), generator=_gen(24)), torch.arange(12).unsqueeze(0) < 8),
             "int64 tokens + bool mask"),
    ZooModel("dict_input", "pytree", _built(DictInputNet),
             lambda: ({"image": torch.rand(1, 3, 16, 16, generator=_gen(25)), "extra": _rand(1, 4, seed=26)},)),
    ZooModel("list_input", "pytree", _built(ListInputNet),
             lambda: ([torch.rand(1, 3, 16, 16, generator=_gen(27 + i)) for i in range(3)],)),
    ZooModel("tuple_input", "pytree", _built(TupleInputNet),
             lambda: ((torch.rand(1, 1, 16, 16, generator=_gen(30)), torch.rand(1, 1, 16, 16, generator=_gen(31))),)),
]

_BY_NAME = {m.name: m for m in ZOO}
assert len(_BY_NAME) == len(ZOO), "zoo names must be unique"


def get(name: str) -> ZooModel:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no zoo model {name!r}; there are: {', '.join(_BY_NAME)}") from None


def names(family: str | None = None) -> list[str]:
    return [m.name for m in ZOO if family is None or m.family == family]
