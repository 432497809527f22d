"""frontend-contract/schema.graphql is what the code serves, and no release breaks clients unannounced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import (
    BreakingChange,
    GraphQLEnumType,
    GraphQLSchema,
    build_client_schema,
    build_schema,
    find_breaking_changes,
    get_introspection_query,
    lexicographic_sort_schema,
    print_schema,
)
from tests.contract.documents import CONTRACT
from tests.contract.live import DemoServer

SCHEMA = CONTRACT / "schema.graphql"
BASELINE = CONTRACT / "baseline" / "schema.graphql"
CHANGELOG = CONTRACT / "CHANGELOG.md"
REGENERATE = "run `storyline schema export` (or `make schema`) and commit the diff"
PLACEHOLDER = "<why clients must change>"


def test_committed_schema_is_what_storyline_schema_export_writes(tmp_path: Path) -> None:
    storyline = Path(sys.executable).parent / "storyline"
    # Without an argument the command writes frontend-contract/schema.graphql under the working directory.
    subprocess.run([storyline, "schema", "export"], cwd=tmp_path, check=True, capture_output=True)
    exported = (tmp_path / "frontend-contract" / "schema.graphql").read_text()
    assert exported == SCHEMA.read_text(), f"frontend-contract/schema.graphql is stale: {REGENERATE}"


def sorted_sdl(schema: GraphQLSchema) -> str:
    return print_schema(lexicographic_sort_schema(schema))


def test_a_live_server_serves_the_committed_schema(demo: DemoServer) -> None:
    query = get_introspection_query(
        specified_by_url=True, directive_is_repeatable=True, input_value_deprecation=True
    )
    body = demo.client().http.post("/graphql", json={"query": query})
    served = build_client_schema(body.json()["data"])
    assert sorted_sdl(served) == sorted_sdl(build_schema(SCHEMA.read_text())), REGENERATE


def breaking_changes() -> list[BreakingChange]:
    return find_breaking_changes(build_schema(BASELINE.read_text()), build_schema(SCHEMA.read_text()))


def announced(change: BreakingChange, changelog: str) -> bool:
    """A bullet of CHANGELOG.md gives the change in graphql-core's words, then `Reason:` and the reason."""
    for line in changelog.splitlines():
        reason = line.removeprefix(f"- {change.description}").strip()
        given = line.startswith("- ") and reason.startswith("Reason:") and PLACEHOLDER not in reason
        if given and len(reason) > len("Reason: ") + 10:
            return True
    return False


def test_breaking_changes_since_the_baseline_are_announced_with_a_reason() -> None:
    changelog = CHANGELOG.read_text()
    unannounced = [change.description for change in breaking_changes() if not announced(change, changelog)]
    assert unannounced == [], (
        "breaking changes against frontend-contract/baseline/schema.graphql that CHANGELOG.md does not list;"
        " add a line per change under the release's 'Breaking changes', like\n"
        + "\n".join(f"- {description} Reason: {PLACEHOLDER}" for description in unannounced)
    )


def removed_without_deprecation(baseline: GraphQLSchema, current: GraphQLSchema) -> list[str]:
    """Fields, arguments and enum values of the baseline that are gone now but were never deprecated."""
    found = []
    for name, old in baseline.type_map.items():
        new = current.type_map.get(name)
        if new is None or name.startswith("__"):
            continue  # a removed type is a breaking change the changelog must explain
        if isinstance(old, GraphQLEnumType) and isinstance(new, GraphQLEnumType):
            gone = {f"{name}.{value}": old.values[value] for value in set(old.values) - set(new.values)}
            found += [where for where, value in gone.items() if value.deprecation_reason is None]
        old_fields = getattr(old, "fields", {})
        new_fields = getattr(new, "fields", {})
        for field_name, field in old_fields.items():
            if field_name not in new_fields:
                if field.deprecation_reason is None:
                    found.append(f"{name}.{field_name}")
                continue
            new_args = getattr(new_fields[field_name], "args", {})
            for arg_name, arg in getattr(field, "args", {}).items():
                if arg_name not in new_args and arg.deprecation_reason is None:
                    found.append(f"{name}.{field_name}({arg_name})")
    return sorted(found)


def test_fields_and_enum_values_are_deprecated_before_they_are_removed() -> None:
    baseline, current = build_schema(BASELINE.read_text()), build_schema(SCHEMA.read_text())
    removed = removed_without_deprecation(baseline, current)
    assert removed == [], f"removed without a release that marked them @deprecated first: {removed}"
