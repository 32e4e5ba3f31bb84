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
