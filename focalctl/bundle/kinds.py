"""The names of the document kinds a bundle may contain."""

KIND_NAMES: tuple[str, ...] = (
    "Tenant",
    "Agent",
    "Scenario",
    "Step",
    "ChannelProfile",
    "ToolEffect",
    "Offering",
    "Goal",
    "Simulation",
)

#: The kind a document of an unknown kind declares when its kind is close to no known one
#: (``kind: Widget``): its name is then declared for every kind (see
#: :meth:`focalctl.bundle.view.View.declared`). Never a real kind: not a valid kind name.
UNKNOWN_KIND = "(unknown kind)"
