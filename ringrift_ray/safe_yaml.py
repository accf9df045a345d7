"""YAML for configs: PyYAML's safe loader (plain data only: no Python objects are built),
refusing duplicate keys, with nesting and alias expansion bounded so that hostile text (a
"billion laughs" alias bomb, thousands of nested brackets) gives a `ValueError` instead of
a hang or a ``RecursionError``.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_VALUES = 100_000  # values with aliases expanded; a full config holds about a hundred
MAX_FLOW_DEPTH = 100  # nested [ / { (the loader's scanner slows down quadratically in them)


class InvalidYAML(ValueError):
    """Text that is not valid YAML (or repeats a key in one mapping)."""


class _StrictSafeLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses a key repeated in one mapping (merge keys ``<<`` may
    still be overridden)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found duplicate key {key_node.value!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, where: str) -> Any:
    """The plain data (dicts, lists, scalars) of one YAML document.

    Args:
        text: the YAML text.
        where: what the text is (a file name, ``--set KEY``), for the messages.

    Raises:
        InvalidYAML: not valid YAML, or a key repeated in one mapping.
        ValueError: nested too deeply, or more than `MAX_VALUES` values once aliases are
            expanded.
    """
    depth = peak = 0
    for ch in text:  # brackets inside quotes count too: only a bound, never a parse
        if ch in "[{":
            depth += 1
            peak = max(peak, depth)
        elif ch in "]}":
            depth -= 1
    if peak > MAX_FLOW_DEPTH:
        raise ValueError(f"{where}: YAML nested too deeply (over {MAX_FLOW_DEPTH} brackets)")
    try:
        data = yaml.load(text, Loader=_StrictSafeLoader)  # a SafeLoader: plain data only
    except yaml.YAMLError as e:
        raise InvalidYAML(f"{where}: not valid YAML: {e}") from None
    except RecursionError:
        raise ValueError(f"{where}: YAML nested too deeply") from None
    stack, count = [data], 0
    while stack:  # iterative: shared (aliased) values count once per reference
        node = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ValueError(f"{where}: YAML too large (over {MAX_VALUES} values with aliases "
                             "expanded)")
        if isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return data
