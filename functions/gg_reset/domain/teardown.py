"""What a deletion leaves behind, and how far a teardown goes: the vocabulary of the full teardown.

A Greengrass V1 group references its definitions (core, device, function, subscription, logger, resource,
connector) through its group versions; `DeleteGroup` removes the group and its versions, nothing else. A
deletion with `teardown=definitions` then deletes each definition the group's versions referenced (with
its versions), unless a remaining group still references it; `teardown=things` also removes the core's
AWS IoT certificate and thing, unless something else still uses them.

Pure: which resources a group owns, and whether one is still used, are answered by the shell
(`gg_reset.ports.TeardownPort`); the workflow records every answer as a step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Teardown(StrEnum):
    """How much a deletion removes. Ordered: each level includes the one before."""

    GROUP = "group"
    """`DeleteGroup` only (the group and its versions): what gg-reset did before teardowns existed."""
    DEFINITIONS = "definitions"
    """Also every definition the group's versions reference (with its versions), unless another group
    still references it."""
    THINGS = "things"
    """Also the core's AWS IoT certificate (detached from its policies and the thing, set INACTIVE,
    deleted) and thing, unless another group's core, another thing or a Greengrass V2 core device uses
    them."""

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_most(self, ceiling: Teardown) -> bool:
        return self.rank <= ceiling.rank


_RANK = {Teardown.GROUP: 0, Teardown.DEFINITIONS: 1, Teardown.THINGS: 2}


class ResourceKind(StrEnum):
    """A resource a teardown deletes, spelled as its API names it (`Delete<kind>`)."""

    CORE_DEFINITION = "CoreDefinition"
    DEVICE_DEFINITION = "DeviceDefinition"
    FUNCTION_DEFINITION = "FunctionDefinition"
    SUBSCRIPTION_DEFINITION = "SubscriptionDefinition"
    LOGGER_DEFINITION = "LoggerDefinition"
    RESOURCE_DEFINITION = "ResourceDefinition"
    CONNECTOR_DEFINITION = "ConnectorDefinition"
    CERTIFICATE = "Certificate"
    """The core's AWS IoT certificate."""
    THING = "Thing"
    """The core's AWS IoT thing."""

    @property
    def is_definition(self) -> bool:
        return self not in (ResourceKind.CERTIFICATE, ResourceKind.THING)


DEFINITION_KINDS = tuple(kind for kind in ResourceKind if kind.is_definition)
TEARDOWN_ORDER = tuple(ResourceKind)
"""Definitions first, then the certificate (detached from the thing), then the thing (which AWS IoT only
deletes once no principal is attached)."""


class ResourceOutcome(StrEnum):
    DELETED = "deleted"
    ALREADY_GONE = "already-gone"
    """Not found when its turn came: deleted by someone else, or by this workflow's own earlier call whose
    answer was lost (a crash, a retry). Nothing of the group is left either way."""
    KEPT = "kept"
    """Still used (another group references it; a Greengrass V2 core device; another thing): left alone,
    and the step says by whom."""
    FAILED = "failed"
    """Its deletion kept failing within the retry budgets; the workflow ends FAILED and notifies."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource a torn-down group owned, and what became of it."""

    kind: ResourceKind
    arn: str
    resource_id: str
    """The definition's id, the certificate's id, or the thing's name: what the delete call takes."""
    core_thing: str = ""
    """For the certificate: the name of the core thing it is attached to as the group's core (detached
    before the certificate is deleted; attachments to any other thing keep it)."""
    core_certificate: str = ""
    """For the thing: the core certificate this teardown detached from it. AWS IoT detaches asynchronously
    ("several seconds to propagate"), so it may still be listed as the thing's principal for a while."""
    used_by: tuple[str, ...] = ()
    """When collected: who else used it (other groups' ids, `greengrassv2 core device ...`). Shown by a
    dry run; a real run asks again right before the delete."""
    outcome: ResourceOutcome | None = None
    detail: str = ""

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def ended(self, outcome: ResourceOutcome, detail: str) -> Resource:
        return replace(self, outcome=outcome, detail=detail)

    def describe(self) -> str:
        return f"{self.kind} {self.resource_id}"


def next_resource(resources: tuple[Resource, ...]) -> Resource | None:
    """The resource whose turn it is: the first without an outcome, in `TEARDOWN_ORDER`."""
    return next((r for r in resources if not r.done), None)


def in_teardown_order(resources: tuple[Resource, ...]) -> tuple[Resource, ...]:
    unique = {r.arn: r for r in resources}.values()
    return tuple(sorted(unique, key=lambda r: (TEARDOWN_ORDER.index(r.kind), r.arn)))


def summary(resources: tuple[Resource, ...]) -> str:
    """`2 deleted, 1 kept; kept: FunctionDefinition f-1: used by group g-2`, for the workflow's reason."""
    counts: dict[ResourceOutcome, int] = {}
    for resource in resources:
        if resource.outcome is not None:
            counts[resource.outcome] = counts.get(resource.outcome, 0) + 1
    if not counts:
        return "nothing else to delete"
    parts = [f"{counts[o]} {o}" for o in ResourceOutcome if o in counts]
    kept = [f"{r.describe()}: {r.detail}" for r in resources if r.outcome is ResourceOutcome.KEPT]
    failed = [f"{r.describe()}: {r.detail}" for r in resources if r.outcome is ResourceOutcome.FAILED]
    text = ", ".join(parts)
    if failed:
        text += f"; not deleted: {'; '.join(failed)}"
    if kept:
        text += f"; kept: {'; '.join(kept)}"
    return text
