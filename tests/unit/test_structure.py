"""The size and handler rules `make lint` checks (tests/support/structure.py), on a small tree."""

from __future__ import annotations

from pathlib import Path

from support.structure import MAX_LINES, handler_offences, main, size_offences


def _module(root: Path, name: str, lines: int) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x = 1\n" * lines)


def test_a_module_over_the_limit_is_named(tmp_path: Path) -> None:
    _module(tmp_path, "layers/shared/pkg/big.py", MAX_LINES + 1)
    _module(tmp_path, "local/fits.py", MAX_LINES)

    offences = size_offences(tmp_path, set())

    assert len(offences) == 1
    assert offences[0].startswith("layers/shared/pkg/big.py: 501 lines")


def test_the_allow_list_only_shrinks(tmp_path: Path) -> None:
    _module(tmp_path, "functions/f/big.py", MAX_LINES + 1)
    _module(tmp_path, "local/split.py", 10)
    allowed = {"functions/f/big.py", "local/split.py", "local/gone.py"}

    offences = size_offences(tmp_path, allowed)

    assert sorted(offence.split(":")[0] for offence in offences) == ["local/gone.py", "local/split.py"]


def test_a_handler_may_not_reach_the_store_or_private_names(tmp_path: Path) -> None:
    handler = tmp_path / "functions/f/f_handler.py"
    handler.parent.mkdir(parents=True)
    handler.write_text(
        "import json\n"
        "from inbox_crm.core.observability import logger\n"
        "from inbox_crm.store.models import Contact\n"
        "from inbox_crm.contacts.records import _apply_fields\n"
    )

    offences = handler_offences(tmp_path)

    assert [offence.split(": ")[0] for offence in offences] == [
        "functions/f/f_handler.py:3",
        "functions/f/f_handler.py:4",
    ]


def test_the_repository_keeps_the_rules() -> None:
    assert main() == 0
