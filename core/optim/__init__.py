"""core.optim: optimizers (SGD, Adam, AdamW, RMSprop) and learning-rate schedules (core.optim.lr_scheduler).

>>> opt = core.optim.AdamW(model.parameters(), lr=1e-3)
>>> for x, y in batches:
...     opt.zero_grad()
...     F.cross_entropy(model(x), y).backward()
...     opt.step()
"""
from core.optim import lr_scheduler
from core.optim.adam import Adam, AdamW
from core.optim.optimizer import Optimizer
from core.optim.rmsprop import RMSprop
from core.optim.sgd import SGD

__all__ = ["Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
