"""core.nn: layers and models with PyTorch's names and semantics (Module, Parameter, Linear, ...).

>>> import core.nn as nn
>>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> net(core.randn(3, 4)).shape
(3, 2)
"""
from core.nn import functional, init
from core.nn.activation import GELU, ReLU, Sigmoid, SiLU, Tanh
from core.nn.container import ModuleDict, ModuleList, Sequential
from core.nn.linear import Flatten, Identity, Linear
from core.nn.module import Module
from core.nn.parameter import Parameter

__all__ = ["GELU", "Flatten", "Identity", "Linear", "Module", "ModuleDict", "ModuleList", "Parameter", "ReLU",
           "Sequential", "SiLU", "Sigmoid", "Tanh", "functional", "init"]
