"""Router configuration from Python dicts or a TOML (or YAML) file, checked before anything runs: unknown
providers, fallbacks to unknown models or in a cycle, a key variable that is not set, and a file that does
not parse (its line named) are ConfigurationErrors that say what to fix."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from .._errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

STRATEGIES = ("round-robin", "least-busy", "weighted", "latency")
#: every key of a router config, with its type, default and meaning (docs/settings.md is generated from these)
TOP_HELP: dict[str, tuple[str, str, str]] = {
    "strategy": ("str", "round-robin", "how a deployment of a model is picked: " + ", ".join(STRATEGIES)),
    "deployments": ("list of tables", "", "the deployments (keys below); at least one"),
    "fallbacks": ("table: model -> [models]", "", "models tried in order when every deployment of a model fails"),
    "context_window_fallbacks": ("table: model -> [models]", "", "models tried when a prompt is too long for one"),
    "content_policy_fallbacks": ("table: model -> [models]", "", "models tried when one refuses on content policy"),
    "failure_threshold": ("int", "3", "failures in a row that open a deployment's circuit breaker"),
    "cooldown": ("float", "30", "seconds a breaker stays open before one probe request"),
    "health_check_interval": ("float", "0", "seconds between health checks of each deployment; 0: none"),
    "timeout": ("float", "", "seconds per attempt on a remote deployment (default: the client's)"),
}
DEPLOYMENT_HELP: dict[str, tuple[str, str, str]] = {
    "model": ("str", "", "the public name callers use (required)"),
    "provider": ("str", "", "a provider name (openai_compat, hf, local, a preset such as groq) (required)"),
    "base_url": ("url", "", "the server of an openai_compat deployment"),
    "target": ("str", "model", "the model's name at the deployment"),
    "api_key_env": ("str", "", "the environment variable holding the deployment's key (never the key itself)"),
    "weight": ("float", "1", "its share of traffic under the weighted strategy"),
    "name": ("str", "model@provider", "the deployment's name in stats and logs"),
    "options": ("table", "", "options passed to the provider as it is created"),
    "input_price": ("float", "0", "price per million prompt tokens, for the cost in stats"),
    "output_price": ("float", "0", "price per million completion tokens"),
}
DEPLOYMENT_KEYS = set(DEPLOYMENT_HELP)
TOP_KEYS = set(TOP_HELP)


@dataclass
class DeploymentConfig:
    name: str
    model: str  # the public name callers use
    provider: str
    target: str  # the model name at the deployment
    base_url: str | None = None
    api_key_env: str | None = None
    weight: float = 1.0
    options: dict[str, Any] = field(default_factory=dict[str, Any])
    input_price: float = 0.0  # per million prompt tokens
    output_price: float = 0.0  # per million completion tokens
    instance: Any = None  # a provider object given in Python instead of a provider name


@dataclass
class RouterConfig:
    deployments: list[DeploymentConfig]
    strategy: str = "round-robin"
    fallbacks: dict[str, list[str]] = field(default_factory=dict[str, list[str]])
    context_window_fallbacks: dict[str, list[str]] = field(default_factory=dict[str, list[str]])
    content_policy_fallbacks: dict[str, list[str]] = field(default_factory=dict[str, list[str]])
    failure_threshold: int = 3
    cooldown: float = 30.0
    health_check_interval: float = 0.0  # seconds; 0: no health checks
    timeout: float | None = None


def load_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the router config {str(p)!r}: {exc}") from None
    if p.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ConfigurationError(f"{p}: reading a YAML router config needs PyYAML (pip install pyyaml, or "
                                     "llmaas[server], which has it); or write the config as TOML") from None

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"{p}: not valid YAML: {exc}") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:  # its message names the line and column
            raise ConfigurationError(f"{p}: not valid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{p}: the router config must be a table of settings")
    return cast("dict[str, Any]", data)


def parse(data: dict[str, Any], known_provider: Any) -> RouterConfig:
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise ConfigurationError(f"unknown router setting(s) {sorted(unknown)}; known: {sorted(TOP_KEYS)}")
    strategy = data.get("strategy", "round-robin")
    if strategy not in STRATEGIES:
        raise ConfigurationError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    raw = data.get("deployments")
    if not isinstance(raw, list) or not raw:
        raise ConfigurationError("a router needs at least one [[deployments]] entry")
    deployments: list[DeploymentConfig] = []
    names: set[str] = set()
    for i, entry in enumerate(cast("list[Any]", raw)):
        deployments.append(_deployment(i, entry, known_provider, names))
    models = {d.model for d in deployments}
    config = RouterConfig(deployments, strategy=strategy,
                          failure_threshold=int(data.get("failure_threshold", 3)),
                          cooldown=float(data.get("cooldown", 30.0)),
                          health_check_interval=float(data.get("health_check_interval", 0.0)),
                          timeout=float(data["timeout"]) if data.get("timeout") is not None else None)
    for key in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
        table = _fallbacks(key, data.get(key, {}), models)
        setattr(config, key, table)
    _no_cycles({**_merge(config.fallbacks, config.context_window_fallbacks, config.content_policy_fallbacks)})
    return config


def _deployment(i: int, entry: Any, known_provider: Any, names: set[str]) -> DeploymentConfig:
    where = f"deployments[{i}]"
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where} must be a table")
    e = cast("dict[str, Any]", entry)
    extra = set(e) - DEPLOYMENT_KEYS
    if extra:
        raise ConfigurationError(f"{where}: unknown key(s) {sorted(extra)}; known: {sorted(DEPLOYMENT_KEYS)}")
    if not isinstance(e.get("model"), str) or not e["model"]:
        raise ConfigurationError(f"{where} needs model (the public name callers use)")
    provider = e.get("provider")
    instance = None
    if provider is not None and not isinstance(provider, str):  # a provider object (from Python)
        instance, provider = provider, str(getattr(provider, "name", "custom"))
    elif not isinstance(provider, str) or not provider:
        raise ConfigurationError(f"{where} needs provider (a provider name)")
    elif provider != "openai_compat" and not known_provider(provider):
        raise ConfigurationError(f"{where}: unknown provider {provider!r} (use 'openai_compat' with a base_url "
                                 "for any OpenAI-style server, or a registered provider name)")
    if instance is None and provider == "openai_compat" and not e.get("base_url"):
        raise ConfigurationError(f"{where}: provider 'openai_compat' needs a base_url")
    if "api_key" in e:
        raise ConfigurationError(f"{where}: put the key in an environment variable and name it in api_key_env")
    env = e.get("api_key_env")
    if env is not None and not os.environ.get(env):
        raise ConfigurationError(f"{where} ({e['model']!r}): its key variable {env} is not set")
    name = str(e.get("name") or f"{e['model']}-{i}")
    if name in names:
        raise ConfigurationError(f"{where}: two deployments are named {name!r}")
    names.add(name)
    weight = float(e.get("weight", 1.0))
    if weight <= 0:
        raise ConfigurationError(f"{where}: weight must be positive, got {weight}")
    return DeploymentConfig(name=name, model=e["model"], provider=provider, target=str(e.get("target") or e["model"]),
                            base_url=e.get("base_url"), api_key_env=env, weight=weight,
                            options=dict(e.get("options") or {}), input_price=float(e.get("input_price", 0.0)),
                            output_price=float(e.get("output_price", 0.0)), instance=instance)


def _fallbacks(key: str, table: Any, models: set[str]) -> dict[str, list[str]]:
    if not isinstance(table, dict):
        raise ConfigurationError(f"[{key}] must be a table of model = [fallback models]")
    out: dict[str, list[str]] = {}
    for model, targets in cast("dict[str, Any]", table).items():
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(targets, list):
            raise ConfigurationError(f"[{key}] {model}: expected a list of model names")
        for name in [model, *cast("list[Any]", targets)]:
            if name not in models:
                raise ConfigurationError(f"[{key}] names {name!r}, which no deployment serves "
                                         f"(models: {', '.join(sorted(models))})")
        out[model] = [str(t) for t in cast("list[Any]", targets)]
    return out


def _merge(*tables: dict[str, list[str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for table in tables:
        for k, v in table.items():
            merged.setdefault(k, []).extend(v)
    return merged


def _no_cycles(graph: dict[str, list[str]]) -> None:
    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycle = " -> ".join([*path[path.index(node):], node])
            raise ConfigurationError(f"the fallbacks form a cycle: {cycle}")
        for nxt in graph.get(node, []):
            visit(nxt, [*path, node])

    for start in graph:
        visit(start, [])
