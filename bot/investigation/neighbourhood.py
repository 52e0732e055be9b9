"""Which services an investigation looks at: the alerting service's neighbourhood in the catalog."""

from __future__ import annotations

from bot.catalog.model import ServiceCatalog

SMALL_CATALOG = 12  # at or below this many services, look at everything


def dependents_closure(catalog: ServiceCatalog, name: str) -> set[str]:
    seen: set[str] = set()
    stack = catalog.dependents(name)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(catalog.dependents(n))
    return seen


def scoped(catalog: ServiceCatalog, service: str, scope: str) -> list[str]:
    names = set(catalog.names())
    if scope == "all" or (scope == "neighbourhood" and len(names) <= SMALL_CATALOG):
        return sorted(names | {service})
    deps = catalog.transitive_dependencies(service)
    dependents = dependents_closure(catalog, service)
    siblings = {s for d in catalog.dependencies(service) for s in catalog.dependents(d)} - {service}
    out: set[str] = {service}
    if scope in ("dependencies", "neighbourhood"):
        out |= deps
    if scope in ("dependents", "neighbourhood"):
        out |= dependents
    if scope in ("siblings", "neighbourhood"):
        out |= siblings
    if scope == "neighbourhood":  # what the dependents and siblings call
        for s in dependents | siblings:
            out |= catalog.transitive_dependencies(s)
    return sorted(out)
