"""Validate bodies against the schemas of the reference OpenAI OpenAPI spec."""

from functools import lru_cache
from pathlib import Path

# the subset of the upstream spec (MIT, with its license) lives in the repository: every clone runs these checks
SPEC = Path(__file__).resolve().parents[1] / "reference" / "openai-openapi" / "openapi.subset.yaml"


@lru_cache(maxsize=1)
def _registry():
    import yaml
    from referencing import Registry, Resource

    spec = yaml.safe_load(SPEC.read_text())
    return Registry().with_resource("spec", Resource.from_contents(spec, default_specification=_draft())), spec


def _draft():
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


def validate(body, schema_name):
    from jsonschema import Draft202012Validator

    registry, _ = _registry()
    validator = Draft202012Validator({"$ref": f"spec#/components/schemas/{schema_name}"}, registry=registry)
    errors = sorted((e for e in validator.iter_errors(body) if not _nullable_in_practice(e)),
                    key=lambda e: list(e.path))
    assert not errors, f"{schema_name}: " + "; ".join(f"{list(e.path)}: {e.message[:200]}" for e in errors[:5])


# Fields the spec marks required and non-null that OpenAI's API sends as null (the reference's README says
# to send them as null): a stream chunk's finish_reason before the last, a message's refusal.
NULLABLE_IN_PRACTICE = {"finish_reason", "refusal"}


def _nullable_in_practice(error):
    return error.instance is None and error.path and error.path[-1] in NULLABLE_IN_PRACTICE
