"""core.nn: layers and models with PyTorch's names and semantics (Module, Parameter, Linear, ...).

>>> import core.nn as nn
>>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> net(core.randn(3, 4)).shape
(3, 2)
"""
from core.nn import functional, init, utils
from core.nn.activation import GELU, ReLU, Sigmoid, SiLU, Softmax, Tanh
from core.nn.attention import MultiheadAttention
from core.nn.container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from core.nn.conv import Conv1d, Conv2d
from core.nn.dropout import Dropout
from core.nn.linear import Flatten, Identity, Linear
from core.nn.loss import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss,
)
from core.nn.module import Module, StateDictMismatch
from core.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from core.nn.parameter import Parameter
from core.nn.pooling import AvgPool2d, MaxPool2d
from core.nn.sparse import Embedding

__all__ = ["AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d",
           "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "GELU", "GroupNorm", "HuberLoss", "Identity",
           "KLDivLoss", "L1Loss", "LayerNorm", "Linear", "MSELoss", "MaxPool2d", "Module", "ModuleDict", "ModuleList",
           "MultiheadAttention", "NLLLoss", "Parameter", "ParameterDict", "ParameterList", "ReLU", "Sequential",
           "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax", "StateDictMismatch", "Tanh", "functional", "init", "utils"]
