"""The command group every ``pop`` group is made of."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


class Group(click.Group):
    """A group whose help lists its commands in the order they were added (commands, then groups),
    and whose lazy commands are imported only when named (or listed, by the help): each module of
    commands costs every ``pop`` run its imports and its click objects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.order: list[str] = []
        self.lazy: dict[str, Callable[[], click.Command]] = {}
        super().__init__(*args, **kwargs)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(cmd, name)
        name = name or cmd.name or ""
        if name not in self.order:
            self.order.append(name)

    def add_lazy(self, name: str, load: Callable[[], click.Command]) -> None:
        self.lazy[name] = load
        self.order.append(name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.lazy.pop(cmd_name)(), cmd_name)
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.order, key=lambda name: isinstance(self.get_command(ctx, name), click.Group))
