"""Both tools' command trees as click commands, for the CLI reference (mkdocs-click imports this module).

Built from the typer apps themselves (``typer.main.get_command``), so a new command or option appears
in the reference without editing a page. Typer (0.2x) runs on its own copy of click, whose parameter
classes mkdocs-click does not recognise, so each command is re-expressed with click's own classes:
names, help, option spellings, defaults, flags, repeats and value types are carried over as typer
declares them.
"""

from __future__ import annotations

import enum
import types
import typing
from pathlib import Path
from typing import Any

import click
import typer
import typer.main

from avatargen.cli import app as _avatargen_app
from spillguard.cli import app as _spillguard_app


def _value_type(param: Any) -> click.ParamType:
    """click's type for a typer parameter's annotation (Path, int, float, bool, an Enum, text)."""
    annotation = param.type_descriptor.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else str
    if typing.get_origin(annotation) in (list, tuple):
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return click.Choice([str(m.value) for m in annotation])
    if annotation is int:
        if param.min is not None or param.max is not None:
            return click.IntRange(param.min, param.max)
        return click.INT
    if annotation is float:
        if param.min is not None or param.max is not None:
            return click.FloatRange(param.min, param.max)
        return click.FLOAT
    if annotation is bool:
        return click.BOOL
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return click.Path(path_type=Path)
    return click.STRING


def _param(param: Any) -> click.Parameter:
    default = None if param.default is ... else param.default
    if hasattr(param, "is_flag"):  # an option
        decls = [*param.opts]
        if param.secondary_opts:
            decls = [f"{'/'.join(param.opts)}/{'/'.join(param.secondary_opts)}"]
        kwargs: dict[str, Any] = {
            "help": param.help,
            "default": default,
            "required": param.required,
            "multiple": param.multiple,
            "hidden": param.hidden,
            "show_default": param.show_default,
            "metavar": param.metavar,
            "count": param.count,
            "envvar": param.envvar,
        }
        if param.is_flag and not param.count:
            kwargs["is_flag"] = True
        elif not param.count:
            kwargs["type"] = _value_type(param)
        return click.Option([*decls, param.name], **kwargs)
    nargs = param.nargs
    return click.Argument(
        [param.name], required=param.required, nargs=nargs, type=_value_type(param), metavar=param.metavar
    )


def to_click(command: Any, name: str | None = None) -> click.Command:
    """``command`` (typer's click copy) and its sub-commands as click commands."""
    params = [_param(p) for p in command.params]
    arguments = [
        f"- `{(p.metavar or p.name).upper()}{'...' if p.nargs == -1 else ''}`: {p.help or ''}"
        + ("" if p.required else " (optional)")
        for p in command.params
        if not hasattr(p, "is_flag")
    ]
    help_text = (command.help or "").strip()
    if arguments:
        help_text += "\n\n**Arguments:**\n\n" + "\n".join(arguments)
    kwargs: dict[str, Any] = {
        "name": name or command.name,
        "params": params,
        "help": help_text,
        "add_help_option": False,  # every command has --help (the page says so)
        "short_help": getattr(command, "short_help", None),
        "hidden": getattr(command, "hidden", False),
        "epilog": getattr(command, "epilog", None),
    }
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        group = click.Group(**kwargs)
        for sub_name, sub in subcommands.items():
            group.add_command(to_click(sub, sub_name), sub_name)
        return group
    return click.Command(**kwargs)


avatargen = to_click(typer.main.get_command(_avatargen_app), "avatargen")
spillguard = to_click(typer.main.get_command(_spillguard_app), "spillguard")
