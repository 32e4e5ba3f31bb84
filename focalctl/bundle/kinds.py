"""The names of the document kinds a bundle may contain (from ``runtime.spec.KINDS``)."""

from runtime.spec import KINDS

KIND_NAMES: tuple[str, ...] = tuple(k.name for k in KINDS)

#: The kind a document of an unknown kind declares when its kind is close to no known one
#: (``kind: Widget``): its name is then declared for every kind (see
#: :meth:`focalctl.bundle.view.View.declared`). Never a real kind: not a valid kind name.
UNKNOWN_KIND = "(unknown kind)"
