"""Alertmanager for the native run (`make run`, the self-alerting end-to-end test): the machine's
Alertmanager (Debian `prometheus-alertmanager`) on the platform's configuration.

monitoring/alertmanager/alertmanager.yml is a template (`${ALERTMANAGER_...}`); compose fills it with
monitoring/alertmanager/entrypoint.sh, the native run with `write_config`, from the environment, with
local defaults for anything unset (an inbox on 127.0.0.1:1025, local addresses).

    config = write_config(ROOT / ".local" / "alertmanager" / "alertmanager.yml", os.environ)
    argv = alertmanager_command(config, ROOT / ".local" / "alertmanager" / "data", "127.0.0.1:9093")
"""

from collections.abc import Mapping
from pathlib import Path

from platform_local.stack import ROOT
from platform_local.templates import render_template

TEMPLATE = ROOT / "monitoring" / "alertmanager" / "alertmanager.yml"
DEFAULT_LISTEN = "127.0.0.1:9093"
LOCAL_DEFAULTS = {
    "ALERTMANAGER_SMTP_SMARTHOST": "127.0.0.1:1025",
    "ALERTMANAGER_EMAIL_FROM": "alertmanager@localhost",
    "ALERTMANAGER_EMAIL_TO": "platform-operators@localhost",
    "ALERTMANAGER_SMTP_REQUIRE_TLS": "false",
}


def settings(env: Mapping[str, str]) -> dict[str, str]:
    """The template's values: the environment's where set (and not empty), else the local defaults."""
    return {name: env.get(name) or default for name, default in LOCAL_DEFAULTS.items()}


def render(env: Mapping[str, str], template: Path = TEMPLATE) -> str:
    return render_template(template.read_text(), settings(env))


def write_config(output: Path, env: Mapping[str, str]) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(env))
    return output


def alertmanager_command(config: Path, data_dir: Path, listen: str = DEFAULT_LISTEN, binary: str = "prometheus-alertmanager") -> list[str]:
    """The command line of a single (non-clustered) Alertmanager on `config`."""
    return [
        binary,
        f"--config.file={config}",
        f"--storage.path={data_dir}",
        f"--web.listen-address={listen}",
        f"--web.external-url=http://{listen}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
