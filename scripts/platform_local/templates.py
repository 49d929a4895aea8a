"""`${NAME}` templates filled like envsubst does, for configuration files that are templates in the
repository (the web UI's nginx server block, the Alertmanager configuration)."""

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def placeholders(template: str) -> set[str]:
    """The `${NAME}` variables a template uses (`$name` without braces is left alone)."""
    return set(_PLACEHOLDER.findall(template))


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Replace every `${NAME}` like envsubst does; a placeholder without a value is an error here
    (envsubst would leave it and the program reading the file would fail later, less helpfully)."""
    missing = sorted(name for name in placeholders(template) if not values.get(name))
    if missing:
        raise ValueError(f"no value for {', '.join(missing)} in the template")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
