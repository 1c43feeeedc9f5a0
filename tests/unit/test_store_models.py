"""The table's models are split per aggregate; the facade still registers every item type."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

from inbox_crm.store import models
from inbox_crm.store.models import ALL_MODELS, InboxItem


def _model_classes() -> set[type[InboxItem]]:
    for module in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"{models.__name__}.{module.name}")
    found: set[type[InboxItem]] = set()
    pending = list(InboxItem.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith(models.__name__):
            found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_model_of_every_aggregate_module_is_listed_and_exported() -> None:
    classes = _model_classes()
    assert classes == set(ALL_MODELS)
    assert all(getattr(models, cls.__name__) is cls for cls in classes)


def test_importing_one_aggregate_module_registers_every_item_type() -> None:
    # A query may return any item type of a partition: the discriminator must know them all even
    # when a function imported only the module it needed.
    code = (
        "from inbox_crm.store.models.flows import Flow\n"
        "from inbox_crm.store.models.base import InboxItem\n"
        "print(' '.join(sorted(InboxItem.item_type._discriminator_map)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(out.stdout.split()) == {cls.__name__ for cls in ALL_MODELS}
